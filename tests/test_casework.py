"""Reassign to a named colleague and internal notes, from Slack (signed requests through Bolt's
App.dispatch), the CLI and the dashboard -- each asserting what the next person sees; canned replies."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy import select
from starlette.testclient import TestClient

from gripewatch.alerts.bolt_app import build_app
from gripewatch.cli import cli
from gripewatch.dashboards.auth import hash_password
from gripewatch.dashboards.web import create_app
from gripewatch.db import Database
from gripewatch.models import Case, CaseEvent
from tests.dashboard_helpers import PASSWORD
from tests.dashboard_helpers import SECRET as DASH_SECRET
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import (
    AGENT,
    AGENT2,
    COMPLAINT,
    MANAGER,
    Clock,
    click_payload,
    drain,
    ingest,
    rec,
    signed,
    slack_settings,
)


def posted_case(tmp_path: Path, db: Database, db_url: str, fake: FakeSlack, **extra: Any) -> tuple[Any, Clock, Case]:
    clock = Clock()
    settings = slack_settings(tmp_path, db_url, fake, [rec(1, COMPLAINT)])
    from gripewatch.config import CasesConfig, DashboardConfig

    kinds = {"dashboard": DashboardConfig, "cases": CasesConfig}
    settings = settings.model_copy(update={k: kinds[k].model_validate(v) for k, v in extra.items()})
    ingest(db, settings, clock)
    drain(db, settings, clock)
    with db.sessions() as s:
        case = s.scalars(select(Case)).one()
    assert case.slack_ts and case.assignee == AGENT  # the least-loaded agent got it
    return settings, clock, case


def select_payload(case: Case, user: str, chosen: str) -> str:
    p = click_payload(case, "reassign", user)
    p["actions"] = [{"type": "users_select", "action_id": "gw_reassign", "block_id": f"reassign_{case.id}",
                     "selected_user": chosen, "action_ts": "1700000099.0001"}]  # fmt: skip
    return "payload=" + urllib.parse.quote(json.dumps(p))


def thread_message(case: Case, user: str, text: str, **extra: Any) -> str:
    return json.dumps({
        "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": f"Ev{abs(hash(text)) % 10**8}", "event_time": int(time.time()),
        "event": {"type": "message", "channel": case.slack_channel, "user": user, "text": text,
                  "ts": f"{time.time():.6f}", "thread_ts": case.slack_ts, "channel_type": "group", **extra},
    })  # fmt: skip


def json_signed(body: str) -> dict[str, list[str]]:
    headers = signed(body, int(time.time()))
    headers["content-type"] = ["application/json"]
    return headers


def show(tmp_path: Path, settings: Any, case_id: int) -> str:
    cfg = tmp_path / "show.yaml"
    cfg.write_text(json.dumps({"database": {"url": settings.database.url}}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["cases", "show", str(case_id), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    return res.output


def test_reassign_and_notes_from_slack(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    settings, clock, case = posted_case(tmp_path, db, db_url, fake_slack)
    app = build_app(settings, db, client=WebClient(token="xoxb-test", base_url=fake_slack.base_url), now=clock)
    card = fake_slack.posted("#care")[0]
    picker = next(b["accessory"] for b in card["blocks"] if b.get("block_id") == f"reassign_{case.id}")
    assert picker["action_id"] == "gw_reassign" and picker["initial_user"] == AGENT

    body = select_payload(case, MANAGER, AGENT2)
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, int(time.time())))).status == 200
    with db.sessions() as s:
        assert s.get(Case, case.id).assignee == AGENT2  # type: ignore[union-attr]
    # what the next person sees in Slack: the card names the new owner, the thread says who handed it over
    upd = fake_slack.calls("chat.update")[-1]
    assert upd["ts"] == case.slack_ts and f"Owner: <@{AGENT2}>" in json.dumps(upd["blocks"])
    thread = [m for m in fake_slack.posted("#care") if m.get("thread_ts") == case.slack_ts]
    assert f"<@{MANAGER}> handed case #{case.id} to <@{AGENT2}> (was <@{AGENT}>)." in json.dumps(thread[-1]["blocks"])

    # someone not on the roster cannot be given a case: told privately, nothing changes
    body = select_payload(case, MANAGER, "UOUTSIDER")
    assert app.dispatch(BoltRequest(body=body, headers=signed(body, int(time.time())))).status == 200
    assert "not on the staff roster" in fake_slack.ephemeral[-1]["text"] and fake_slack.ephemeral[-1]["user"] == MANAGER

    # a staff member's message in the case's thread is a note; a bot's is not
    body = thread_message(case, AGENT2, "Called her, refund is on its way")
    assert app.dispatch(BoltRequest(body=body, headers=json_signed(body))).status == 200
    body = thread_message(case, "UBOT", "bot chatter", bot_id="B1")
    assert app.dispatch(BoltRequest(body=body, headers=json_signed(body))).status == 200
    with db.sessions() as s:
        notes = s.scalars(select(CaseEvent).where(CaseEvent.kind == "note")).all()
        assert [(n.actor, n.detail) for n in notes] == [(AGENT2, {"text": "Called her, refund is on its way"})]
    out = show(tmp_path, settings, case.id)
    assert f"{AGENT2}: note: Called her, refund is on its way" in out
    assert f"{MANAGER}: assigned" in out


def test_reassign_and_notes_from_the_cli(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    settings, clock, case = posted_case(tmp_path, db, db_url, fake_slack)
    cfg = tmp_path / "cli.yaml"
    staff = [{"slack_id": AGENT, "name": "Ann", "capacity": 5}, {"slack_id": AGENT2, "name": "Bo", "capacity": 1},
             {"slack_id": MANAGER, "name": "Mia", "role": "manager"}]  # fmt: skip
    cfg.write_text(json.dumps({"database": {"url": settings.database.url}, "staff": staff}), encoding="utf-8")
    run = CliRunner().invoke
    res = run(cli, ["cases", "reassign", str(case.id), "--to", AGENT2, "--as", MANAGER, "--config", str(cfg)])
    assert res.exit_code == 0 and f"case #{case.id} is now Bo's" in res.output, res.output
    res = run(cli, ["cases", "reassign", str(case.id), "--to", AGENT2, "--as", MANAGER, "--config", str(cfg)])
    assert res.exit_code == 1 and "already Bo's" in res.output
    res = run(
        cli, ["cases", "note", str(case.id), "Waiting for the courier's answer", "--as", AGENT2, "--config", str(cfg)]
    )
    assert res.exit_code == 0 and "note added" in res.output
    res = run(cli, ["cases", "note", str(case.id), "<!channel> *urgent*", "--as", AGENT2, "--config", str(cfg)])
    assert res.exit_code == 0
    res = run(cli, ["cases", "note", str(2**70), "hello", "--as", AGENT2, "--config", str(cfg)])
    assert res.exit_code == 1 and f"no case #{2**70}" in res.output
    res = run(cli, ["cases", "note", str(case.id), "   ", "--as", AGENT2, "--config", str(cfg)])
    assert res.exit_code == 1 and "empty note" in res.output
    out = show(tmp_path, settings, case.id)
    assert f"{AGENT2}: note: Waiting for the courier's answer" in out and f"assignee: {AGENT2}" in out
    drain(db, settings, clock)  # the Slack side: the thread shows the note, the card the new owner
    thread = json.dumps([m for m in fake_slack.posted("#care") if m.get("thread_ts") == case.slack_ts])
    assert f"<@{AGENT2}>: Waiting for the courier's answer" in thread
    assert "&lt;!channel&gt;" in thread and "<!channel>" not in thread  # a note pings nobody
    assert f"Owner: <@{AGENT2}>" in json.dumps(fake_slack.calls("chat.update")[-1]["blocks"])


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_reassign_and_notes_from_the_dashboard(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    users = [{"username": "mia", "name": "Mia", "password_hash": hash_password(PASSWORD), "role": "manager",
              "slack_id": MANAGER}]  # fmt: skip
    settings, clock, case = posted_case(
        tmp_path, db, db_url, fake_slack, dashboard={"secret_key": DASH_SECRET, "users": users}
    )
    with TestClient(create_app(settings, db, now=clock), base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        c.post("/login", data={"username": "mia", "password": PASSWORD, "csrf": _csrf(page.text), "next": "/cases"})
        detail = c.get(f"/cases/{case.id}")
        assert (
            f'action="/cases/{case.id}/reassign"' in detail.text
            and '<option value="UAGENT2">Bo</option>' in detail.text
        )
        r = c.post(f"/cases/{case.id}/reassign", data={"csrf": _csrf(detail.text), "to": AGENT2})
        assert r.status_code == 200 and "is now Bo&#39;s" in r.text
        r = c.post(f"/cases/{case.id}/note", data={"csrf": _csrf(r.text), "text": "<b>VIP</b>: call back before 5pm"})
        assert r.status_code == 200
        # the next person opening the case sees the new owner and the note (escaped, not HTML)
        page = c.get(f"/cases/{case.id}").text
        assert '<dd id="assignee">Bo</dd>' in page and "topics: Delivery" in page
        assert "&lt;b&gt;VIP&lt;/b&gt;: call back before 5pm" in page and "<b>VIP</b>" not in page
        r = c.post(f"/cases/{case.id}/reassign", data={"csrf": _csrf(page), "to": "UNOBODY"})
        assert "not on the staff roster" in urllib.parse.unquote(r.url.query)


def test_canned_reply_for_the_topic_is_the_suggested_reply(
    tmp_path: Path, db: Database, db_url: str, fake_slack
) -> None:  # type: ignore[no-untyped-def]
    from gripewatch.config import settings_from_dict
    from gripewatch.errors import ConfigError

    canned = {"delivery": "Hi {handle}, your parcel is on us. DM your order number; we answer {promise}."}
    settings, _clock, case = posted_case(tmp_path, db, db_url, fake_slack, cases={"canned_replies": canned})
    card = json.dumps(fake_slack.posted("#care")[0]["blocks"])
    assert "Hi @dana, your parcel is on us. DM your order number; we answer as soon as we can." in card
    assert "Topics: Delivery" in card  # topics in words
    try:
        settings_from_dict({"cases": {"canned_replies": {"delivery": "Hi {name}"}}}, tmp_path / "c.yaml")
    except ConfigError as e:
        assert "cases.canned_replies: Value error, delivery: unknown placeholder {name}" in str(e)
    else:
        raise AssertionError("an unknown placeholder must be a config error")
