"""Slack pacing: a backlog of 500 new cases for one channel goes out within the configured rate (measured on
the fake Slack's request log), critical first, none lost or doubled; a 429's Retry-After holds the channel."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gripewatch.alerts.outbox import dispatch
from gripewatch.alerts.pacing import Pacer
from gripewatch.alerts.slack import SlackNotifier
from gripewatch.db import Database
from gripewatch.models import Case, Mention
from gripewatch.pipeline import run_source
from gripewatch.runtime.ops import snapshot
from tests.conftest import make_settings, word
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Clock

RATE, BURST = 100.0, 5  # a high rate keeps the test fast; the check is on the rate, not on wall time
NOW = datetime.now(UTC).replace(microsecond=0)
ROUTINE = "@AcmeHelp my acme hub order {w} never arrived, still waiting for it two weeks later"
FIRE = "@AcmeHelp my acme hub charger caught fire and burned my hand {w}, this is dangerous"


def post(i: int, text: str) -> dict[str, Any]:
    return {
        "id": f"b{i}",
        "text": text.format(w=word(i)),
        "author": f"c{i}",
        "created_at": (NOW - timedelta(minutes=5) + timedelta(milliseconds=100 * i)).isoformat(),
    }


def settings_for(tmp_path: Path, db_url: str, fake: FakeSlack, records: list[dict[str, Any]], **outbox: Any):  # type: ignore[no-untyped-def]
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
            "routing": [{"channel": "#care"}],  # every case to one channel
        },
        outbox={"per_channel_per_second": RATE, "burst": BURST, **outbox},
        incidents={"enabled": False},
    )


def post_times(fake: FakeSlack) -> list[float]:
    return [t for (m, _), t in zip(fake.requests, fake.times, strict=True) if m == "chat.postMessage"]


def test_500_new_cases_go_out_within_the_rate_critical_first_none_lost_or_doubled(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    records = [post(i, FIRE if i % 25 == 7 else ROUTINE) for i in range(500)]  # 20 critical among them
    settings = settings_for(tmp_path, db_url, fake_slack, records)
    clock = Clock(NOW)
    assert run_source(db, settings, settings.sources[0], now=clock).cases_opened == 500
    with db.sessions() as s:
        rows = s.execute(select(Mention.external_id, Case.priority).join(Case, Case.id == Mention.case_id)).all()
        priority = {f"opened:replay:{ext}": p for ext, p in rows}
    assert Counter(priority.values())["critical"] == 20

    # status: the backlog of the channel and its oldest item's age
    ob = snapshot(db, settings, NOW + timedelta(seconds=30))["outbox"]
    assert ob["by_channel"] == [{"channel": "#care", "pending": 500, "oldest_age_seconds": 30.0}]

    result = dispatch(db.sessions, SlackNotifier.from_config(settings), settings.outbox, now=clock)
    assert (result.sent, result.failed) == (500, 0)
    posted = [m["metadata"]["event_payload"]["key"] for m in fake_slack.posted("#care")]
    assert Counter(posted) == Counter(priority.keys())  # none lost, none doubled
    order = [priority[k] for k in posted]
    assert order[:20] == ["critical"] * 20  # the most urgent first
    assert all(p != "critical" for p in order[20:])

    times = post_times(fake_slack)
    assert len(times) == 500
    for i, t in enumerate(times):  # in any one-second window: the rate plus the burst, never more
        in_window = sum(1 for u in times[i:] if u < t + 1.0)
        assert in_window <= RATE + BURST, f"{in_window} posts within a second from post {i}"
    span = times[-1] - times[0]
    assert (len(times) - BURST) / span <= RATE * 1.05, f"{len(times)} posts in {span:.2f}s"


def test_retry_after_holds_the_channel(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    settings = settings_for(tmp_path, db_url, fake_slack, [post(i, ROUTINE) for i in range(8)])
    clock = Clock(NOW)
    run_source(db, settings, settings.sources[0], now=clock)
    notifier = SlackNotifier.from_settings("xoxb-test", fake_slack.base_url)
    fake_slack.fail_next(429, retry_after=1)  # the first post is refused
    first = dispatch(db.sessions, notifier, settings.outbox, now=clock, pacer=Pacer(RATE, BURST))
    assert first.failed == 1 and first.sent == 7  # the other cases went on once the channel was free again
    posts = [t for (m, a), t in zip(fake_slack.requests, fake_slack.times, strict=True) if m == "chat.postMessage"]
    assert posts[1] - posts[0] >= 0.99  # nothing to the channel before Retry-After had passed
    clock.advance(seconds=2)
    second = dispatch(db.sessions, notifier, settings.outbox, now=clock)
    assert second.sent == 1
    keys = [m["metadata"]["event_payload"]["key"] for m in fake_slack.posted("#care")]
    assert sorted(keys) == sorted({*keys}) and len(keys) == 8


def test_pacing_off_and_the_token_bucket() -> None:
    t = [0.0]
    p = Pacer(2.0, 3, clock=lambda: t[0])
    for _ in range(3):
        assert p.wait("#a") == 0
        p.take("#a")
    assert p.wait("#a") == 0.5 and p.wait("#b") == 0  # channels are paced apart
    t[0] = 0.5
    assert p.wait("#a") == 0
    p.hold("#a", 4)
    assert p.wait("#a") == 4.0
    t[0] = 4.5
    assert p.wait("#a") == 0.5  # after Retry-After: no burst, back to the rate


def test_rate_zero_turns_pacing_off(tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack) -> None:
    settings = settings_for(
        tmp_path, db_url, fake_slack, [post(i, ROUTINE) for i in range(30)], per_channel_per_second=0
    )
    run_source(db, settings, settings.sources[0], now=Clock(NOW))
    slept: list[float] = []
    result = dispatch(db.sessions, SlackNotifier.from_config(settings), settings.outbox, sleep=slept.append)
    assert result.sent == 30 and slept == []
    assert json.dumps(snapshot(db, settings, NOW)["outbox"]["by_channel"]) == "[]"
