"""End to end against a fake Slack on 127.0.0.1 with the real slack_sdk WebClient and the real Bolt App."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import select

from gripewatch.alerts.bolt_app import build_app
from gripewatch.alerts.outbox import dispatch
from gripewatch.alerts.slack import SlackNotifier
from gripewatch.db import Database
from gripewatch.models import Case, CaseEvent, Feedback, Outbox
from gripewatch.pipeline import run_source
from gripewatch.runtime.jobs import deliver
from tests.conftest import BRAND, make_settings, word
from tests.fakes.slack import FakeSlack

T0 = datetime.now(UTC).replace(microsecond=0)  # outbox rows are stamped with the real time
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AGENT, AGENT2, MANAGER = "UAGENT1", "UAGENT2", "UMGR1"
COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later. Where is my refund?"


class Clock:
    def __init__(self, t: datetime | None = None) -> None:
        self.t = t or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> datetime:
        self.t += timedelta(**kw)
        return self.t


def rec(i: int, text: str, author: str = "dana", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"t{i}",
        "text": text,
        "author": author,
        "created_at": f"2026-11-10T09:{i % 60:02d}:00Z",
        "url": f"https://x.com/{author}/status/{i}",
        "followers": 1200,
        **extra,
    }


def slack_settings(tmp_path: Path, db_url: str, fake: FakeSlack, records: list[dict[str, Any]], **slack: Any):
    fake.add_channel("#care")
    fake.add_channel("#esc")
    return make_settings(
        tmp_path,
        db_url,
        records,
        slack={
            "mode": "api",
            "token": "xoxb-test",
            "signing_secret": SECRET,
            "base_url": fake.base_url,
            "channels": {"alerts": "#care", "escalations": "#esc"},
            **slack,
        },
        staff=[
            {"slack_id": AGENT, "name": "Ann", "capacity": 5},
            {"slack_id": AGENT2, "name": "Bo", "capacity": 5},
            {"slack_id": MANAGER, "name": "Mia", "role": "manager"},
        ],
    )


def ingest(db: Database, settings, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    run = run_source(db, settings, settings.sources[0], now=clock)
    assert run.error is None


def drain(db: Database, settings, clock: Clock, step: float = 60, rounds: int = 60) -> None:  # type: ignore[no-untyped-def]
    notifier = SlackNotifier.from_config(settings)
    for _ in range(rounds):
        deliver(db, settings, notifier, "test", now=clock)
        with db.sessions() as s:
            if not s.scalars(select(Outbox.id).where(Outbox.sent_at.is_(None), Outbox.dead.is_(False))).first():
                return
        clock.advance(seconds=step)
    raise AssertionError("outbox never drained")


def keys(fake: FakeSlack) -> Counter[str]:
    return Counter(m["metadata"]["event_payload"]["key"] for m in fake.posted() if m.get("metadata"))


def test_alert_has_buttons_and_a_follow_up_goes_into_the_thread(tmp_path: Path, db: Database, db_url: str, fake_slack):
    clock = Clock()
    settings = slack_settings(tmp_path, db_url, fake_slack, [rec(1, COMPLAINT)])
    ingest(db, settings, clock)
    drain(db, settings, clock)
    (card,) = fake_slack.posted("#care")
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Acknowledge", "Assign to me", "Replied", "Resolve", "Escalate", "Not a complaint",
    ]  # fmt: skip
    text = json.dumps(card["blocks"])
    assert "Suggested reply" in text and "priority" in text and f"<@{AGENT}>" in text and "SLA" in text
    assert "view post" in text and "followers" in text

    # the customer writes again: a thread reply to the owner, not a new top-level alert
    settings = slack_settings(
        tmp_path, db_url, fake_slack, [rec(1, COMPLAINT), rec(2, "@AcmeHelp hello?? still nothing")]
    )
    ingest(db, settings, clock)
    drain(db, settings, clock)
    top = [m for m in fake_slack.posted("#care") if not m.get("thread_ts")]
    replies = [m for m in fake_slack.posted("#care") if m.get("thread_ts") == card["ts"]]
    assert len(top) == 1 and len(replies) == 1
    assert f"<@{AGENT}>" in json.dumps(replies[0]["blocks"]) and "wrote again" in replies[0]["text"]
    updates = fake_slack.calls("chat.update")
    assert updates and updates[-1]["ts"] == card["ts"] and "2 mentions" in json.dumps(updates[-1]["blocks"])


def signed(body: str, ts: int, secret: str = SECRET) -> dict[str, list[str]]:
    sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
    return {
        "content-type": ["application/x-www-form-urlencoded"],
        "x-slack-request-timestamp": [str(ts)],
        "x-slack-signature": [sig],
    }


def click(case: Case, action: str, user: str, n: int = 1) -> str:
    return "payload=" + urllib.parse.quote(json.dumps(click_payload(case, action, user, n)))


def click_payload(case: Case, action: str, user: str, n: int = 1) -> dict[str, Any]:
    """A block_actions payload as Slack sends it when ``user`` clicks ``action`` on the case's card."""
    return {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "channel": {"id": case.slack_channel, "name": "care"},
        "container": {"type": "message", "message_ts": case.slack_ts, "channel_id": case.slack_channel},
        "message": {"ts": case.slack_ts, "text": "card"},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "type": "button",
                "action_id": f"gw_{action}",
                "block_id": f"case_{case.id}",
                "value": str(case.id),
                "action_ts": f"{1700000000 + n}.0001",
            }
        ],
    }


