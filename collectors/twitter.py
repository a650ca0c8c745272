"""X (Twitter) API v2 through tweepy: recent search and the brand account's mentions.

``search`` (default) runs ``search_recent_tweets`` with a query built from the
brand's keywords and handles (its own replies included, so first responses are
recorded; retweets excluded unless asked); ``mentions`` reads the mentions
timeline of ``user_id``. Both page newest first with ``since_id`` as the
watermark (see :func:`collectors.base.newest_first`). Author expansions give
handle, name and followers. An edited tweet keeps the id of its first version
(``edit_history_tweet_ids[0]``), so the stored mention is updated in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr

from gripewatch.collectors.base import (
    Edge,
    Mention,
    NetworkOptions,
    Page,
    TransientError,
    newest_first,
    parse_time,
    reset_from_headers,
)
from gripewatch.config import SourceConfig
from gripewatch.errors import RateLimited, SourceError

TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "lang",
    "referenced_tweets",
    "public_metrics",
    "edit_history_tweet_ids",
]
USER_FIELDS = ["username", "name", "public_metrics", "verified"]
EXPANSIONS = ["author_id"]
TWEPOCH_MS = 1288834974657


class XOptions(NetworkOptions):
    bearer_token: SecretStr
    mode: Literal["search", "mentions"] = "search"
    query: str | None = None  # default: built from the brand's keywords and handles
    exclude: tuple[str, ...] = ()  # words/phrases excluded from the built query
    include_retweets: bool = False
    user_id: str | None = None  # the brand account's numeric id (mentions mode)
    requests_per_15min: int = Field(60, ge=1)  # recent search, Basic tier: 60 requests / 15 min
    page_size: int = Field(100, ge=10, le=100)

    def required_secrets(self) -> tuple[str, ...]:
        return ("bearer_token",)


class XCollector:
    Options = XOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: XOptions = source.options
        if self.opts.mode == "mentions" and not self.opts.user_id:
            raise SourceError(f"{source.name}: mode mentions needs user_id")
        self.query = self.opts.query or build_query(brands, source.brand, self.opts)
        self.edge = Edge(source.name, self.opts, classify=_classify, charge_calls=False)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        # recent search reaches back 7 days at most
        floor = datetime.now(UTC) - timedelta(days=7) + timedelta(minutes=1)
        return {"since": max(since, floor).isoformat()}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        if not cursor:
            cursor = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        import tweepy  # the client loads only when an X source runs

        client = tweepy.Client(bearer_token=self.opts.bearer_token.get_secret_value(), return_type=dict)
        # tweepy's host is fixed: the adapter charges the budget and applies the base URL override
        from gripewatch.collectors.adapter import EdgeAdapter

        client.session.mount("https://", EdgeAdapter(self.edge, "https://api.twitter.com", self.opts.base_url))
        since = cursor.get("since")

        def fetch(mark: int | None, token: str | None) -> tuple[list[Any], str | None]:
            kw: dict[str, Any] = {
                "max_results": self.opts.page_size,
                "expansions": EXPANSIONS,
                "tweet_fields": TWEET_FIELDS,
                "user_fields": USER_FIELDS,
            }
            if mark is not None:
                kw["since_id"] = mark
            elif since:
                kw["start_time"] = since
            if self.opts.mode == "mentions":
                if token:
                    kw["pagination_token"] = token
                body = self.edge.call("get_users_mentions", client.get_users_mentions, self.opts.user_id, **kw)
            else:
                if token:
                    kw["next_token"] = token
                body = self.edge.call("search_recent_tweets", client.search_recent_tweets, self.query, **kw)
            users = {u.get("id"): u for u in (body.get("includes") or {}).get("users", []) if isinstance(u, dict)}
            tweets = [{**t, "_author": users.get(t.get("author_id"))} for t in body.get("data") or []]
            return tweets, (body.get("meta") or {}).get("next_token")

        yield from newest_first(cursor, fetch, lambda t: int(t["id"]), lambda t: str(t["id"]), self._mention)

    def _mention(self, t: dict[str, Any]) -> Mention:
        author = t.pop("_author", None) or {}
        tid = str(t["id"])
        text = t["text"]
        if not isinstance(text, str):
            raise ValueError("no text")
        history = t.get("edit_history_tweet_ids") or [tid]
        refs = {r.get("type"): str(r.get("id")) for r in t.get("referenced_tweets") or []}
        handle = author.get("username")
        created = parse_time(t["created_at"]) if t.get("created_at") else snowflake_time(int(tid))
        return Mention(
            platform="x",
            external_id=str(history[0]),
            text=text,
            created_at=created,
            url=f"https://x.com/{handle or 'i/web'}/status/{tid}",
            author_key=str(t["author_id"]) if t.get("author_id") else None,
            author_handle=handle,
            author_name=author.get("name"),
            author_followers=(author.get("public_metrics") or {}).get("followers_count"),
            lang=t.get("lang"),
            conversation_id=t.get("conversation_id"),
            in_reply_to=refs.get("replied_to"),
            is_repost="retweeted" in refs,
            raw={**t, "includes": {"author": author}} if author else t,
            edited=len(history) > 1,
        )


def build_query(brands: Any, brand: str | None, opts: XOptions) -> str:
    """``(kw OR "two words" OR @Handle OR from:Handle) -is:retweet -excluded`` for the source's brand(s)."""
    terms: list[str] = []
    for b in brands:
        if brand is not None and b.name != brand:
            continue
        terms += [f'"{k}"' if " " in k else k for k in b.keywords]
        for h in b.handles.get("x", ()):
            h = h.lstrip("@")
            terms += [f"@{h}", f"from:{h}"]
    if not terms:
        raise SourceError("x source: no query and no brand keywords/handles to build one")
    query = "(" + " OR ".join(terms) + ")"
    if not opts.include_retweets:
        query += " -is:retweet"
    query += "".join(f' -"{w}"' if " " in w else f" -{w}" for w in opts.exclude)
    return query


def snowflake_time(tweet_id: int) -> datetime:
    """When a tweet was created, from its id (used when ``created_at`` was not requested)."""
    return datetime.fromtimestamp(((tweet_id >> 22) + TWEPOCH_MS) / 1000, UTC)


def _classify(e: Exception) -> SourceError | None:
    import tweepy

    if isinstance(e, tweepy.TooManyRequests):
        reset = getattr(e, "reset_time", None)
        at = datetime.fromtimestamp(reset, UTC) if reset else reset_from_headers(e.response.headers)
        return RateLimited("X API 429", at)
    if isinstance(e, tweepy.TwitterServerError):
        return TransientError(f"X API {e.response.status_code}")
    if isinstance(e, tweepy.HTTPException):
        return SourceError(f"X API {e.response.status_code}: {'; '.join(e.api_messages)[:200]}")
    return None
