"""Bluesky: ``app.bsky.feed.searchPosts`` (sort=latest) with a logged-in session (atproto).

Results come newest first with an opaque ``cursor``; the watermark is the
``indexedAt`` of the newest post collected (and the uris at that instant), so
each run asks only for posts ``since`` it. Posts are read from the raw JSON, so
one malformed post is skipped without losing its page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, SecretStr

from gripewatch.collectors.base import (
    Edge,
    Mention,
    NetworkOptions,
    Page,
    TransientError,
    http_error,
    newest_first,
    parse_time,
)
from gripewatch.config import SourceConfig
from gripewatch.errors import SourceError

API = "https://bsky.social/xrpc"


class BlueskyOptions(NetworkOptions):
    handle: str = Field(min_length=1)  # the account that searches (an app password is enough)
    app_password: SecretStr
    query: str = Field(min_length=1)
    lang: str | None = None
    requests_per_15min: int = Field(1500, ge=1)  # Bluesky: 3,000 requests per 5 min per IP
    page_size: int = Field(100, ge=1, le=100)

    def required_secrets(self) -> tuple[str, ...]:
        return ("app_password",)


class BlueskyCollector:
    Options = BlueskyOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: BlueskyOptions = source.options
        self.edge = Edge(source.name, self.opts, classify=_classify)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"mark": since.timestamp(), "at_mark": []}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        from atproto import Client  # heavy: imported only when a Bluesky source runs

        if not cursor:
            cursor = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        client = Client(base_url=self.opts.base_url or API)
        self.edge.call(
            "createSession",
            client.login,
            self.opts.handle,
            self.opts.app_password.get_secret_value(),
            fetch_bsky_profile=False,
        )

        def fetch(mark: float | None, token: str | None) -> tuple[list[Any], str | None]:
            params: dict[str, Any] = {"q": self.opts.query, "sort": "latest", "limit": self.opts.page_size}
            if mark is not None:
                params["since"] = (
                    datetime.fromtimestamp(mark, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                )
            if self.opts.lang:
                params["lang"] = self.opts.lang
            if token:
                params["cursor"] = token
            body = self.edge.call("searchPosts", _search, client, params)
            posts = body.get("posts") or []
            return posts, body.get("cursor")

        yield from newest_first(
            cursor, fetch, lambda p: parse_time(p["indexedAt"]).timestamp(), lambda p: str(p["uri"]), self._mention
        )

    def _mention(self, post: dict[str, Any]) -> Mention:
        record, author = post["record"], post["author"]
        text = record["text"]
        if not isinstance(text, str) or not text.strip():
            raise ValueError("no text")
        rkey = post["uri"].rsplit("/", 1)[-1]
        reply = record.get("reply") or {}
        langs = record.get("langs") or []
        return Mention(
            platform="bluesky",
            external_id=post["uri"],
            text=text,
            created_at=parse_time(record.get("createdAt") or post["indexedAt"]),
            url=f"https://bsky.app/profile/{author['handle']}/post/{rkey}",
            author_key=author["did"],
            author_handle=author["handle"],
            author_name=author.get("displayName") or None,
            author_followers=author.get("followersCount"),
            lang=langs[0] if langs else None,
            conversation_id=(reply.get("root") or {}).get("uri"),
            in_reply_to=(reply.get("parent") or {}).get("uri"),
            raw=post,
        )


def _search(client: Any, params: dict[str, Any]) -> dict[str, Any]:
    from atproto import models

    # the typed params model, but the raw JSON answer: one malformed post must not fail its page
    response = client.invoke_query("app.bsky.feed.searchPosts", params=models.AppBskyFeedSearchPosts.Params(**params))
    if not isinstance(response.content, dict):
        raise SourceError("searchPosts: response is not a JSON object")
    return response.content


def _classify(e: Exception) -> SourceError | None:
    from atproto_client import exceptions as at

    if isinstance(e, at.RequestErrorBase):
        r = e.response
        if r is None:
            return TransientError(f"Bluesky network: {e.__class__.__name__}: {str(e.__cause__ or e)[:200]}")
        return http_error(r.status_code, r.headers, "Bluesky: ")
    if isinstance(e, at.AtProtocolError):
        return SourceError(f"Bluesky: {e.__class__.__name__}: {str(e)[:200]}")
    return None
