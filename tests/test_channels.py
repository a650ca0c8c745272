"""Facebook, Instagram, App Store, Google Play and YouTube through the whole pipeline.

Each platform's fixture (tests/fixtures/<platform>/, the documented response shape) is replayed by
a loopback server through ``gripewatch run-once``: the one-star reviews and the complaints open
cases, the praise does not, and ``gripewatch sources`` lists the source.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.alerts.notify import Delivery
from gripewatch.cli import cli
from gripewatch.config import settings_from_dict
from gripewatch.db import Database, open_database
from gripewatch.models import Case, Mention
from gripewatch.runtime.jobs import run_once
from tests.conftest import write_config
from tests.fakes.appstore import APP_ID, FakeAppStore
from tests.fakes.recorded import FakeRecorded

BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {}}
EVER = 24 * 365 * 20  # first_run_hours reaching back to the fixtures' dates

# type → (source keys, fixture routes, summaries that open cases (their starts), the praise that must not)
REPLAYS: dict[str, tuple[dict[str, Any], dict[str, str], list[str], list[str]]] = {
    "facebook": (
        {"page_id": "104000000000001", "access_token": "t"},
        {
            "/v21.0/104000000000001/feed": "facebook/feed.json",
            "/v21.0/104000000000001_900101/comments": "facebook/comments.json",
        },
        ["Acme charged my card twice", "Three weeks since I returned"],
        ["Just got the sage green one"],
    ),
    "instagram": (
        {"ig_user_id": "17841400000000001", "access_token": "t"},
        {
            "/v21.0/17841400000000001/media": "instagram/media.json",
            "/v21.0/18000000000000001/comments": "instagram/comments.json",
            "/v21.0/17841400000000001/tags": "instagram/tags.json",
        },
        ["Day 12 of waiting for @acme", "Mine arrived with a cracked lid"],
        ["Gorgeous colour"],
    ),
    "appstore": (
        {"app_id": APP_ID, "countries": ["us"]},
        {f"/us/rss/customerreviews/page=1/id={APP_ID}/sortby=mostrecent/json": "appstore/reviews-us-page1.json"},
        ["Meh\nIt's okay I guess", "Won't open anymore"],  # 2★ (not a complaint by its words) and 1★
        ["Great little app"],
    ),
    "googleplay": (
        {"package_name": "com.acme.home", "access_token": "t"},
        {"/androidpublisher/v3/applications/com.acme.home/reviews": "googleplay/reviews.json"},
        ["Does the job, I suppose.", "Keeps logging me out"],  # 2★ and 1★
        ["Works great with my Acme toaster", "Good app, does what it says."],
    ),
    "youtube": (
        {"channel_id": "UCacme0000000000000000aa", "api_key": "k"},
        {"/youtube/v3/commentThreads": "youtube/commentThreads.json"},
        ["My Acme kettle from this video"],
        ["Best kettle review"],
    ),
}


class Quiet:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, alert: Any) -> Delivery:
        self.sent.append(alert)
        return Delivery(channel=alert.channel, ts=str(len(self.sent)))


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)


@pytest.mark.parametrize("kind", sorted(REPLAYS))
def test_a_replayed_fixture_opens_cases_for_complaints_and_low_ratings_not_for_praise(
    kind: str, tmp_path: Path
) -> None:
    keys, routes, complaints, praise = REPLAYS[kind]
    fake = FakeRecorded(routes).start()
    try:
        base = fake.base_url + ("/youtube/v3/" if kind == "youtube" else "")
        src = {"name": f"acme-{kind}", "type": kind, "brand": "Acme", "base_url": base, "first_run_hours": EVER, **keys}
        db = f"sqlite:///{tmp_path / 'gw.db'}"
        cfg = write_config(tmp_path, {"database": {"url": db}, "brands": [BRAND], "sources": [src]})
        run = CliRunner().invoke(cli, ["run-once", "--config", str(cfg), "--wait", "0"])
        assert run.exit_code == 0, run.output
        listed = CliRunner().invoke(cli, ["cases", "list", "--status", "all", "--json", "--config", str(cfg)])
        summaries = sorted(json.loads(line)["summary"] for line in listed.output.splitlines() if line.strip())
        assert len(summaries) == len(complaints), summaries
        for start, summary in zip(sorted(complaints), summaries, strict=True):
            assert summary.startswith(start), (start, summary)
        assert not any(s.startswith(p) for s in summaries for p in praise)
        table = CliRunner().invoke(cli, ["sources", "--config", str(cfg)])
        assert table.exit_code == 0 and "gripewatch sources" in table.output
        shown = CliRunner().invoke(cli, ["sources", "--json", "--config", str(cfg)])
        health = [json.loads(line) for line in shown.output.splitlines() if line.strip()]
        assert [(h["source"], h["type"], h["status"]) for h in health] == [(f"acme-{kind}", kind, "ok")]
    finally:
        fake.stop()


def test_brand_replies_in_the_fixtures_record_the_first_response(tmp_path: Path) -> None:
    for kind in ("facebook", "instagram", "youtube"):
        keys, routes, _, _ = REPLAYS[kind]
        fake = FakeRecorded(routes).start()
        try:
            base = fake.base_url + ("/youtube/v3/" if kind == "youtube" else "")
            src = {"name": kind, "type": kind, "brand": "Acme", "base_url": base, "first_run_hours": EVER, **keys}
            settings = _settings(f"sqlite:///{tmp_path / f'{kind}.db'}", tmp_path, [src])
            database = open_database(settings.database.url)
            try:
                run_once(database, settings, Quiet())
                with database.sessions() as s:
                    answered = s.scalars(select(Case).where(Case.first_response_at.is_not(None))).all()
                    own = s.scalars(select(Mention).where(Mention.is_own.is_(True))).all()
                assert len(own) == 1 and len(answered) == 1, kind
                assert own[0].case_id == answered[0].id
            finally:
                database.dispose()
        finally:
            fake.stop()


def _settings(db_url: str, tmp_path: Path, sources: list[dict[str, Any]], **extra: Any) -> Any:
    data = {"database": {"url": db_url}, "brands": [BRAND], "sources": sources, "slack": {"mode": "console"}, **extra}
    return settings_from_dict(data, tmp_path / "config.yaml")


def test_a_low_rating_is_a_complaint_whatever_the_model_says_and_the_reason_says_so(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    fake = FakeAppStore().start()
    try:
        fake.add("It's okay I guess, does the basics.", author="meh", extra={"rating": 2, "title": "Meh"})
        fake.add("Lovely app, works every time.", author="fan", extra={"rating": 5, "title": "Lovely"})
        src = {"name": "ios", "type": "appstore", "app_id": APP_ID, "base_url": fake.base_url, "brand": "Acme"}
        report = run_once(db, _settings(db_url, tmp_path, [src]), Quiet()).sources[0]
        assert report.stored == 2 and report.cases_opened == 1
        with db.sessions() as s:
            low = s.scalars(select(Mention).where(Mention.text.like("Meh%"))).one()
            high = s.scalars(select(Mention).where(Mention.text.like("Lovely%"))).one()
            assert low.is_complaint and low.case_id is not None
            assert low.analysis["rating"] == 2 and low.analysis["reasons"][0] == "rating 2★ ≤ 2"
            assert low.raw["im:version"]["label"] == "4.2.1" and low.raw["title"]["label"] == "Meh"
            assert not high.is_complaint and high.case_id is None and high.analysis["rating"] == 5
    finally:
        fake.stop()


def test_complaint_max_rating_is_the_sources_own(tmp_path: Path, db: Database, db_url: str) -> None:
    fake = FakeAppStore().start()
    try:
        fake.add("It's okay I guess, does the basics.", author="meh", extra={"rating": 2, "title": "Meh"})
        src = {
            "name": "ios",
            "type": "appstore",
            "app_id": APP_ID,
            "base_url": fake.base_url,
            "brand": "Acme",
            "complaint_max_rating": 1,
        }
        report = run_once(db, _settings(db_url, tmp_path, [src]), Quiet()).sources[0]
        assert report.stored == 1 and report.cases_opened == 0
    finally:
        fake.stop()
