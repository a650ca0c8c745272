"""One contract, every collector: each real client library against a loopback fake of its platform.

first run · resume with no gap and no duplicate · empty page · 429 with a reset
· 5xx then recovery · a malformed item passed on as Rejected (reason, raw, id), the rest kept
· and, where the platform has them, an edit, a deletion and the brand's own reply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from gripewatch.collectors import REGISTRY
from gripewatch.collectors.base import Mention, Page, Rejected
from gripewatch.config import settings_from_dict
from gripewatch.errors import RateLimited
from tests.fakes.appstore import APP_ID, FakeAppStore
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.facebook import PAGE_ID, FakeFacebook
from tests.fakes.googleplay import PACKAGE, TOKEN, FakeGooglePlay
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.instagram import IG_USER_ID, FakeInstagram
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.platform import FakePlatform
from tests.fakes.reddit import FakeReddit
from tests.fakes.rss import FakeFeed
from tests.fakes.x import FakeX
from tests.fakes.youtube import API_KEY, CHANNEL_ID, FakeYouTube

BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}


def _epoch(seconds: float) -> str:
    return str(int(time.time() + seconds))


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def _iso(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def _buc(owner: str, kind: str, seconds: float) -> dict[str, str]:
    """Meta's Business Use Case usage header: throttled, access back in N minutes."""
    usage = {"type": kind, "call_count": 100, "total_cputime": 12, "total_time": 14}
    usage["estimated_time_to_regain_access"] = max(1, round(seconds / 60))
    return {"x-business-use-case-usage": json.dumps({owner: [usage]})}


#: Platforms whose reset is given in coarser steps than 30 s (Meta: whole minutes).
SHORT_RESET = {"facebook": 60, "instagram": 60}
#: Which platforms tell about edits, deletions and the brand's own replies (the fake scripts them).
EDITS = {"facebook", "youtube", "appstore", "googleplay"}
DELETIONS = {"facebook", "instagram", "youtube"}
REPLIES = {"facebook", "instagram", "youtube", "googleplay"}
NEW = {"facebook", "instagram", "youtube", "appstore", "googleplay"}


