"""The in-doubt look-ups of X and Reddit with the real clients: is a reply whose outcome is unknown
already on the platform? (Shared recordings where they exist, else fixtures written in their shape
in tests/recordings/.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import vcr

from gripewatch.collectors.posting import Outgoing, RedditPoster, XPoster
from gripewatch.config import settings_from_dict
from tests.test_collectors_recorded import JsonSerializer, PlaceholderPersister

HERE = Path(__file__).parent / "recordings"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_TEST_SECRET", "placeholder")
    monkeypatch.setattr(time, "sleep", lambda s: None)


def reply_settings(section: dict, tmp_path: Path):  # type: ignore[no-untyped-def]
    return settings_from_dict({"reply": {"enabled": True, **section}}, tmp_path / "config.yaml").reply


X = {"x": {k: "${GW_TEST_SECRET}" for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}}
TWEEPY = vcr.VCR(record_mode="none", decode_compressed_response=True, match_on=["method", "scheme", "host", "path"])


def test_x_finds_a_reply_already_posted_among_the_accounts_recent_tweets(tmp_path: Path) -> None:
    poster = XPoster(reply_settings(X, tmp_path))
    with TWEEPY.use_cassette(str(HERE / "x_own_recent_tweets.yaml"), allow_playback_repeats=True):
        found = poster.find(Outgoing("k", "Sorry about this, Dana", True, "1455953449422516226"))
        assert found is not None and found.external_id == "1585900000000000002"
        assert found.url == "https://x.com/i/web/status/1585900000000000002"
        assert poster.find(Outgoing("k", "Sorry about this, Dana", True, "999")) is None  # another post's reply
        assert poster.find(Outgoing("k", "Something else", True, "1455953449422516226")) is None


def test_x_finds_a_direct_message_already_sent_in_the_conversation(tmp_path: Path, shared: Path) -> None:
    poster = XPoster(reply_settings(X, tmp_path))
    cassette = shared / "fixtures/tweepy/test_manage_and_lookup_direct_messages.yaml"
    with TWEEPY.use_cassette(str(cassette), allow_playback_repeats=True):
        found = poster.find(Outgoing("k", "Testing 1", False, "1", author_key="750362064426721281"))
        assert found is not None and found.external_id == "1585800613253812228"
        assert poster.find(Outgoing("k", "Never sent", False, "1", author_key="750362064426721281")) is None


def test_reddit_finds_a_reply_already_posted_among_the_accounts_comments(tmp_path: Path) -> None:
    section = {
        "reddit": {
            "client_id": "${GW_TEST_SECRET}",
            "client_secret": "${GW_TEST_SECRET}",
            "username": "acme_support",
            "password": "${GW_TEST_SECRET}",
        }
    }
    poster = RedditPoster(reply_settings(section, tmp_path))
    player = vcr.VCR(
        record_mode="none",
        decode_compressed_response=True,
        match_on=["method", "scheme", "host", "port", "path", "query"],
    )
    player.register_persister(PlaceholderPersister)
    player.register_serializer("prawjson", JsonSerializer)
    with player.use_cassette(
        str(HERE / "reddit_own_comments.json"), serializer="prawjson", allow_playback_repeats=True
    ):
        found = poster.find(Outgoing("k", "Sorry about this, Dana", True, "t1_d1616q2"))
        assert found is not None and found.external_id == "t1_d1680wu"
        assert found.url == "https://www.reddit.com/r/gripewatchtest/comments/4b1tfm/title/d1680wu/"
        assert poster.find(Outgoing("k", "Sorry about this, Dana", True, "t3_other")) is None
