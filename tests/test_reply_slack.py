"""From the case card: the Reply button opens a modal, a signed view_submission runs the guards and
posts through each platform's real client (loopback fakes; recorded responses for X and Reddit)."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import vcr
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from sqlalchemy import select

from gripewatch.alerts.bolt_app import build_app
from gripewatch.models import Case, CaseEvent, Reply
from tests.fakes.answer import PostingBluesky, PostingMastodon
from tests.fakes.slack import FakeSlack
from tests.test_collectors_recorded import JsonSerializer, PlaceholderPersister
from tests.test_reply_post import REDDIT_REPLY, X_REPLY, Clock, ingest, record, settings_for
from tests.test_slack_e2e import click_payload, drain, signed

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
AGENT, MANAGER = "UAGENT1", "UMGR1"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("GW_TEST_MASTODON", "GW_TEST_X", "GW_TEST_REDDIT"):
        monkeypatch.setenv(k, "test-secret-value")
    monkeypatch.setenv("GW_TEST_BSKY", "app-pass-1234")


def slack(fake: FakeSlack) -> dict[str, Any]:
    fake.add_channel("#care")
    fake.add_channel("#esc")
    return {
        "mode": "api",
        "token": "xoxb-test",
        "signing_secret": SECRET,
        "base_url": fake.base_url,
        "channels": {"alerts": "#care", "escalations": "#esc"},
    }


def submission(case_id: int, user: str, text: str, where: str | None = "public", anyway: bool = False) -> str:
    values: dict[str, Any] = {"reply_text": {"text": {"type": "plain_text_input", "value": text}}}
    if where:
        values["reply_where"] = {"where": {"type": "radio_buttons", "selected_option": {"value": where}}}
    values["reply_confirm"] = {
        "confirm": {"type": "checkboxes", "selected_options": [{"value": "send_anyway"}] if anyway else []}
    }
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "4.5.6",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "gw_reply_modal",
            "private_metadata": json.dumps({"case_id": case_id, "channel": "C00000001"}),
            "state": {"values": values},
            "hash": "1.abc",
        },
    }
    return "payload=" + urllib.parse.quote(json.dumps(payload))


def send(app, body: str):  # type: ignore[no-untyped-def]
    return app.dispatch(BoltRequest(body=body, headers=signed(body, int(time.time()))))


def click(app, case: Case, action: str, user: str, n: int = 1):  # type: ignore[no-untyped-def]
    return send(app, "payload=" + urllib.parse.quote(json.dumps(click_payload(case, action, user, n))))


def measured_p90(db, case: Case, clock: Clock, hours: float) -> None:  # type: ignore[no-untyped-def]
    """One answered case of the same priority whose first response took ``hours``."""
    with db.sessions() as s, s.begin():
        opened = clock() - timedelta(days=1)
        s.add(
            Case(
                priority=case.priority,
                status="resolved",
                opened_at=opened,
                first_response_at=opened + timedelta(hours=hours),
            )
        )


def setup_case(tmp_path, db, db_url, fake_slack, platform: str, reply: dict, ext: str = "1001", **kw):  # type: ignore[no-untyped-def]
    clock = Clock()
    settings = settings_for(
        tmp_path, db_url, platform, [record(ext, **kw)], reply, slack=slack(fake_slack), cases={"p90_min_samples": 1}
    )
    case = ingest(db, settings, clock)
    drain(db, settings, clock)
    app = build_app(settings, db, client=WebClient(token="xoxb-test", base_url=fake_slack.base_url), now=clock)
    with db.sessions() as s:
        case = s.get(Case, case.id)
    measured_p90(db, case, clock, 5)
    return settings, app, case, clock


@pytest.fixture
def mastodon() -> Iterator[PostingMastodon]:
    fake = PostingMastodon().start()
    yield fake  # type: ignore[misc]
    fake.stop()


def test_reply_button_opens_the_modal_and_the_guards_answer_in_it(tmp_path, db, db_url, fake_slack, mastodon):
    reply = {"enabled": True, "mastodon": {"api_base_url": mastodon.base_url, "access_token": "${GW_TEST_MASTODON}"}}
    settings, app, case, clock = setup_case(tmp_path, db, db_url, fake_slack, "mastodon", reply)
    card = fake_slack.posted("#care")[0]
    buttons = [e["text"]["text"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "Reply" in buttons

    assert click(app, case, "reply", AGENT).status == 200
    (opened,) = fake_slack.views
    assert opened["trigger_id"] == "1.2.3"
    view = opened["view"]
    field = next(b for b in view["blocks"] if b.get("block_id") == "reply_text")
    assert (
        field["element"]["initial_value"].startswith("Hi @dana")
        and "within 5 hours" in field["element"]["initial_value"]
    )
    where = next(b for b in view["blocks"] if b.get("block_id") == "reply_where")
    assert [o["value"] for o in where["element"]["options"]] == ["public", "private"]

    # a promise sooner than the measured p90: shown in the modal with the figure, nothing posted
    resp = send(app, submission(case.id, AGENT, "Hi @dana, we'll sort it within the hour."))
    body = json.loads(resp.body)
    assert resp.status == 200 and body["response_action"] == "errors"
    assert "5 hours" in body["errors"]["reply_text"] and "reply_confirm" in body["errors"]
    # a customer detail in public: refused, the private path offered
    resp = send(app, submission(case.id, AGENT, "Hi, your order 48213 to 12 Elm St is delayed.", anyway=True))
    errors = json.loads(resp.body)["errors"]
    assert "order number" in errors["reply_text"] and "Private message" in errors["reply_where"]
    assert mastodon.created == []

    # the writer decides: send anyway, recorded on the case
    resp = send(app, submission(case.id, AGENT, "Hi @dana, we'll sort it within the hour.", anyway=True))
    assert resp.status == 200 and not resp.body
    assert len(mastodon.created) == 1
    with db.sessions() as s:
        written = s.scalars(select(CaseEvent).where(CaseEvent.kind == "reply_written")).one()
        assert written.actor == AGENT and written.detail["sent_anyway"] is True
        assert s.get(Case, case.id).first_response_at == clock()
    last = fake_slack.calls("chat.update")[-1]
    assert last["ts"] == case.slack_ts and "posted the reply" in json.dumps(last["blocks"])
    assert "replied publicly on mastodon by <@UAGENT1> (<https://fake.social/@acme/" in json.dumps(last["blocks"])


def test_nothing_is_posted_while_replying_is_off(tmp_path, db, db_url, fake_slack, mastodon):
    reply = {"enabled": False, "mastodon": {"api_base_url": mastodon.base_url, "access_token": "${GW_TEST_MASTODON}"}}
    settings, app, case, clock = setup_case(tmp_path, db, db_url, fake_slack, "mastodon", reply)
    card = fake_slack.posted("#care")[0]
    assert "Reply" not in json.dumps([b for b in card["blocks"] if b["type"] == "actions"])
    click(app, case, "reply", AGENT)
    assert fake_slack.views == [] and "reply.enabled is false" in fake_slack.ephemeral[-1]["text"]
    resp = send(app, submission(case.id, AGENT, "Hi, sorry about that.", anyway=True))
    assert "reply.enabled is false" in json.loads(resp.body)["errors"]["reply_text"]
    assert mastodon.created == [] and not [r for r in mastodon.requests if r[0] == "POST"]


def test_a_sensitive_case_needs_a_managers_approve(tmp_path, db, db_url, fake_slack, mastodon):
    reply = {"enabled": True, "mastodon": {"api_base_url": mastodon.base_url, "access_token": "${GW_TEST_MASTODON}"}}
    legal = "@AcmeHelp my order never arrived and I'm contacting my lawyer about this, absolutely unacceptable"
    settings, app, case, clock = setup_case(tmp_path, db, db_url, fake_slack, "mastodon", reply, text=legal)
    assert send(app, submission(case.id, AGENT, "Hi, I'm sorry. I'm looking into it now.")).status == 200
    assert mastodon.created == []
    last = fake_slack.calls("chat.update")[-1]
    assert "Approve reply" in json.dumps(last["blocks"])
    assert any("Approve" in json.dumps(m) for m in fake_slack.posted()[1:]), fake_slack.posted()
    click(app, case, "approve", AGENT, 2)  # an agent cannot approve
    assert mastodon.created == [] and "only a manager" in fake_slack.ephemeral[-1]["text"]
    click(app, case, "approve", MANAGER, 3)
    assert len(mastodon.created) == 1
    with db.sessions() as s:
        assert s.scalars(select(Reply)).one().approved_by == MANAGER


@contextlib.contextmanager
def recorded(shared: Path, cassette: str, praw_json: bool) -> Iterator[None]:
    player = vcr.VCR(
        record_mode="none",
        decode_compressed_response=True,
        ignore_localhost=True,  # the fake Slack stays live
        match_on=["method", "scheme", "host", "port", "path", "query"]
        if praw_json
        else ["method", "scheme", "host", "path"],
    )
    if praw_json:
        player.register_persister(PlaceholderPersister)
        player.register_serializer("prawjson", JsonSerializer)
        with player.use_cassette(str(shared / "fixtures/praw" / cassette), serializer="prawjson") as tape:
            yield tape
    else:
        with player.use_cassette(str(shared / "fixtures/tweepy" / cassette)) as tape:
            yield tape


@pytest.mark.parametrize("platform", ["mastodon", "bluesky", "x", "reddit"])
def test_a_signed_submission_posts_exactly_one_reply_through_each_client(
    tmp_path, db, db_url, fake_slack, mastodon, platform, request, monkeypatch
):
    kw: dict[str, Any] = {}
    ext = "1001"
    posts: Callable[[], int]
    ctx: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if platform == "mastodon":
        reply = {
            "enabled": True,
            "mastodon": {"api_base_url": mastodon.base_url, "access_token": "${GW_TEST_MASTODON}"},
        }
        posts = lambda: len(mastodon.created)  # noqa: E731
    elif platform == "bluesky":
        fake = PostingBluesky().start()
        request.addfinalizer(fake.stop)
        reply = {
            "enabled": True,
            "bluesky": {
                "handle": "acme.bsky.social",
                "app_password": "${GW_TEST_BSKY}",
                "base_url": fake.base_url + "/xrpc",
            },
        }
        ext = "at://did:plc:dana/app.bsky.feed.post/3kabc"
        posts = lambda: len(fake.created)  # noqa: E731
    else:
        shared = request.getfixturevalue("shared")
        monkeypatch.setattr(time, "sleep", lambda s: None)
        reply = X_REPLY if platform == "x" else REDDIT_REPLY
        ext = "1455953449422516226" if platform == "x" else "t1_d1616q2"
        cassette = "test_client_create_and_delete_tweet.yaml" if platform == "x" else "TestComment.test_reply.json"
        ctx = recorded(shared, cassette, platform == "reddit")
        seen: list[Any] = []
        posts = lambda: len(seen)  # noqa: E731
    settings, app, case, clock = setup_case(tmp_path, db, db_url, fake_slack, platform, reply, ext=ext, **kw)
    where = "public" if platform != "bluesky" else None
    with ctx as tape:
        resp = send(app, submission(case.id, AGENT, "Hi, sorry about this, we're checking it now.", where))
        if tape is not None:
            for i, n in tape.play_counts.items():  # the recorded posting endpoint was played once
                if tape.requests[i].path.rstrip("/").endswith(("/2/tweets", "/api/comment")):
                    seen += [tape.requests[i]] * n
    assert resp.status == 200 and not resp.body
    assert posts() == 1
    with db.sessions() as s:
        r = s.scalars(select(Reply)).one()
        assert r.status == "posted" and r.external_id and r.platform == platform
        assert s.get(Case, case.id).first_response_at == clock()
        ev = s.scalars(select(CaseEvent).where(CaseEvent.kind == "reply_posted")).one()
        assert ev.detail["external_id"] == r.external_id and ev.actor == AGENT
    assert "posted the reply" in json.dumps(fake_slack.calls("chat.update")[-1]["blocks"])
