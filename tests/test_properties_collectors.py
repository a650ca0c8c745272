"""Property (a): every collector's normalisation of one item, in its platform's shape with random
strings, dates and numbers (and random JSON where an object is expected), gives a Mention within
bounds or a Rejected with a reason — never an exception.

Run as the pipeline runs it: ``bounds.normalised(collector.normalise, item)``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from gripewatch.collectors import REGISTRY
from gripewatch.collectors.base import Mention, Rejected
from gripewatch.collectors.bounds import EPOCH, INT64_MAX, LIMITS, TEXT_FIELDS, normalised
from gripewatch.config import settings_from_dict

BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}
ENTRIES: dict[str, dict[str, Any]] = {
    "replay": {"type": "replay", "path": "m.jsonl"},
    "x": {"type": "x", "bearer_token": "t"},
    "reddit": {"type": "reddit", "client_id": "c", "client_secret": "s", "subreddits": ["acme"]},
    "mastodon": {"type": "mastodon", "instance": "fake.social", "hashtags": ["acme"]},
    "bluesky": {"type": "bluesky", "handle": "h.bsky.social", "app_password": "p", "query": "acme"},
    "hackernews": {"type": "hackernews", "query": "acme"},
    "rss": {"type": "rss", "url": "http://127.0.0.1/feed"},
}
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# ------------------------------------------------------------------ values

CHARS = st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cs", "Cf", "M"])
TEXT = st.text(CHARS, max_size=40) | st.sampled_from(["", " ", "acme", "<!here>", "a\x00b", "\ud800", "x" * 300])
WILD = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3),
    max_leaves=8,
)
NUMBER = st.one_of(
    st.integers(0, 1_790_000_000),  # plausible epochs and counts
    st.floats(0, 1.79e9),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.just(10**30),
    st.sampled_from(["12", "1e30", "x"]),
)
PLAUSIBLE = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1))
DATE = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)).map(
        datetime.isoformat
    ),
    PLAUSIBLE.map(lambda d: d.isoformat() + "Z"),
    PLAUSIBLE.map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    PLAUSIBLE.map(lambda d: d.timestamp()),
    NUMBER,
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-05:00",
            "Infinity",
            "NaN",
            "1e30",
            "9" * 400,
            "",
            "Tue Nov 10 10:00:00 +0000 2026",
            "2026-11-10 10:00",
            "10/11/2026",
            "Mon, 01 Jan 99999 00:00:00 GMT",
        ]
    ),
    TEXT,
)
ANY = TEXT | NUMBER | WILD


def obj(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    """An object in the platform's shape (every value possibly wrong), sometimes not an object at all."""
    return st.fixed_dictionaries(required, optional=optional) | WILD


SHAPES: dict[str, st.SearchStrategy[Any]] = {
    "replay": obj(
        {"id": TEXT | NUMBER, "text": TEXT, "created_at": DATE},
        {k: ANY for k in ("author", "url", "platform", "author_id", "author_name", "lang", "is_repost")}
        | {"followers": NUMBER, "conversation_id": ANY, "in_reply_to": ANY},
    ),
    "x": obj(
        {"id": st.integers(0, 2**70) | TEXT, "text": TEXT},
        {
            "created_at": DATE,
            "author_id": ANY,
            "lang": ANY,
            "conversation_id": ANY,
            "edit_history_tweet_ids": st.lists(ANY, max_size=3) | ANY,
            "referenced_tweets": st.lists(obj({"type": st.sampled_from(["replied_to", "retweeted"]), "id": ANY}, {}))
            | ANY,
            "_author": obj(
                {"username": TEXT},
                {"name": ANY, "public_metrics": obj({"followers_count": NUMBER}, {})},
            ),
        },
    ),
    "reddit": obj(
        {"name": st.sampled_from(["t1_abc", "t3_def"]) | TEXT, "created_utc": NUMBER | DATE, "body": TEXT | ANY},
        {
            "title": TEXT,
            "selftext": ANY,
            "permalink": ANY,
            "author": TEXT | st.none(),
            "author_fullname": ANY,
            "link_id": ANY,
            "parent_id": ANY,
            "edited": ANY,
            "removed_by_category": ANY,
        },
    ),
    "mastodon": obj(
        {
            "id": st.integers(0, 2**70) | TEXT,
            "content": TEXT.map(lambda t: f"<p>{t}</p>") | ANY,
            "created_at": DATE,
            "account": obj({"id": ANY, "acct": TEXT}, {"display_name": ANY, "followers_count": NUMBER}),
        },
        {
            "spoiler_text": ANY,
            "url": ANY,
            "uri": ANY,
            "language": ANY,
            "in_reply_to_id": ANY,
            "reblog": st.none() | obj({"content": ANY}, {}),
            "edited_at": ANY,
        },
    ),
    "bluesky": obj(
        {
            "uri": st.just("at://did:plc:abc/app.bsky.feed.post/3k") | TEXT,
            "indexedAt": DATE,
            "record": obj({"text": TEXT}, {"createdAt": DATE, "reply": ANY, "langs": st.lists(ANY) | ANY}),
            "author": obj({"did": ANY, "handle": TEXT}, {"displayName": ANY, "followersCount": NUMBER}),
        },
        {},
    ),
    "hackernews": obj(
        {"objectID": TEXT | NUMBER, "created_at_i": NUMBER},
        {
            "_tags": st.lists(st.sampled_from(["story", "comment"]), max_size=2) | ANY,
            "title": ANY,
            "story_title": ANY,
            "comment_text": TEXT | ANY,
            "story_text": ANY,
            "created_at": DATE,
            "author": ANY,
            "story_id": ANY,
            "parent_id": ANY,
        },
    ),
    "rss": obj(
        {"id": TEXT | ANY, "title": TEXT | ANY, "published": DATE},
        {"link": ANY, "summary": TEXT | ANY, "updated": DATE, "author": ANY},
    ),
}