# name → (fake class, source entry builder, 429 headers saying "reset in N seconds")
PLATFORMS: dict[str, tuple[type[FakePlatform], Callable[[Any], dict[str, Any]], Callable[[float], dict[str, str]]]] = {
    "x": (
        FakeX,
        lambda f: {"type": "x", "bearer_token": "test-bearer", "base_url": f.base_url, "page_size": 10},
        lambda s: {"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0", "x-rate-limit-reset": _epoch(s)},
    ),
    "reddit": (
        FakeReddit,
        lambda f: {
            "type": "reddit",
            "client_id": "cid",
            "client_secret": "csecret",
            "subreddits": ["acme"],
            "streams": ["comments"],
            "base_url": f.base_url,
            "page_size": 2,
        },
        lambda s: {"x-ratelimit-remaining": "0", "x-ratelimit-used": "100", "x-ratelimit-reset": str(int(s))},
    ),
    "mastodon": (
        FakeMastodon,
        lambda f: {"type": "mastodon", "instance": "fake.social", "hashtags": ["acme"], "base_url": f.base_url},
        lambda s: {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": _iso(s)},
    ),
    "bluesky": (
        FakeBluesky,
        lambda f: {
            "type": "bluesky",
            "handle": "searcher.bsky.social",
            "app_password": "app-pass-1234",
            "query": "acme",
            "base_url": f.base_url,
        },
        lambda s: {"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": _epoch(s)},
    ),
    "hackernews": (
        FakeHackerNews,
        lambda f: {"type": "hackernews", "query": "acme", "base_url": f.base_url + "/api/v1/"},
        lambda s: {"Retry-After": str(int(s))},
    ),
    "rss": (
        FakeFeed,
        lambda f: {"type": "rss", "url": f.url},
        lambda s: {"Retry-After": _http_date(s)},
    ),
    "facebook": (
        FakeFacebook,
        lambda f: {"type": "facebook", "page_id": PAGE_ID, "access_token": f.token, "base_url": f.base_url},
        lambda s: _buc(PAGE_ID, "pages", s),
    ),
    "instagram": (
        FakeInstagram,
        lambda f: {"type": "instagram", "ig_user_id": IG_USER_ID, "access_token": f.token, "base_url": f.base_url},
        lambda s: _buc(IG_USER_ID, "instagram", s),
    ),
    "appstore": (
        FakeAppStore,
        lambda f: {"type": "appstore", "app_id": APP_ID, "countries": ["us"], "base_url": f.base_url},
        lambda s: {"Retry-After": str(int(s))},
    ),
    "googleplay": (
        FakeGooglePlay,
        lambda f: {"type": "googleplay", "package_name": PACKAGE, "access_token": TOKEN, "base_url": f.base_url},
        lambda s: {"Retry-After": str(int(s))},
    ),
    "youtube": (
        FakeYouTube,
        lambda f: {
            "type": "youtube",
            "channel_id": CHANNEL_ID,
            "api_key": API_KEY,
            "base_url": f.base_url + "/youtube/v3/",
        },
        lambda s: {"Retry-After": str(int(s))},
    ),
}


class Harness:
    """A collector built from config like production, with its cursor stored after each page."""

    def __init__(self, kind: str, fake: FakePlatform, tmp_path: Path) -> None:
        self.fake = fake
        entry = {"name": f"{kind}-src", "brand": "Acme", **PLATFORMS[kind][1](fake)}
        settings = settings_from_dict({"brands": [BRAND], "sources": [entry]}, tmp_path / "config.yaml")
        self.source = settings.sources[0]
        self.collector = REGISTRY[kind](self.source, settings.brands)
        self.sleeps: list[float] = []
        self.collector.edge.sleep = self.sleeps.append
        self.cursor: dict[str, Any] = {}

    def run(self) -> tuple[list[str], list[Rejected]]:
        """One run: every page's mentions (ids) and skip reasons; the cursor is 'committed' per page."""
        mentions, skipped = self.run_mentions()
        return [m.external_id for m in mentions], skipped

    def run_mentions(self) -> tuple[list[Mention], list[Any]]:
        mentions: list[Mention] = []
        skipped: list[Any] = []
        pages: Iterator[Page] = self.collector.collect(dict(self.cursor))
        for page in pages:
            mentions += page.mentions
            skipped += page.skipped
            self.cursor = page.cursor
        return mentions, skipped


@pytest.fixture(params=sorted(PLATFORMS))
def harness(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setattr(time, "sleep", lambda s: None)  # praw's stream/retry pauses: never wait in tests
    fake = PLATFORMS[request.param][0]().start()
    h = Harness(request.param, fake, tmp_path)
    h.kind = request.param  # type: ignore[attr-defined]
    yield h
    fake.stop()


def test_first_run_collects_every_post_normalised(harness: Harness) -> None:
    for i in range(3):
        harness.fake.add(f"acme support ghosted me, day {i}", author=f"cust{i}")
    ids, skipped = harness.run()
    assert sorted(ids) == sorted(harness.fake.ids()) and not skipped
    m = next(iter(harness.collector.collect({})))
    sample = m.mentions[0]
    assert sample.text.startswith("acme support ghosted me") or "acme support ghosted me" in sample.text
    assert sample.created_at.tzinfo is not None and sample.raw and sample.author_handle


def test_resume_has_no_gap_and_no_duplicate(harness: Harness) -> None:
    for i in range(3):
        harness.fake.add(f"acme order {i} is late")
    first, _ = harness.run()
    new = [harness.fake.add(f"acme still waiting {i}") for i in range(3)]
    second, _ = harness.run()
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(harness.fake.ids())
    assert len(second) == len(new)


def test_an_interrupted_run_resumes_after_the_last_committed_page(harness: Harness) -> None:
    for i in range(5):
        harness.fake.add(f"acme refund {i} missing")
    pages = harness.collector.collect({})
    first = next(pages)  # the process dies after committing one page
    pages.close()
    harness.cursor = first.cursor
    rest, _ = harness.run()
    got = [m.external_id for m in first.mentions] + rest
    assert sorted(set(got)) == sorted(harness.fake.ids())
    assert len(got) == len(set(got)) or harness.kind == "rss"  # type: ignore[attr-defined]


def test_empty_page_yields_nothing_and_keeps_the_cursor(harness: Harness) -> None:
    ids, _ = harness.run()
    assert ids == []
    harness.fake.add("acme is fine today")
    harness.run()
    cursor = dict(harness.cursor)
    ids, skipped = harness.run()
    assert ids == [] and skipped == []
    assert harness.cursor == cursor


def test_429_waits_for_the_reset_then_continues(harness: Harness) -> None:
    harness.fake.add("acme charged me twice")
    short = SHORT_RESET.get(harness.kind, 30)  # type: ignore[attr-defined]
    harness.fake.fail_next(429, PLATFORMS[harness.kind][2](short))  # type: ignore[attr-defined]
    ids, _ = harness.run()
    assert ids == harness.fake.ids()
    assert len(harness.sleeps) == 1 and short * 2 / 3 <= harness.sleeps[0] <= short * 4 / 3, harness.sleeps


def test_429_with_a_distant_reset_stops_cleanly_and_resumes(harness: Harness) -> None:
    harness.fake.add("acme app crashes")
    harness.fake.fail_next(429, PLATFORMS[harness.kind][2](3600))  # type: ignore[attr-defined]
    with pytest.raises(RateLimited) as e:
        harness.run()
    assert e.value.reset_at is not None and e.value.reset_at > datetime.now(UTC) + timedelta(minutes=50)
    assert harness.sleeps == []  # did not sit on the budget
    ids, _ = harness.run()
    assert ids == harness.fake.ids()


def test_5xx_backs_off_then_recovers(harness: Harness) -> None:
    harness.fake.add("acme website down again")
    harness.fake.fail_next(503, times=1)
    ids, _ = harness.run()
    assert ids == harness.fake.ids()
    if harness.kind != "reddit":  # type: ignore[attr-defined]  # prawcore retries a 5xx itself first
        assert harness.sleeps == [harness.collector.edge.opts.backoff_seconds]


def test_persistent_5xx_is_a_source_error_after_retries(harness: Harness) -> None:
    from gripewatch.errors import SourceError

    harness.fake.add("acme")
    harness.fake.fail_next(500, times=50)
    with pytest.raises(SourceError):
        harness.run()
    assert len(harness.sleeps) == harness.collector.edge.opts.max_retries or harness.kind == "reddit"  # type: ignore[attr-defined]


def test_malformed_item_is_skipped_with_a_reason_and_the_rest_kept(harness: Harness) -> None:
    harness.fake.add("acme lost my parcel")
    harness.fake.add("acme broken item", malformed=True)
    harness.fake.add("acme refund please")
    ids, skipped = harness.run()
    assert sorted(ids) == sorted(harness.fake.ids()) and len(ids) == 2
    (bad,) = skipped  # passed on for the quarantine: the reason, the raw item, its id when it has one
    assert isinstance(bad, Rejected) and bad.reason and isinstance(bad.raw, dict) and bad.raw
    assert "acme broken item" in json.dumps(bad.raw) or harness.kind == "bluesky"  # type: ignore[attr-defined]  # (its text is what is missing)
    if harness.kind in ("reddit", "mastodon", "bluesky", "rss"):  # type: ignore[attr-defined]  # (X, HN: the id is what is missing)
        assert bad.external_id


def test_a_post_dated_in_the_future_is_rejected_and_does_not_block_later_posts(harness: Harness) -> None:
    """A broken date (the year 2999) must not become the source's watermark: posts after it still come."""
    harness.fake.add("acme lost my parcel")
    future = harness.fake.add("acme from the future", when=datetime(2999, 1, 1, tzinfo=UTC))
    harness.fake.add("acme refund please")
    first, skipped = harness.run()
    assert len(first) == 2 and skipped and all(isinstance(r, Rejected) and r.reason for r in skipped)
    harness.fake.add("acme still waiting")
    second, _ = harness.run()
    all_but_future = [i for i, p in zip(harness.fake.ids(), harness.fake.posts, strict=True) if p is not future]
    assert sorted(first + second) == sorted(all_but_future)


def test_an_edit_upstream_is_passed_on_as_an_edit(harness: Harness) -> None:
    if harness.kind not in EDITS:  # type: ignore[attr-defined]
        pytest.skip("the platform does not let posts be edited, or does not tell")
    post = harness.fake.add("acme delivery is late")
    harness.fake.add("acme app is fine")
    first, _ = harness.run()
    harness.fake.edit(post, "acme delivery is late and now the parcel is lost")
    again, skipped = harness.run_mentions()
    assert [(m.external_id, m.edited) for m in again] == [(first[0], True)] and not skipped
    assert "parcel is lost" in again[0].text
    assert harness.run()[0] == []  # told once


def test_a_deletion_upstream_is_passed_on_as_a_deletion(harness: Harness) -> None:
    if harness.kind not in DELETIONS:  # type: ignore[attr-defined]
        pytest.skip("the platform does not tell about deletions")
    gone = harness.fake.add("acme you are the worst")
    harness.fake.add("acme shipping question")
    first, _ = harness.run()
    harness.fake.delete(gone)
    again, _ = harness.run_mentions()
    assert [(m.external_id, m.deleted) for m in again] == [(first[0], True)]
    assert harness.run()[0] == []


def test_the_brands_own_reply_is_recognised(harness: Harness) -> None:
    if harness.kind not in REPLIES:  # type: ignore[attr-defined]
        pytest.skip("the platform has no replies from the brand")
    complaint = harness.fake.add("acme refund still missing")
    first, _ = harness.run()
    harness.fake.reply_as_brand(complaint, "Sorry about this, please DM us your order number")
    again, _ = harness.run_mentions()
    replies = [m for m in again if m.is_own]
    assert len(replies) == 1 and first[0] in (replies[0].in_reply_to, replies[0].conversation_id)
    assert "DM us" in replies[0].text