def test_button_clicks_change_the_case_and_update_the_message(tmp_path: Path, db: Database, db_url: str, fake_slack):
    clock = Clock()
    settings = slack_settings(tmp_path, db_url, fake_slack, [rec(1, COMPLAINT)])
    ingest(db, settings, clock)
    drain(db, settings, clock)
    client = WebClient(token="xoxb-test", base_url=fake_slack.base_url)
    app = build_app(settings, db, client=client, now=clock)
    with db.sessions() as s:
        case = s.scalars(select(Case)).one()
    now = int(time.time())

    body = click(case, "acknowledge", AGENT2)
    resp = app.dispatch(BoltRequest(body=body, headers=signed(body, now)))
    assert resp.status == 200
    with db.sessions() as s:
        c = s.get(Case, case.id)
        assert c.status == "acknowledged" and c.acknowledged_at == clock()
        ev = s.scalars(select(CaseEvent).where(CaseEvent.kind == "acknowledged")).one()
        assert ev.actor == AGENT2
    upd = fake_slack.calls("chat.update")[-1]
    assert upd["ts"] == case.slack_ts and upd["channel"] == case.slack_channel
    assert "acknowledged" in json.dumps(upd["blocks"]) and AGENT2 in json.dumps(upd["blocks"])
    assert fake_slack.posted("#care")[0]["blocks"] == upd["blocks"]  # updated in place

    # acknowledging twice is refused privately, and nothing changes
    body = click(case, "acknowledge", AGENT, 2)
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, now))).status == 200
    assert fake_slack.ephemeral[-1]["user"] == AGENT and "already acknowledged" in fake_slack.ephemeral[-1]["text"]

    body = click(case, "not_complaint", AGENT, 3)
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, now))).status == 200
    with db.sessions() as s:
        assert s.get(Case, case.id).status == "closed"
        fb = s.scalars(select(Feedback)).all()
        assert [(f.label, f.actor) for f in fb] == [(0, AGENT)]
    last = fake_slack.calls("chat.update")[-1]
    assert "closed" in json.dumps(last["blocks"]) and not any(b["type"] == "actions" for b in last["blocks"])


def test_bad_or_stale_signatures_get_401(tmp_path: Path, db: Database, db_url: str, fake_slack):
    clock = Clock()
    settings = slack_settings(tmp_path, db_url, fake_slack, [rec(1, COMPLAINT)])
    ingest(db, settings, clock)
    drain(db, settings, clock)
    app = build_app(settings, db, client=WebClient(token="xoxb-test", base_url=fake_slack.base_url), now=clock)
    with db.sessions() as s:
        case = s.scalars(select(Case)).one()
    body = click(case, "resolve", AGENT)
    now = int(time.time())
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, now, "wrong-secret"))).status == 401
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, now - 6 * 60))).status == 401
    with db.sessions() as s:
        assert s.get(Case, case.id).status == "new"


