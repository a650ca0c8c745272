"""RSS and Atom feeds: review sites, Google Alerts, status pages.

A conditional GET (``If-None-Match``/``If-Modified-Since`` from the stored
``etag``/``modified``) through the shared edge; a 304 means nothing new.
feedparser reads the body. The cursor keeps the ids of the entries the feed
listed last time, so only entries not seen before are stored; an entry whose
``updated`` time changed is passed on as an edit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Page, parse_time
from gripewatch.config import SourceConfig

_TAG = re.compile(r"<[^>]+>")
MAX_SEEN = 2000


class RssOptions(NetworkOptions):
    url: str = Field(min_length=1)
    platform: str = "rss"
    requests_per_15min: int = Field(15, ge=1)  # feeds: once a minute at most


class RssCollector:
    Options = RssOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: RssOptions = source.options
        self.edge = Edge(source.name, self.opts)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"since": since.isoformat()}  # a feed holds what it holds: every entry newer than since

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        url = self.opts.base_url or self.opts.url
        headers = {"User-Agent": self.opts.user_agent, "Accept": "application/rss+xml, application/atom+xml, */*"}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        with httpx.Client(timeout=self.opts.timeout_seconds, follow_redirects=True) as http:
            r = self.edge.call("feed", _fetch, http, url, headers)
        if r.status_code == 304:
            return
        import feedparser  # loads only when an RSS source runs

        feed = feedparser.parse(r.content, response_headers={"content-location": url, **dict(r.headers)})
        if feed.bozo and not feed.entries:
            from gripewatch.errors import SourceError

            raise SourceError(f"{url}: not a feed ({feed.bozo_exception.__class__.__name__})")
        seen: dict[str, str] = dict(cursor.get("seen") or {})
        since = parse_time(cursor["since"]) if cursor.get("since") else None
        mentions, skipped, listed = [], [], {}
        for i, entry in enumerate(feed.entries):
            eid = dict.get(entry, "id") or dict.get(entry, "link")
            if not eid:
                skipped.append(f"entry {i + 1}: no id or link")
                continue
            version = dict.get(entry, "updated") or dict.get(entry, "published") or ""
            listed[eid] = version
            if eid in seen and seen[eid] == version:
                continue
            try:
                m = self._mention(entry, eid, edited=eid in seen)
            except (ValueError, TypeError, KeyError) as e:
                skipped.append(f"entry {eid}: {e}")
                continue
            if since is not None and m.created_at < since and eid not in seen:
                continue
            mentions.append(m)
        # Remember what the feed lists now (plus recent history, bounded) so old entries are not re-stored.
        keep = {**seen, **listed}
        keep = dict(list(keep.items())[-MAX_SEEN:])
        new = {"etag": r.headers.get("etag"), "modified": r.headers.get("last-modified"), "seen": keep}
        yield Page(mentions, {k: v for k, v in new.items() if v}, skipped)

    def _mention(self, entry: Any, eid: str, edited: bool) -> Mention:
        title = dict.get(entry, "title") or ""
        summary = dict.get(entry, "summary") or ""
        text = "\n".join(p for p in (title.strip(), _plain(summary)) if p)
        if not text:
            raise ValueError("no title or summary")
        when = dict.get(entry, "published") or dict.get(entry, "updated")
        if not when:
            raise ValueError("no published or updated date")
        author = dict.get(entry, "author")
        return Mention(
            platform=self.opts.platform,
            external_id=eid,
            text=text,
            created_at=parse_time(when),
            url=dict.get(entry, "link"),
            author_key=author.lower() if author else None,
            author_handle=author,
            author_name=author,
            lang=(dict.get(entry, "language") or None),
            raw=_jsonable(dict(entry)),
            edited=edited,
        )


def _fetch(http: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    r = http.get(url, headers=headers)
    if r.status_code != 304:
        r.raise_for_status()
    return r


def _plain(fragment: str) -> str:
    return html.unescape(_TAG.sub(" ", fragment)).strip()


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items() if not str(k).endswith("_parsed")}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)
