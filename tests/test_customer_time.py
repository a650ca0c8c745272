"""The customer's clock: waiting, SLAs and the promised time count from the customer's post, not from when
gripewatch collected it -- in Slack, the queue, ``status`` and the digest alike; old posts are a backlog."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.alerts.outbox import dispatch
from gripewatch.dashboards.digest import build_digest
from gripewatch.dashboards.load import load_digest_input
from gripewatch.dashboards.period import parse_period
from gripewatch.dashboards.queue import QueueFilter, first_response_targets, query_queue
from gripewatch.db import Database
from gripewatch.models import Case, Outbox
from gripewatch.pipeline import run_source
from gripewatch.runtime.ops import snapshot
from tests.conftest import make_settings, word
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Clock, drain

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # a Tuesday morning: the customers post from here
COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later. Where is my refund? ({w})"
STAFF = [{"slack_id": "UAGENT1", "name": "Ann", "capacity": 50}, {"slack_id": "UMGR1", "name": "M", "role": "manager"}]
# one target for every priority (3 h 20 min) and no waiting points, so every case here is timed alike
SAME_SLA = {p: {"first_response_minutes": 200, "resolution_minutes": 2000} for p in ("critical", "high", "normal")}
SAME_SLA["low"] = SAME_SLA["normal"]
CASES = {"sla": SAME_SLA, "priority": {"waiting_per_hour": 0}, "p90_min_samples": 10}


def post(i: int, at: datetime, author: str | None = None, **extra: Any) -> dict[str, Any]:
    author = author or f"cust{i}"
    return {
        "id": f"t{i}",
        "text": COMPLAINT.format(w=word(i)),
        "author": author,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "url": f"https://x.com/{author}/status/{i}",
        "followers": 50,
        **extra,
    }


def reply(i: int, to: int, at: datetime) -> dict[str, Any]:
    return {
        "id": f"r{i}",
        "text": f"@cust{to} Sorry about this, please DM us your order number and we will sort it out.",
        "author": "AcmeHelp",
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "in_reply_to": f"t{to}",
        "url": f"https://x.com/AcmeHelp/status/r{i}",
    }


def settings_for(tmp_path: Path, db_url: str, fake: FakeSlack, records: list[dict[str, Any]], **cases: Any):  # type: ignore[no-untyped-def]
    if "#care" not in fake.channels:
        fake.add_channel("#care")
        fake.add_channel("#esc")
    return make_settings(
        tmp_path,
        db_url,
        records,
        slack={
            "mode": "api",
            "token": "xoxb-test",
            "base_url": fake.base_url,
            "channels": {"alerts": "#care", "escalations": "#esc"},
        },
        staff=STAFF,
        cases={**CASES, **cases},
        outbox={"per_channel_per_second": 0},
    )


def test_posted_3h_before_the_answer_and_collected_2h_late_counts_3h_everywhere(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    posts = [post(i, T0 + timedelta(minutes=i)) for i in range(12)]
    unanswered = post(50, T0 + timedelta(minutes=5))
    clock = Clock(T0 + timedelta(hours=2))  # collected two hours after they posted
    settings = settings_for(tmp_path, db_url, fake_slack, [*posts, unanswered])
    assert run_source(db, settings, settings.sources[0], now=clock).cases_opened == 13
    drain(db, settings, clock)

    # at collection: the customers have waited two hours, not zero
    snap = snapshot(db, settings, clock())
    assert snap["open_cases"]["first_response"]["waiting 1-4h"] == 13
    assert snap["open_cases"]["first_response"]["waiting <1h"] == 0
    card = fake_slack.posted("#care")[0]
    assert "customer posted Tue 09:" in json.dumps(card["blocks"]) and "waiting 2 h" in json.dumps(card["blocks"])
    with db.sessions() as s:
        c = s.scalars(select(Case).order_by(Case.id)).first()
        assert c is not None and c.customer_since == T0 and c.opened_at == T0 + timedelta(hours=2)
        assert c.sla["first_response"]["due_at"] == (T0 + timedelta(minutes=200)).isoformat()

    # the brand answers each three hours after its post; collected a few minutes later
    replies = [reply(i, i, T0 + timedelta(minutes=i, hours=3)) for i in range(12)]
    clock.t = T0 + timedelta(hours=3, minutes=20)
    settings = settings_for(tmp_path, db_url, fake_slack, [*posts, unanswered, *replies])
    run_source(db, settings, settings.sources[0], now=clock)
    drain(db, settings, clock)

    # Slack: each card says the first response came 3 h after the customer's post
    updates = [json.dumps(u["blocks"]) for u in fake_slack.calls("chat.update")]
    assert sum("first response after 3 h" in u for u in updates) >= 12
    assert not any("first response after 1 h" in u for u in updates)

    # the queue: answered after 3 h; the unanswered one is due (75 % of 200 min from its post), not "ok"
    now = T0 + timedelta(hours=3, minutes=10)
    with db.sessions() as s:
        rows, _ = query_queue(s, QueueFilter(status="all"), "ann", now, first_response_targets(settings), 50)
    answered = [r for r in rows if r["sla"] == "answered"]
    assert len(answered) == 12 and {r["answered_after"] for r in answered} == {timedelta(hours=3)}
    (waiting,) = [r for r in rows if r["sla"] != "answered"]
    assert waiting["sla"] == "due" and waiting["posted_at"] == T0 + timedelta(minutes=5)
    with db.sessions() as s:
        rows, _ = query_queue(s, QueueFilter(sla="due"), "ann", now, first_response_targets(settings), 50)
        assert [r["id"] for r in rows] == [waiting["id"]]

    # status: one still waiting, for over 3 h (from the post)
    snap = snapshot(db, settings, now)
    waits = snap["open_cases"]["first_response"]
    assert waits == {"answered": 12, "waiting <1h": 0, "waiting 1-4h": 1, "waiting >4h": 0}

    # the digest: first response median and p90 are 3 h (180 min)
    period = parse_period("2026-11-09..2026-11-15", "UTC", now)
    d = build_digest(load_digest_input(db, settings, period, now), settings.digest)
    assert d.sla.first_response_median_min == 180 and d.sla.first_response_p90_min == 180

    # and the next customer is promised what the team kept: 3 hours, not "within an hour" (from collection)
    clock.t = T0 + timedelta(hours=4)
    nxt = post(60, clock() - timedelta(minutes=1))
    settings = settings_for(tmp_path, db_url, fake_slack, [*posts, unanswered, *replies, nxt])
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s:
        row = s.scalars(select(Outbox).where(Outbox.key == "opened:replay:t60")).one()
    assert "within 3 hours" in row.payload["suggested_reply"]
    assert row.payload["measured_p90_minutes"] == 180


def test_too_few_measured_cases_promise_no_time(tmp_path: Path, db: Database, db_url: str, fake_slack) -> None:  # type: ignore[no-untyped-def]
    posts = [post(i, T0 + timedelta(minutes=i)) for i in range(3)]
    replies = [reply(i, i, T0 + timedelta(minutes=i, hours=1)) for i in range(3)]
    clock = Clock(T0 + timedelta(hours=2))
    settings = settings_for(tmp_path, db_url, fake_slack, [*posts, *replies, post(9, T0 + timedelta(hours=2))])
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s:
        row = s.scalars(select(Outbox).where(Outbox.key == "opened:replay:t9")).one()
    assert "as soon as we can" in row.payload["suggested_reply"] and row.payload["measured_p90_minutes"] is None


def test_old_posts_open_backlog_cases_with_one_summary_and_no_stale_escalations(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    now = T0 + timedelta(days=3)
    old = [post(i, T0 + timedelta(minutes=i)) for i in range(30)]  # three days old when collected
    fresh = post(99, now - timedelta(minutes=10))
    clock = Clock(now)
    settings = settings_for(tmp_path, db_url, fake_slack, [*old, fresh])
    run = run_source(db, settings, settings.sources[0], now=clock)
    assert run.cases_opened == 31  # every customer is still someone's case
    drain(db, settings, clock)
    for _ in range(3):  # SLA checks over the next while: nothing escalated for what was due before we saw it
        clock.advance(minutes=5)
        drain(db, settings, clock)
    top = [m for m in fake_slack.posted("#care") if not m.get("thread_ts")]
    cards = [m for m in top if "Case #" in json.dumps(m["blocks"])]
    summaries = [m for m in top if "Backlog from replay" in json.dumps(m["blocks"])]
    assert len(cards) == 1 and "cust99" in json.dumps(cards)  # only the live post got its own card
    assert len(summaries) == 1
    assert "30 complaints were already older than 24 h" in json.dumps(summaries[0]["blocks"])
    assert fake_slack.posted("#esc") == []  # no breach escalations for breaches before we saw them
    with db.sessions() as s:
        rows, total = query_queue(s, QueueFilter(backfill="yes"), "ann", now, first_response_targets(settings), 50)
        assert total == 30 and all(r["backfill"] and r["sla"] == "breached" for r in rows)  # listed, honestly late
        backlog = s.scalars(select(Case).where(Case.backfill.is_(True))).all()
        assert all(c.sla["first_response"].get("before_seen") for c in backlog)
        assert all(c.assignee for c in backlog)  # each has an owner
    snap = snapshot(db, settings, clock())
    assert snap["open_cases"]["backfill"] == 30 and snap["open_cases"]["first_response"]["waiting >4h"] == 30

    # a backlog customer who writes again now gets their case's own card, with the new post in its thread
    again = {**post(31, clock() - timedelta(minutes=1), author="cust3"), "text": "@AcmeHelp still nothing, hello??"}
    settings = settings_for(tmp_path, db_url, fake_slack, [*old, fresh, again])
    run_source(db, settings, settings.sources[0], now=clock)
    drain(db, settings, clock)
    top = [m for m in fake_slack.posted("#care") if not m.get("thread_ts")]
    assert len([m for m in top if "Case #" in json.dumps(m["blocks"])]) == 2
    assert len([m for m in top if "Backlog from" in json.dumps(m["blocks"])]) == 1


def test_console_shows_the_backlog_summary(tmp_path: Path, db: Database, db_url: str) -> None:
    from io import StringIO

    from rich.console import Console

    settings = make_settings(tmp_path, db_url, [post(i, T0) for i in range(3)], cases=CASES)
    clock = Clock(T0 + timedelta(days=2))
    run_source(db, settings, settings.sources[0], now=clock)
    out = StringIO()
    dispatch(db.sessions, ConsoleNotifier(Console(file=out, width=200)), settings.outbox, now=clock)
    assert "Backlog from replay: 3 older complaints" in out.getvalue()
    assert "Case #" not in out.getvalue()
