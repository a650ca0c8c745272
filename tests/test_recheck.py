"""Upstream deletions: the posts of open cases are looked up again; a deleted one is purged and noted.

The real tweepy and praw against recorded real look-ups (../shared/fixtures) plus one X answer written
by hand in the same shape (a deleted id comes back in ``errors``); Mastodon.py and atproto against the
loopback fakes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import vcr
from sqlalchemy import select

from gripewatch.collectors import REGISTRY
from gripewatch.config import settings_from_dict
from gripewatch.db import Database
from gripewatch.models import Case, CaseEvent, JobRun, Mention, Outbox
from gripewatch.runtime.recheck import recheck
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.test_collectors_recorded import JsonSerializer, PlaceholderPersister

HERE = Path(__file__).parent / "recordings"
X_LOOKUP = vcr.VCR(record_mode="none", decode_compressed_response=True, match_on=["method", "scheme", "host", "path"])
X = {"name": "xs", "type": "x", "bearer_token": "recorded", "query": "acme"}


def collector(tmp_path: Path, entry: dict[str, Any]) -> Any:
    settings = settings_from_dict({"sources": [{"name": "rec", **entry}]}, tmp_path / "config.yaml")
    c = REGISTRY[entry["type"]](settings.sources[0], settings.brands)
    c.edge.sleep = lambda s: None
    return c


def test_x_lookup_of_two_live_tweets_from_a_real_recording(tmp_path: Path, shared: Path) -> None:
    c = collector(tmp_path, X)
    with X_LOOKUP.use_cassette(str(shared / "fixtures/tweepy/test_client_get_tweets.yaml")):
        assert c.gone(["1293593516040269825", "1293595870563381249"]) == set()


def test_x_lookup_reports_the_deleted_tweet_from_errors(tmp_path: Path) -> None:
    c = collector(tmp_path, X)
    with X_LOOKUP.use_cassette(str(HERE / "x_get_tweets_one_deleted.yaml")) as cassette:
        assert c.gone(["1293593516040269825", "1500000000000000001"]) == {"1500000000000000001"}
    assert cassette.play_count == 1  # one request for both


def test_reddit_info_from_a_real_recording_finds_deleted_and_removed_items(
    tmp_path: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)
    rec = vcr.VCR(
        record_mode="none",
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path", "query"],
    )
    rec.register_persister(PlaceholderPersister)
    rec.register_serializer("prawjson", JsonSerializer)
    path = shared / "fixtures/praw/TestReddit.test_info.json"
    recorded = json.loads(path.read_text())["interactions"][1:]
    ids = [i for r in recorded for i in r["request"]["uri"].split("id=")[1].split("&")[0].split("%2C")]
    c = collector(tmp_path, {"type": "reddit", "client_id": "placeholder", "client_secret": "placeholder"})
    with rec.use_cassette(str(path), serializer="prawjson"):
        gone = c.gone(ids)
    # comments whose body is [deleted]/[removed]; submissions deleted with their author; a comment whose
    # author left but whose text stands (t1_d7ltv08) is not gone
    assert {g for g in gone if g.startswith("t1_")} == {
        f"t1_d7ltv{n}" for n in ("31", "34", "54", "56", "91", "94", "96", "99")
    }
    assert {"t3_5dec01", "t3_5dec18", "t3_5dec48"} <= gone and "t1_d7ltv08" not in gone
    assert "t3_5dec21" not in gone  # removed by moderators, title and author still public


def test_mastodon_and_bluesky_lookups_against_the_fakes(tmp_path: Path) -> None:
    m = FakeMastodon().start()
    b = FakeBluesky().start()
    try:
        keep, drop = m.add("acme is down"), m.add("acme lost my files")
        ids = m.ids()
        m.posts.remove(drop)
        c = collector(
            tmp_path, {"type": "mastodon", "instance": "fake.social", "hashtags": ["acme"], "base_url": m.base_url}
        )
        assert c.gone(ids) == {ids[1]}
        assert keep in m.posts
        p1, p2 = b.add("acme refund never came"), b.add("acme support ignored me")
        uris = [b.uri(p1), b.uri(p2)]
        b.posts.remove(p2)
        entry = {"type": "bluesky", "handle": "searcher.bsky.social", "app_password": "app-pass-1234",
                 "query": "acme", "base_url": b.base_url}  # fmt: skip
        assert collector(tmp_path, entry).gone(uris) == {uris[1]}
    finally:
        m.stop()
        b.stop()


def test_a_deleted_post_of_an_open_case_is_purged_and_noted(tmp_path: Path, db: Database, db_url: str) -> None:
    settings = settings_from_dict(
        {"database": {"url": db_url}, "brands": [{"name": "Acme", "keywords": ["acme"]}], "sources": [X]},
        tmp_path / "config.yaml",
    )
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    gone_text = "acme charged me twice and support vanished, scandal"
    with db.sessions() as s, s.begin():
        case = Case(brand="Acme", status="new", summary=gone_text, opened_at=now, slack_channel="C1", slack_ts="1.1")
        s.add(case)
        s.flush()
        for eid, text in (("1500000000000000001", gone_text), ("1293593516040269825", "acme still broken")):
            s.add(Mention(source="xs", platform="x", external_id=eid, text=text, created_at=now, case_id=case.id,
                          raw={"text": text}, url=f"https://x.com/c/status/{eid}", is_complaint=True,
                          complaint_probability=0.9 if eid.startswith("15") else 0.5))  # fmt: skip
        case_id = case.id
    with X_LOOKUP.use_cassette(str(HERE / "x_get_tweets_one_deleted.yaml")):
        out = recheck(db, settings, now)
    assert out == {"checked": 2, "deleted": 1, "errors": {}}
    with db.sessions() as s:
        by = {m.external_id: m for m in s.scalars(select(Mention))}
        gone, kept = by["1500000000000000001"], by["1293593516040269825"]
        assert (gone.text, gone.raw, gone.url, gone.deleted_at) == ("", {"deleted": True}, None, now)
        assert gone.is_complaint and gone.complaint_probability == 0.9  # still counted as the complaint it was
        assert kept.text == "acme still broken"
        case = s.get(Case, case_id)
        assert case is not None and case.summary == "[deleted by its author]" and case.status == "new"
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))]
        assert kinds == ["mention_deleted"]
        rows = {o.kind: o.payload for o in s.scalars(select(Outbox))}
        assert rows["note"]["text"].startswith("The customer deleted this post on x")
        assert rows["card_update"]["text"] == "[deleted by its author]"
        assert gone_text not in json.dumps(rows)
    with X_LOOKUP.use_cassette(str(HERE / "x_get_tweets_one_deleted.yaml")):
        assert recheck(db, settings, now)["deleted"] == 0  # nothing twice


def test_the_daemon_runs_recheck_under_its_lease_at_its_interval(tmp_path: Path, db: Database) -> None:
    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.runtime.scheduler import RECHECK, Daemon
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, db.engine.url.render_as_string(hide_password=False), [],
                             scheduler={"recheck_minutes": 30})  # fmt: skip
    t = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    d = Daemon(settings, db, ConsoleNotifier(), "a", now=lambda: t[0])
    d.recheck()
    d.recheck()  # not due yet
    with db.sessions() as s:
        runs = s.scalars(select(JobRun).where(JobRun.job == RECHECK)).all()
    assert [(r.outcome, r.detail) for r in runs] == [("ok", {"checked": 0, "deleted": 0, "errors": {}})]
