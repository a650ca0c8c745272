"""X and Reddit collectors with the real tweepy and praw against recorded real API traffic (../shared/fixtures)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import vcr
from vcr.serialize import deserialize

from gripewatch.collectors import REGISTRY
from gripewatch.config import settings_from_dict
from gripewatch.errors import SourceError
from tests.conftest import require_shared

PLACEHOLDERS = {
    "<TEST_SUBREDDIT>": "gripewatchtest",
    "<USER_AGENT>": "gripewatch-tests",
    "<BASIC_AUTH>": "Basic cGxhY2Vob2xkZXI6cGxhY2Vob2xkZXI=",
    "<ACCESS_TOKEN>": "placeholder-token",
}


class PlaceholderPersister:
    """Load a cassette, substituting the recording's placeholders first (never writes)."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> Any:
        text = Path(cassette_path).read_text(encoding="utf-8")
        for k, v in PLACEHOLDERS.items():
            text = text.replace(k, v)
        return deserialize(text, serializer)

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        raise AssertionError("recordings are read-only")


class JsonSerializer:
    @staticmethod
    def deserialize(text: str) -> Any:
        return json.loads(text)

    @staticmethod
    def serialize(data: Any) -> str:
        return json.dumps(data)


def _collector(entry: dict[str, Any], tmp_path: Path) -> Any:
    settings = settings_from_dict({"sources": [{"name": "rec", **entry}]}, tmp_path / "config.yaml")
    return REGISTRY[entry["type"]](settings.sources[0], settings.brands)


def test_x_recent_search_from_a_real_recording(tmp_path: Path) -> None:
    shared = require_shared()
    rec = vcr.VCR(record_mode="none", decode_compressed_response=True, match_on=["method", "scheme", "host", "path"])
    collector = _collector({"type": "x", "bearer_token": "recorded", "query": "Tweepy", "page_size": 10}, tmp_path)
    with rec.use_cassette(str(shared / "fixtures/tweepy/test_client_search_recent_tweets.yaml")):
        page = next(collector.collect({"mark": 1}))
    assert len(page.mentions) == 10 and not page.skipped
    m = page.mentions[0]
    assert m.platform == "x" and m.text and m.created_at.year >= 2021  # from the snowflake id: not requested
    assert page.cursor["next"] and page.cursor["top"] == max(int(x.external_id) for x in page.mentions)


def test_reddit_stream_from_real_recordings_pauses_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = require_shared()
    monkeypatch.setattr(time, "sleep", lambda s: None)
    rec = vcr.VCR(
        record_mode="none",
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path", "query"],
    )
    rec.register_persister(PlaceholderPersister)
    rec.register_serializer("prawjson", JsonSerializer)
    entry = {
        "type": "reddit",
        "client_id": "placeholder",
        "client_secret": "placeholder",
        "subreddits": ["kakapo"],
        "streams": ["comments"],
        "filter_keywords": False,
    }
    collector = _collector(entry, tmp_path)
    collector.edge.sleep = lambda s: None
    path = shared / "fixtures/praw/TestSubredditStreams.test_comments__with_pause.json"
    with rec.use_cassette(str(path), serializer="prawjson", allow_playback_repeats=True):
        pages = list(collector.collect({}))
    mentions = [m for p in pages for m in p.mentions]
    assert len(mentions) == 16 and len({m.external_id for m in mentions}) == 16
    assert all(m.external_id.startswith("t1_") and m.platform == "reddit" for m in mentions)
    assert mentions == sorted(mentions, key=lambda m: m.created_at)  # oldest first, as the stream yields
    assert pages[-1].cursor == {"comments": mentions[-1].external_id}

    # resume from a stored fullname: exactly the comments recorded after it, nothing before
    entry.update(subreddits=[PLACEHOLDERS["<TEST_SUBREDDIT>"]], page_size=1, max_retries=0)
    collector = _collector(entry, tmp_path)
    collector.edge.sleep = lambda s: None
    path = shared / "fixtures/praw/TestSubredditStreams.test_comments__with_continue_after_id.json"
    recorded = json.loads(json.loads(path.read_text())["interactions"][2]["response"]["body"]["string"])
    expected = {c["data"]["name"] for c in recorded["data"]["children"]}
    got: list[str] = []
    with rec.use_cassette(str(path), serializer="prawjson"), pytest.raises(SourceError):
        for page in collector.collect({"comments": "t1_k3v0jp3"}):  # the recording ends after that listing
            got += [m.external_id for m in page.mentions]
            assert page.cursor["comments"] == got[-1]
    assert set(got) == expected and "t1_k3v0jp3" not in got
