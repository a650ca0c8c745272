"""The real slack_sdk WebClient against a fake Slack on 127.0.0.1, through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from gripewatch.alerts.outbox import dispatch
from gripewatch.alerts.slack import SlackNotifier
from gripewatch.db import Database
from gripewatch.models import Outbox
from gripewatch.runtime.jobs import collect_source
from tests.conftest import make_settings
from tests.fakes.slack import FakeSlack

COMPLAINT = "@AcmeHelp acme cloud lost all my photos, still waiting 3 days for a refund. Worst service ever!"


class Clock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def ingest(tmp_path: Path, db: Database, db_url: str, fake: FakeSlack, records: list[dict]):  # type: ignore[no-untyped-def]
    settings = make_settings(
        tmp_path, db_url, records, slack={"mode": "api", "token": "xoxb-test", "base_url": fake.base_url}
    )
    collect_source(db, settings, "replay", "test")
    return settings


def rec(i: int, author: str, text: str = COMPLAINT) -> dict:
    return {"id": str(i), "text": text, "author": author, "created_at": f"2026-11-20T08:{i:02d}:00Z"}


def test_500_then_429_then_ok_gives_exactly_one_message(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings = ingest(tmp_path, db, db_url, fake_slack, [rec(1, "ann")])
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    clock = Clock()
    fake_slack.fail_next(500)
    fake_slack.fail_next(429, retry_after=7)
    r1 = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert (r1.sent, r1.failed) == (0, 1)
    clock.advance(settings.outbox.backoff_seconds)
    r2 = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert (r2.sent, r2.failed) == (0, 1)
    clock.advance(6)  # Retry-After said 7 s
    assert dispatch(db.sessions, notifier, settings.outbox, now=clock).sent == 0
    clock.advance(1)
    assert dispatch(db.sessions, notifier, settings.outbox, now=clock).sent == 1
    assert len(fake_slack.posted()) == 1
    msg = fake_slack.posted()[0]
    assert msg["channel"] == "#social-care"
    assert "@ann" in str(msg["blocks"]) and "lost all my photos" in str(msg["blocks"])


def test_follow_up_goes_into_the_case_thread(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    settings = ingest(tmp_path, db, db_url, fake_slack, [rec(1, "ann"), rec(2, "ann", "@AcmeHelp still nothing??")])
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    dispatch(db.sessions, notifier, settings.outbox)
    first, follow = fake_slack.posted()
    assert first["thread_ts"] is None
    assert follow["thread_ts"] == first["ts"] and "still nothing" in follow["text"]


def test_a_case_waits_for_its_first_message(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    """While Slack refuses the case's first alert, its follow-up is not posted out of order."""
    settings = ingest(
        tmp_path,
        db,
        db_url,
        fake_slack,
        [rec(1, "ann"), rec(2, "ann", "@AcmeHelp hello??"), rec(3, "bob", "@AcmeHelp my order never arrived")],
    )
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    clock = Clock()
    fake_slack.fail_next(503)
    r = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert (r.sent, r.failed) == (1, 1) and r.waiting >= 1  # bob's case went out; ann's update waited
    clock.advance(60)
    dispatch(db.sessions, notifier, settings.outbox, now=clock)
    texts = [m["text"] for m in fake_slack.posted()]
    assert "case #2" in texts[0] and "@bob" in texts[0]
    assert "@ann" in texts[1] and "hello??" in texts[2]


def test_an_alert_in_doubt_is_not_posted_twice(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings = ingest(tmp_path, db, db_url, fake_slack, [rec(1, "ann")])
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    dispatch(db.sessions, notifier, settings.outbox)
    with db.sessions() as s, s.begin():  # as if the process died after Slack accepted, before we recorded it
        row = s.scalars(select(Outbox)).one()
        row.sent_at = None
    dispatch(db.sessions, notifier, settings.outbox)
    assert len(fake_slack.posted()) == 1
    with db.sessions() as s:
        assert s.scalars(select(Outbox)).one().sent_at is not None


def test_permanent_refusal_is_given_up_and_kept(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings = ingest(tmp_path, db, db_url, fake_slack, [rec(1, "ann")])
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    fake_slack.fail_next(200, error="channel_not_found")
    r = dispatch(db.sessions, notifier, settings.outbox)
    assert r.failed == 1 and "channel_not_found" in r.errors[0]
    with db.sessions() as s:
        row = s.scalars(select(Outbox)).one()
    assert row.dead and row.sent_at is None and "channel_not_found" in (row.last_error or "")