AT = "2026-11-10T10:00:00Z"
#: One good item per platform, always tried first (the strategies reach both outcomes whatever they draw).
VALID: dict[str, Any] = {
    "replay": {"id": "1", "text": "acme", "created_at": AT},
    "x": {"id": "1", "text": "acme", "created_at": AT, "_author": {"username": "a"}},
    "reddit": {"name": "t1_a", "created_utc": 1763000000.0, "body": "acme"},
    "mastodon": {"id": "1", "content": "<p>acme</p>", "created_at": AT, "account": {"id": 1, "acct": "a"}},
    "bluesky": {
        "uri": "at://did:plc:a/app.bsky.feed.post/1",
        "indexedAt": AT,
        "record": {"text": "acme"},
        "author": {"did": "did:plc:a", "handle": "a"},
    },
    "hackernews": {"objectID": "1", "created_at_i": 1763000000, "comment_text": "acme"},
    "rss": {"id": "1", "title": "acme", "published": AT},
}


def build(kind: str, tmp_path: Path) -> Any:
    entry = {"name": f"{kind}-src", **ENTRIES[kind]}
    settings = settings_from_dict({"brands": [BRAND], "sources": [entry]}, tmp_path / "config.yaml")
    return REGISTRY[kind](settings.sources[0], settings.brands)


def assert_within_bounds(m: Mention, now: datetime) -> None:
    assert EPOCH <= m.created_at <= now + timedelta(days=1) and m.created_at.tzinfo is not None
    for name in TEXT_FIELDS:
        v = getattr(m, name)
        assert v is None or isinstance(v, str), name
        if v is not None:
            assert not UNSAFE.search(v), (name, v)
            assert len(v) <= LIMITS.get(name, len(v)), name
    assert m.external_id and isinstance(m.text, str) and m.platform
    assert m.author_followers is None or 0 <= m.author_followers <= INT64_MAX
    json.dumps(m.raw, allow_nan=False)  # what PostgreSQL's json accepts


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_property_normalisation_gives_a_bounded_mention_or_a_reason(kind: str, tmp_path: Path) -> None:
    collector = build(kind, tmp_path)
    seen = {"mention": 0, "rejected": 0}

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(item=SHAPES[kind])
    @example(item=VALID[kind])
    @example(item=None)
    def check(item: Any) -> None:
        now = datetime.now(UTC)
        out = normalised(collector.normalise, item, now=now)
        event("mention" if isinstance(out, Mention) else "rejected")  # --hypothesis-show-statistics
        if isinstance(out, Mention):
            seen["mention"] += 1
            assert_within_bounds(out, now)
        else:
            seen["rejected"] += 1
            assert isinstance(out, Rejected) and isinstance(out.reason, str) and out.reason
            json.dumps(out.raw, allow_nan=False)

    check()
    assert seen["mention"] and seen["rejected"], seen
    if os.environ.get("GRIPEWATCH_PROPERTY_COUNTS"):  # figures for docs/reliability.md
        with open(os.environ["GRIPEWATCH_PROPERTY_COUNTS"], "a", encoding="utf-8") as fh:
            fh.write(f"{kind} mention={seen['mention']} rejected={seen['rejected']}\n")
