"""One problem, one incident: fifty customers posting the same outage text are fifty cases in one incident
with one Slack card (updated in place), worked all at once from Slack, the CLI and the dashboard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.alerts import incidents, sla
from gripewatch.alerts.bolt_app import handle_incident_click
from gripewatch.cli import cli
from gripewatch.dashboards.queue import QueueFilter, first_response_targets, query_queue
from gripewatch.db import Database
from gripewatch.models import Author, Case, CaseEvent, Incident
from gripewatch.pipeline import run_source
from tests.conftest import BRAND, make_settings, write_config
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Clock, drain

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
OUTAGE = "@AcmeHelp acme cloud is down for me too, none of my files will sync since this morning"


def post(i: int, author: str | None = None, text: str = OUTAGE) -> dict[str, Any]:
    author = author or f"user{i}"
    return {
        "id": f"o{i}",
        "text": text,
        "author": author,
        "created_at": (T0 + timedelta(seconds=10 * i)).isoformat(),
        "url": f"https://x.com/{author}/status/{i}",
    }


def config(tmp_path: Path, db_url: str, fake: FakeSlack, records: list[dict[str, Any]]) -> dict[str, Any]:
    if "#care" not in fake.channels:
        fake.add_channel("#care")
        fake.add_channel("#esc")
    data = {
        "database": {"url": db_url},
        "brands": [BRAND],
        "sources": [
            {
                "name": "replay",
                "type": "replay",
                "path": str(tmp_path / "mentions.jsonl"),
                "platform": "x",
                "page_size": 25,
            }
        ],  # fmt: skip
        "slack": {
            "mode": "api",
            "token": "xoxb-test",
            "base_url": fake.base_url,
            "channels": {"alerts": "#care", "escalations": "#esc"},
        },
        "staff": [
            {"slack_id": "UANN", "name": "Ann", "capacity": 100},
            {"slack_id": "UBO", "name": "Bo", "capacity": 100},
            {"slack_id": "UMIA", "name": "Mia", "role": "manager"},
        ],
        "incidents": {"min_cases": 5, "window_minutes": 60},
        "outbox": {"per_channel_per_second": 0},
        "digest": {"dashboard_url": "https://gw.example"},
    }
    make_settings(tmp_path, db_url, records)  # writes the records
    write_config(tmp_path, data)
    return data


def settings_of(tmp_path: Path, db_url: str, fake: FakeSlack, records: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    from gripewatch.config import settings_from_dict

    return settings_from_dict(config(tmp_path, db_url, fake, records), tmp_path / "config.yaml")


def top_level(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.posted("#care") if not m.get("thread_ts")]


def test_fifty_customers_with_one_outage_are_fifty_cases_in_one_incident_with_one_card(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    posts = [post(i) for i in range(50)]
    settings = settings_of(tmp_path, db_url, fake_slack, posts)
    clock = Clock(T0 + timedelta(minutes=10))
    run = run_source(db, settings, settings.sources[0], now=clock)  # two pages of 25
    assert run.cases_opened == 50
    drain(db, settings, clock)

    with db.sessions() as s:
        cases = s.scalars(select(Case).order_by(Case.id)).all()
        (inc,) = s.scalars(select(Incident)).all()
        assert len(cases) == 50 and {c.incident_id for c in cases} == {inc.id}
        assert len({c.author_id for c in cases}) == 50  # every customer is someone's case
        assert all(c.assignee and c.sla["first_response"]["due_at"] for c in cases)  # owner and SLA each
    posted = top_level(fake_slack)
    assert len(posted) == 1, [m["text"] for m in posted]  # one incident card, not fifty cards
    card = json.dumps(posted[0]["blocks"])
    assert "50 customers with one problem" in card and "none of my files will sync" in card
    assert f"<https://gw.example/cases?status=all&amp;incident={inc.id}|Open the 50 cases in the queue>" in card
    assert "Acknowledge all" in card and "Resolve all" in card

    # it grows: five more customers -> the same card, updated in place
    more = [post(i) for i in range(50, 55)]
    settings = settings_of(tmp_path, db_url, fake_slack, [*posts, *more])
    clock.advance(minutes=1)
    run_source(db, settings, settings.sources[0], now=clock)
    drain(db, settings, clock)
    assert len(top_level(fake_slack)) == 1
    updates = [u for u in fake_slack.calls("chat.update") if u["ts"] == posted[0]["ts"]]
    assert updates and "55 customers with one problem" in json.dumps(updates[-1]["blocks"])

    # a VIP joins the incident but gets their own card too
    with db.sessions() as s, s.begin():
        s.add(Author(platform="x", key="bigspender", handle="bigspender", tier="vip"))
    vip = post(60, author="bigspender")
    settings = settings_of(tmp_path, db_url, fake_slack, [*posts, *more, vip])
    clock.advance(minutes=1)
    run_source(db, settings, settings.sources[0], now=clock)
    drain(db, settings, clock)
    cards = [m for m in top_level(fake_slack) if "Case #" in json.dumps(m["blocks"])]
    assert len(cards) == 1 and "bigspender" in json.dumps(cards[0]["blocks"])

    # the queue, filtered to the incident: all 56 members
    with db.sessions() as s:
        rows, total = query_queue(
            s, QueueFilter(status="all", incident=inc.id), "UANN", clock(), first_response_targets(settings), 100
        )
    assert total == 56 and all(r["incident_id"] == inc.id for r in rows)

    # the CLI: list, acknowledge all, post a status update
    runner = CliRunner()
    cfg = str(tmp_path / "config.yaml")
    listed = runner.invoke(cli, ["incidents", "list", "--json", "--config", cfg])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output.splitlines()[0])["cases"] == 56
    acked = runner.invoke(cli, ["incidents", "ack", str(inc.id), "--as", "UANN", "--config", cfg])
    assert acked.exit_code == 0 and "56 new case(s) acknowledged" in acked.output, acked.output
    text = "We found the sync fault; a fix is rolling out, files will catch up within the hour."
    upd = runner.invoke(cli, ["incidents", "update", str(inc.id), text, "--as", "UANN", "--config", cfg])
    assert upd.exit_code == 0 and "update posted to 56 case(s)" in upd.output, upd.output
    shown = runner.invoke(cli, ["incidents", "show", str(inc.id), "--config", cfg])
    assert "56 cases" in shown.output and "fix is rolling out" in shown.output
    missing = runner.invoke(cli, ["incidents", "ack", "999", "--as", "UANN", "--config", cfg])
    assert missing.exit_code == 1 and "no incident #999" in missing.output
    drain(db, settings, clock)
    thread = [m for m in fake_slack.posted("#care") if m.get("thread_ts") == posted[0]["ts"]]
    assert len(thread) == 1 and "fix is rolling out" in json.dumps(thread[0]["blocks"])
    vip_thread = [m for m in fake_slack.posted("#care") if m.get("thread_ts") == cards[0]["ts"]]
    assert any("fix is rolling out" in json.dumps(m["blocks"]) for m in vip_thread)
    assert len(top_level(fake_slack)) == 2  # still one incident card (and the VIP's)
    with db.sessions() as s:
        assert {c.status for c in s.scalars(select(Case))} == {"acknowledged"}

    # Slack: "Resolve all" on the incident card
    body = {
        "actions": [{"action_id": "gw_incident_resolve", "value": str(inc.id), "action_ts": "1"}],
        "user": {"id": "UBO"},
        "channel": {"id": "#care"},
    }
    assert "56 case(s) resolved" in (handle_incident_click(db, settings, body, clock()) or "")
    drain(db, settings, clock)
    with db.sessions() as s:
        assert {c.status for c in s.scalars(select(Case))} == {"resolved"}
        assert s.get(Incident, inc.id).status == "resolved"  # type: ignore[union-attr]
    last = [u for u in fake_slack.calls("chat.update") if u["ts"] == posted[0]["ts"]][-1]
    assert "status *resolved*" in json.dumps(last["blocks"]) and "Resolve all" not in json.dumps(last["blocks"])
    assert handle_incident_click(db, settings, body, clock()) is None  # resolved already: nothing changes
    drain(db, settings, clock)
    assert "is resolved" in fake_slack.ephemeral[-1]["text"]


def test_follow_ups_of_every_member_are_scheduled(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    posts = [post(i) for i in range(6)]
    settings = settings_of(tmp_path, db_url, fake_slack, posts)
    clock = Clock(T0 + timedelta(minutes=10))
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s, s.begin():
        (inc,) = s.scalars(select(Incident)).all()
        msg = incidents.act(s, settings, inc.id, "follow_up", "UANN", clock())
        assert "follow-up scheduled for 6 case(s)" in msg
        due = clock() + timedelta(days=settings.cases.follow_up_days)
        assert all(c.sla["follow_up"]["at"] == due.isoformat() for c in s.scalars(select(Case)))
    with db.sessions() as s, s.begin():
        sla.tick(s, settings, due)
        asked = s.scalars(select(CaseEvent).where(CaseEvent.kind == "follow_up")).all()
        assert len({e.case_id for e in asked}) == 6


def test_fewer_copies_than_min_cases_make_no_incident(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings = settings_of(tmp_path, db_url, fake_slack, [post(i) for i in range(4)])
    run_source(db, settings, settings.sources[0], now=Clock(T0 + timedelta(minutes=10)))
    with db.sessions() as s:
        assert s.scalars(select(Incident)).first() is None
        assert len(s.scalars(select(Case)).all()) == 4


def test_a_complaint_spike_makes_its_cases_one_incident(db: Database, db_url: str) -> None:
    from gripewatch.dashboards.spikes import check_spikes
    from gripewatch.models import Outbox
    from tests.dashboard_helpers import demo_data, load_demo

    settings = demo_data(db_url, digest={"dashboard_url": "https://gw.example"})
    load_demo(db, settings)
    (spike,) = check_spikes(db, settings, datetime(2026, 11, 18, 15, 5, tzinfo=UTC))  # the demo's outage
    with db.sessions() as s:
        [alert] = s.scalars(select(Outbox).where(Outbox.kind == "ops")).all()
        behind = s.scalars(select(Case).where(Case.id.in_(alert.payload["case_ids"]))).all()
        assert behind and all(c.incident_id is not None for c in behind if c.status in incidents.OPEN)
        spike_incident = s.scalars(select(Incident).where(Incident.key == f"spike:{spike.topic}")).one()
        assert spike_incident.brand == "Acme"
        assert len(s.scalars(select(Outbox).where(Outbox.key == f"incident:{spike_incident.id}")).all()) == 1


def test_incident_actions_from_the_dashboard(tmp_path: Path, db: Database, db_url: str) -> None:
    from starlette.testclient import TestClient

    from gripewatch.dashboards.auth import hash_password
    from gripewatch.dashboards.web import create_app
    from tests.dashboard_helpers import PASSWORD, dashboard_section
    from tests.test_dashboard_web import _csrf, login

    staff = [{"slack_id": "U0AGENT01", "name": "Priya", "capacity": 20}]
    settings = make_settings(
        tmp_path, db_url, [post(i) for i in range(6)], staff=staff, dashboard=dashboard_section(hash_password(PASSWORD))
    )
    clock = Clock(T0 + timedelta(minutes=10))
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s:
        (inc,) = s.scalars(select(Incident)).all()
    with TestClient(create_app(settings, db, now=clock), base_url="http://127.0.0.1") as c:
        login(c)
        page = c.get(f"/cases?status=all&incident={inc.id}")
        assert f"Incident #{inc.id}" in page.text and "6 customers with one problem" in page.text
        assert page.text.count('href="/cases/') >= 6
        token = _csrf(page.text)
        r = c.post(f"/incidents/{inc.id}/action", data={"action": "acknowledge", "csrf": token})
        assert "Incident #" in r.text and "6 new case(s) acknowledged." in r.text  # a sentence, no "Done:"
        r = c.post(
            f"/incidents/{inc.id}/action", data={"action": "update", "text": "Fixed; syncing now.", "csrf": token}
        )
        assert "update posted to 6 case(s)" in r.text and "Fixed; syncing now." in r.text
        r = c.post(f"/incidents/{inc.id}/action", data={"action": "update", "text": " ", "csrf": token})
        assert "needs its text" in r.text
        r = c.post(f"/incidents/{inc.id}/action", data={"action": "resolve"})
        assert r.status_code == 403  # no CSRF token: nothing happens
        r = c.post(f"/incidents/{inc.id}/action", data={"action": "resolve", "csrf": token})
        assert "6 case(s) resolved" in r.text
    with db.sessions() as s:
        assert {c.status for c in s.scalars(select(Case))} == {"resolved"}
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.actor == "U0AGENT01"))]
        assert kinds.count("incident_update") == 6 and kinds.count("resolved") == 6


def test_an_incidents_members_breaching_together_make_one_escalation(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings = settings_of(tmp_path, db_url, fake_slack, [post(i) for i in range(20)])
    clock = Clock(T0 + timedelta(minutes=10))
    run_source(db, settings, settings.sources[0], now=clock)
    drain(db, settings, clock)
    clock.t = T0 + timedelta(days=4)  # every first-response clock has run out
    drain(db, settings, clock)
    escalations = [json.dumps(m["blocks"]) for m in fake_slack.posted("#esc")]
    assert len(escalations) == 2  # one per SLA clock for the whole incident, not one per case
    assert "first response SLA of the cases of incident #" in escalations[0] and "resolution SLA" in escalations[1]
    with db.sessions() as s:
        assert {c.status for c in s.scalars(select(Case))} == {"escalated"}


def test_customer_text_on_the_incident_card_is_inert() -> None:
    from gripewatch.alerts.incident_card import blocks

    p = {
        "incident_id": 7,
        "brand": "Acme",
        "cases": 2,
        "by_status": {"new": 2},
        "topics": ["outage_bug"],
        "quotes": [{"handle": "eve_<!here>", "text": "<!channel> *down* <https://evil.example|click>"}],
        "updates": [{"at": "2026-11-10T10:00:00+00:00", "text": "<@U123> fixed"}],
        "customer_since": "2026-11-10T09:00:00+00:00",
        "queue_url": "javascript:alert(1)",
        "actions": ["acknowledge"],
    }
    text = json.dumps(blocks(p))
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
    assert "<@U123>" not in text and "<javascript" not in text and "&lt;!channel&gt;" in text
