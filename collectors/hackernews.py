"""Hacker News stories and comments, through the Algolia search API (no credentials).

``search_by_date`` lists newest first; the cursor is the ``created_at_i`` of
the newest item collected (plus the ids at that second), so each run asks only
for ``created_at_i >= mark`` and pages until it reaches items it has.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from pydantic import Field

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Page, get_json, newest_first, parse_time
from gripewatch.config import SourceConfig

API = "https://hn.algolia.com/api/v1/"
_TAG = re.compile(r"<[^>]+>")


class HackerNewsOptions(NetworkOptions):
    query: str = Field(min_length=1)
    tags: Literal["story", "comment", "(story,comment)"] = "(story,comment)"
    requests_per_15min: int = Field(900, ge=1)  # Algolia allows 10,000 requests per hour per IP
    page_size: int = Field(100, ge=1, le=1000)


class HackerNewsCollector:
    Options = HackerNewsOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: HackerNewsOptions = source.options
        self.edge = Edge(source.name, self.opts)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"mark": int(since.timestamp()) - 1, "at_mark": []}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        if not cursor:
            cursor = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        base = (self.opts.base_url or API).rstrip("/") + "/"
        headers = {"User-Agent": self.opts.user_agent}
        with httpx.Client(base_url=base, timeout=self.opts.timeout_seconds, headers=headers) as http:

            def fetch(mark: int | None, token: str | None) -> tuple[list[Any], str | None]:
                params: dict[str, Any] = {
                    "query": self.opts.query,
                    "tags": self.opts.tags,
                    "hitsPerPage": self.opts.page_size,
                    "page": int(token or 0),
                }
                if mark is not None:
                    params["numericFilters"] = f"created_at_i>={mark}"
                body = self.edge.call("search_by_date", get_json, http, "search_by_date", params)
                hits = body.get("hits") or []
                page, pages = int(body.get("page", 0)), int(body.get("nbPages", 0))
                return hits, (str(page + 1) if page + 1 < pages else None)

            yield from newest_first(cursor, fetch, lambda h: int(h["created_at_i"]), _ident, self._mention)

    def _mention(self, hit: dict[str, Any]) -> Mention:
        title = hit.get("title") or hit.get("story_title") if "story" in hit.get("_tags", []) else None
        body = hit.get("comment_text") or hit.get("story_text") or ""
        text = "\n".join(p for p in (title, _plain(body)) if p)
        if not text.strip():
            raise ValueError("no title or text")
        oid = _ident(hit)
        parent = hit.get("parent_id")
        return Mention(
            platform="hackernews",
            external_id=oid,
            text=text,
            created_at=parse_time(hit.get("created_at") or hit["created_at_i"]),
            url=f"https://news.ycombinator.com/item?id={oid}",
            author_key=(hit.get("author") or "").lower() or None,
            author_handle=hit.get("author"),
            conversation_id=str(hit["story_id"]) if hit.get("story_id") else oid,
            in_reply_to=str(parent) if parent else None,
            raw=hit,
        )


def _ident(hit: dict[str, Any]) -> str:
    oid = hit["objectID"]
    if not isinstance(oid, str | int) or not str(oid):
        raise ValueError("objectID missing")
    return str(oid)


def _plain(fragment: str) -> str:
    return html.unescape(_TAG.sub(" ", fragment.replace("<p>", "\n"))).strip()