def test_500_then_429_then_ok_gives_exactly_one_message_per_alert(
    tmp_path: Path, db: Database, db_url: str, fake_slack
):
    clock = Clock()
    records = [rec(i, COMPLAINT.replace("two", f"two ({word(i)})"), author=f"cust{i}") for i in range(3)]
    settings = slack_settings(tmp_path, db_url, fake_slack, records)
    ingest(db, settings, clock)
    notifier = SlackNotifier(WebClient(token="xoxb-test", base_url=fake_slack.base_url))
    fake_slack.fail_next(500)
    fake_slack.fail_next(429, retry_after=30)
    clock.advance(seconds=1)
    r1 = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert (r1.sent, r1.failed) == (1, 2) and "server error 500" in r1.errors[0] and "rate limit" in r1.errors[1]
    clock.advance(seconds=10)  # the 500 backed off 5 s; the 429 asked for 30 s
    r2 = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert (r2.sent, r2.waiting) == (1, 1)
    clock.advance(seconds=25)
    assert dispatch(db.sessions, notifier, settings.outbox, now=clock).sent == 1
    counts = keys(fake_slack)
    assert len([k for k in counts if k.startswith("opened:")]) == 3
    assert set(counts.values()) == {1}


def test_slack_down_ten_minutes_delivers_everything_once_in_order(
    tmp_path: Path, db: Database, db_url: str, fake_slack
):
    clock = Clock()
    records = []
    for i in range(12):
        author = f"cust{i % 4}"
        text = COMPLAINT if i < 4 else f"@AcmeHelp update {i}? still waiting, this is ridiculous"
        records.append(rec(i, text, author=author))
    settings = slack_settings(tmp_path, db_url, fake_slack, records)
    notifier = SlackNotifier.from_config(settings)
    fake_slack.add_channel("#care")  # channel check passes before the outage
    fake_slack.down = True
    ingest(db, settings, clock)
    end = clock() + timedelta(minutes=10)
    while clock() < end:
        deliver(db, settings, notifier, "test", now=clock)
        clock.advance(seconds=30)
    assert fake_slack.posted() == []
    fake_slack.down = False
    drain(db, settings, clock)
    counts = keys(fake_slack)
    with db.sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert all(r.sent_at is not None and not r.dead for r in rows)
        posted_rows = [r for r in rows if r.kind in ("new_case", "case_update")]
        alerts = {k for k in counts if k.startswith(("opened:", "update:"))}  # (SLA notes may follow)
        assert {r.key for r in posted_rows} == alerts and set(counts.values()) == {1}
        order = [m["metadata"]["event_payload"]["key"] for m in fake_slack.posted()]
        for case_id in {r.case_id for r in posted_rows}:
            expected = [r.key for r in posted_rows if r.case_id == case_id]
            assert [k for k in order if k in expected] == expected
            assert len(expected) == 3


