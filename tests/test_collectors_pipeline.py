"""Collectors through the whole pipeline: RSS runs, failing sources, ops alerts, backfill, edits, brand replies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.alerts.notify import Delivery
from gripewatch.cli import cli
from gripewatch.config import settings_from_dict
from gripewatch.db import Database
from gripewatch.models import Case, Mention, Outbox, SourceState
from gripewatch.runtime.jobs import run_once
from tests.conftest import write_config
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.rss import FakeFeed
from tests.fakes.x import FakeX

BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}


class Quiet:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, alert: Any) -> Delivery:
        self.sent.append(alert)
        return Delivery(channel=alert.channel, ts=str(len(self.sent)))


@pytest.fixture
def feed() -> Iterator[FakeFeed]:
    f = FakeFeed().start()
    yield f
    f.stop()


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)


def _settings(db_url: str, tmp_path: Path, sources: list[dict[str, Any]]) -> Any:
    return settings_from_dict(
        {"database": {"url": db_url}, "brands": [BRAND], "sources": sources, "slack": {"mode": "console"}},
        tmp_path / "config.yaml",
    )


def test_rss_first_run_stores_all_later_only_new_then_nothing(
    tmp_path: Path, db: Database, db_url: str, feed: FakeFeed
) -> None:
    for i in range(3):
        feed.add(f"Acme review {i}: the blender broke after a week", author=f"r{i}")
    settings = _settings(db_url, tmp_path, [{"name": "reviews", "type": "rss", "url": feed.url, "brand": "Acme"}])
    assert run_once(db, settings, Quiet()).sources[0].stored == 3
    feed.add("Acme review 4: refund never came")
    second = run_once(db, settings, Quiet()).sources[0]
    assert second.stored == 1 and second.duplicates == 0
    before = len(feed.requests)
    third = run_once(db, settings, Quiet()).sources[0]
    assert third.stored == 0 and third.fetched == 0 and not third.error
    assert len(feed.requests) == before + 1  # one conditional GET, answered 304
    with db.sessions() as s:
        assert sorted(s.scalars(select(Mention.external_id)).all()) == sorted(feed.ids())


def test_a_failing_source_does_not_stop_the_others_and_raises_one_ops_alert(
    tmp_path: Path, db: Database, db_url: str, feed: FakeFeed
) -> None:
    feed.add("Acme lost my order")
    dead = {"name": "hn", "type": "hackernews", "query": "acme", "base_url": "http://127.0.0.1:9/", "max_retries": 0}
    sources = [dead, {"name": "reviews", "type": "rss", "url": feed.url, "brand": "Acme"}]
    settings = _settings(db_url, tmp_path, sources)
    for _ in range(3):
        report = run_once(db, settings, Quiet())
        assert [r.source for r in report.failed] == ["hn"]
    assert report.sources[1].error is None
    with db.sessions() as s:
        ops = s.scalars(select(Outbox).where(Outbox.kind == "ops")).all()
        state = s.get(SourceState, "hn")
    assert len(ops) == 1 and "hn" in ops[0].payload["title"] and ops[0].channel == "#social-care"
    assert state.consecutive_failures == 3
    if not db_url.startswith("sqlite"):
        return  # the CLI part once is enough (run-once keeps its engine open until exit)
    cfg = write_config(
        tmp_path,
        {"database": {"url": db_url}, "brands": [BRAND], "sources": sources, "slack": {"mode": "console"}},
    )
    out = CliRunner().invoke(cli, ["sources", "--config", str(cfg)])
    assert out.exit_code == 0 and "failing" in out.output
    assert CliRunner().invoke(cli, ["run-once", "--config", str(cfg), "--wait", "0"]).exit_code == 1


def test_rate_limited_source_is_deferred_not_failed(tmp_path: Path, db: Database, db_url: str) -> None:
    fake = FakeHackerNews().start()
    try:
        fake.add("acme is down")
        fake.fail_next(429, {"Retry-After": "3600"})
        src = {"name": "hn", "type": "hackernews", "query": "acme", "base_url": fake.base_url + "/api/v1/"}
        settings = _settings(db_url, tmp_path, [src])
        run = run_once(db, settings, Quiet()).sources[0]
        assert run.error is None and run.deferred_until is not None
        calls = len(fake.requests)
        run_once(db, settings, Quiet())
        assert len(fake.requests) == calls  # not called again before the reset
        with db.sessions() as s:
            assert s.get(SourceState, "hn").consecutive_failures == 0
    finally:
        fake.stop()


def test_request_budget_per_15_minutes_is_kept_across_runs(tmp_path: Path, db: Database, db_url: str) -> None:
    fake = FakeHackerNews().start()
    try:
        for i in range(9):
            fake.add(f"acme outage {i}")
        src = {
            "name": "hn",
            "type": "hackernews",
            "query": "acme",
            "base_url": fake.base_url + "/api/v1/",
            "requests_per_15min": 2,
        }
        settings = _settings(db_url, tmp_path, [src])
        run = run_once(db, settings, Quiet()).sources[0]
        assert run.stored == 4 and run.deferred_until is not None and len(fake.requests) == 2
        run_once(db, settings, Quiet())
        assert len(fake.requests) == 2
        with db.sessions() as s:
            assert s.get(SourceState, "hn").budget_used == 2
    finally:
        fake.stop()


def test_backfill_is_resumable_and_shows_progress(tmp_path: Path, db: Database, db_url: str) -> None:
    fake = FakeHackerNews().start()
    try:
        for i in range(6):
            fake.add(f"acme billing error {i}")
        src = {
            "name": "hn",
            "type": "hackernews",
            "query": "acme",
            "base_url": fake.base_url + "/api/v1/",
            "requests_per_15min": 2,
        }
        cfg = write_config(tmp_path, {"database": {"url": db_url}, "brands": [BRAND], "sources": [src]})
        first = CliRunner().invoke(cli, ["backfill", "--source", "hn", "--since", "7d", "--config", str(cfg)])
        assert first.exit_code == 0, first.output
        assert "rate limited" in first.output
        with db.sessions() as s, s.begin():
            s.get(SourceState, "hn#backfill").rate_limited_until = None
            s.get(SourceState, "hn#backfill").budget_used = 0
        second = CliRunner().invoke(cli, ["backfill", "--source", "hn", "--since", "7d", "--config", str(cfg)])
        assert "resuming" in second.output
        with db.sessions() as s:
            stored = s.scalars(select(Mention.external_id).where(Mention.source == "hn")).all()
        assert sorted(stored) == sorted(fake.ids()) or "rate limited" in second.output
        bad = CliRunner().invoke(cli, ["backfill", "--source", "nope", "--config", str(cfg)])
        assert bad.exit_code == 2
    finally:
        fake.stop()


def test_brand_reply_records_first_response_and_edits_update_in_place(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    fake = FakeX().start()
    try:
        complaint = fake.add("acme charged me twice and support is ignoring me, this is a scam", author="angry")
        tid = str(fake.tid(complaint))
        fake.add(
            "@angry sorry! DM us your order number",
            author="AcmeHelp",
            extra={"referenced_tweets": [{"type": "replied_to", "id": tid}], "conversation_id": tid},
        )
        src = {"name": "x", "type": "x", "bearer_token": "t", "base_url": fake.base_url, "brand": "Acme"}
        settings = _settings(db_url, tmp_path, [src])
        run_once(db, settings, Quiet())
        with db.sessions() as s:
            case = s.scalars(select(Case)).one()
            assert case.first_response_at is not None
            assert s.scalars(select(Mention).where(Mention.is_own.is_(True))).one().case_id == case.id
        edited = fake.add("acme charged me twice (edit: three times now)", author="angry")
        edited.extra["edit_history_tweet_ids"] = [tid, str(fake.tid(edited))]  # X: a new id, the first id kept
        run_once(db, settings, Quiet())
        with db.sessions() as s:
            m = s.scalars(select(Mention).where(Mention.external_id == tid)).one()
            assert "three times" in m.text and m.edited_at is not None
            assert s.scalar(select(Mention.id).where(Mention.external_id == str(fake.tid(edited)))) is None
    finally:
        fake.stop()


def test_missing_secret_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN", raising=False)
    cfg = write_config(tmp_path, {"sources": [{"name": "x", "type": "x", "bearer_token": "${X_BEARER_TOKEN}"}]})
    out = CliRunner().invoke(cli, ["config", "check", "--config", str(cfg)])
    assert out.exit_code == 2 and "sources[0].bearer_token" in out.output and "X_BEARER_TOKEN" in out.output