@contextlib.contextmanager
def slack_serve(tmp_path: Path, db_url: str, fake: FakeSlack, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``gripewatch slack serve ARGS`` as operators run it: a real process, secrets from the environment.
    On exit it is interrupted (Ctrl-C) and its output checked for secrets."""
    cfg = tmp_path / "serve.yaml"
    slack = {
        "mode": "api",
        "token": "${TEST_SLACK_TOKEN}",
        "signing_secret": "${TEST_SLACK_SECRET}",
        "app_token": "${TEST_SLACK_APP_TOKEN}",
        "base_url": fake.base_url,
        "channels": {"alerts": "#care", "escalations": "#esc"},
    }
    staff = [{"slack_id": AGENT, "name": "Ann"}, {"slack_id": AGENT2, "name": "Bo"}]
    cfg.write_text(yaml.safe_dump({"database": {"url": db_url}, "brands": [BRAND], "slack": slack, "staff": staff}))
    secrets = {"TEST_SLACK_TOKEN": "xoxb-test", "TEST_SLACK_SECRET": SECRET, "TEST_SLACK_APP_TOKEN": "xapp-1-test"}
    cmd = [sys.executable, "-m", "gripewatch", "slack", "serve", *args, "--config", str(cfg)]
    proc = subprocess.Popen(
        cmd, env={**os.environ, **secrets}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    for secret in secrets.values():
        assert secret not in out, "a secret in the output of slack serve"


def wait_for(ready: Callable[[], bool], proc: subprocess.Popen[str], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"slack serve exited before {what}: {proc.stdout.read() if proc.stdout else ''}")
        assert time.monotonic() < deadline, f"slack serve: no {what} within {seconds} s"
        time.sleep(0.2)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def posted_case(tmp_path: Path, db: Database, db_url: str, fake: FakeSlack) -> Case:
    """One complaint ingested and its card posted to the fake Slack: the case staff will click on."""
    clock = Clock()
    settings = slack_settings(tmp_path, db_url, fake, [rec(1, COMPLAINT)])
    ingest(db, settings, clock)
    drain(db, settings, clock)
    with db.sessions() as s:
        return s.scalars(select(Case)).one()


def test_slack_serve_http_end_to_end(tmp_path: Path, db: Database, db_url: str, fake_slack):
    """``slack serve --http``: Bolt's own HTTP server on 127.0.0.1; a signed click over HTTP changes the case
    and updates its card; a forged one gets 401 and changes nothing."""
    case = posted_case(tmp_path, db, db_url, fake_slack)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with slack_serve(tmp_path, db_url, fake_slack, "--http", "--port", str(port)) as proc:
        wait_for(lambda: _listening(port), proc, "HTTP listener")
        url = f"http://127.0.0.1:{port}/slack/events"
        body = click(case, "acknowledge", AGENT2)
        forged = httpx.post(
            url, content=body, headers={k: v[0] for k, v in signed(body, int(time.time()), "x").items()}
        )
        assert forged.status_code == 401
        with db.sessions() as s:
            assert s.get(Case, case.id).status == "new"
        ok = httpx.post(url, content=body, headers={k: v[0] for k, v in signed(body, int(time.time())).items()})
        assert ok.status_code == 200
    with db.sessions() as s:
        assert s.get(Case, case.id).status == "acknowledged"
        assert s.scalars(select(CaseEvent).where(CaseEvent.kind == "acknowledged")).one().actor == AGENT2
    upd = fake_slack.calls("chat.update")[-1]
    assert upd["ts"] == case.slack_ts and "acknowledged" in json.dumps(upd["blocks"])


def test_slack_serve_socket_mode_end_to_end(tmp_path: Path, db: Database, db_url: str, fake_slack):
    """``slack serve`` (Socket Mode, no public URL): the app opens the connection with its app-level token,
    acks the click envelope, and the case and its card change as with a click over HTTP."""
    from tests.fakes.socket_mode import FakeSocketMode

    case = posted_case(tmp_path, db, db_url, fake_slack)
    ws = FakeSocketMode().start()
    fake_slack.socket_url = ws.url
    try:
        with slack_serve(tmp_path, db_url, fake_slack) as proc:
            wait_for(ws.connected.is_set, proc, "Socket Mode connection")
            envelope = {"envelope_id": "env-1", "type": "interactive", "accepts_response_payload": False}
            ws.send({**envelope, "payload": click_payload(case, "resolve", AGENT), "retry_attempt": 0})
            wait_for(lambda: any(a.get("envelope_id") == "env-1" for a in ws.acks), proc, "ack of the click")
            wait_for(lambda: bool(fake_slack.calls("chat.update")), proc, "card update")
    finally:
        ws.stop()
    assert [m for m, a in fake_slack.requests if m == "apps.connections.open"]
    with db.sessions() as s:
        c = s.get(Case, case.id)
        assert c.status == "resolved" and c.resolved_at is not None
        assert s.scalars(select(CaseEvent).where(CaseEvent.kind == "resolved")).one().actor == AGENT
    assert "resolved" in json.dumps(fake_slack.calls("chat.update")[-1]["blocks"])
