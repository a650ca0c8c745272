"""Apple App Store customer reviews, from Apple's public customer-reviews feed (no credentials).

``{base_url}/{country}/rss/customerreviews/page={n}/id={app_id}/sortby=mostrecent/json`` lists a
storefront's 500 most recent reviews, newest first, 50 a page (at most 10 pages). Each country
has its own watermark (the ``updated`` time of the newest review collected, and the ids at that
instant) and the ids it has seen with their ``updated`` time, so a review its author rewrote
(same id, later ``updated``) is passed on as an edit.

Rating, app version, title and text are kept (``raw`` is the entry as Apple sends it; the title
leads the text); a review at or below ``complaint_max_rating`` stars is a complaint candidate
whatever the model says. The feed has no developer responses and does not say when a review is
removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Page, get_json, newest_first, parse_time
from gripewatch.collectors.bounds import watermark
from gripewatch.config import SourceConfig

API = "https://itunes.apple.com"
MAX_SEEN = 2000
_LAST = re.compile(r"/page=(\d+)/")
_COUNTRY = re.compile(r"itunes\.apple\.com/(\w\w)/")


class AppStoreOptions(NetworkOptions):
    app_id: str = Field(pattern=r"^\d+$")  # the number in the app's App Store URL (…/id389801252)
    countries: tuple[str, ...] = Field(("us",), min_length=1)  # storefronts, two-letter codes
    max_pages: int = Field(10, ge=1, le=10)  # Apple serves at most 10 pages of 50 per storefront
    complaint_max_rating: int = Field(2, ge=0, le=5)
    requests_per_15min: int = Field(60, ge=1)  # Apple publishes no limit; ~20 calls/min per IP is its known share


class AppStoreCollector:
    Options = AppStoreOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: AppStoreOptions = source.options
        self.edge = Edge(source.name, self.opts)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {c.lower(): {"mark": since.timestamp(), "at_mark": []} for c in self.opts.countries}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        start = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        state = {c: dict(cursor.get(c) or start[c]) for c in start}
        base = (self.opts.base_url or API).rstrip("/") + "/"
        headers = {"User-Agent": self.opts.user_agent}
        with httpx.Client(base_url=base, timeout=self.opts.timeout_seconds, headers=headers) as http:
            for country in state:
                yield from self._country(http, country, state)

    def _country(self, http: httpx.Client, country: str, state: dict[str, Any]) -> Iterator[Page]:
        seen: dict[str, str] = dict(state[country].get("seen") or {})

        def fetch(mark: float | None, token: str | None) -> tuple[list[Any], str | None]:
            page = int(token or 1)
            path = f"{country}/rss/customerreviews/page={page}/id={self.opts.app_id}/sortby=mostrecent/json"
            feed = self.edge.call("customerreviews", get_json, http, path).get("feed") or {}
            entries = feed.get("entry") or []
            entries = [entries] if isinstance(entries, dict) else list(entries)
            reviews = [e for e in entries if not (isinstance(e, dict) and "im:name" in e and "im:rating" not in e)]
            last = _last_page(feed)
            more = reviews and page < min(last, self.opts.max_pages)
            return reviews, str(page + 1) if more else None

        def normalise(entry: dict[str, Any]) -> Mention:
            return self._mention(entry, country, seen)

        key = lambda e: watermark(parse_time(e["updated"]["label"]))  # noqa: E731
        for page in newest_first(state[country], fetch, key, lambda e: str(e["id"]["label"]), normalise):
            for m in page.mentions:
                seen[m.external_id] = m.raw["updated"]["label"]
            seen = dict(list(seen.items())[-MAX_SEEN:])
            state[country] = {**page.cursor, "seen": seen} if seen else page.cursor
            yield Page(page.mentions, {**state}, page.skipped)

    def normalise(self, raw: dict[str, Any]) -> Mention:
        """One feed entry, as kept in ``raw`` (its storefront read from its link)."""
        href = ((raw.get("link") or {}).get("attributes") or {}).get("href") or ""
        m = _COUNTRY.search(href)
        return self._mention(raw, m.group(1) if m else self.opts.countries[0], {})

    def _mention(self, entry: dict[str, Any], country: str, seen: dict[str, str]) -> Mention:
        rid = str(entry["id"]["label"])
        title = _label(entry.get("title"))
        body = _label(entry.get("content"))
        text = "\n".join(p for p in (title, body) if p)
        if not text:
            raise ValueError("no title or text")
        rating = int(_label(entry.get("im:rating")) or "")
        if not 1 <= rating <= 5:
            raise ValueError(f"rating {rating} is not 1-5")
        author = entry.get("author") or {}
        uri = _label(author.get("uri"))
        updated = entry["updated"]["label"]
        return Mention(
            platform="appstore",
            external_id=rid,
            text=text,
            created_at=parse_time(updated),
            url=f"https://apps.apple.com/{country}/app/id{self.opts.app_id}?see-all=reviews",
            author_key=uri.rstrip("/").rsplit("/id", 1)[-1] if "/id" in uri else (_label(author.get("name")) or None),
            author_handle=_label(author.get("name")) or None,
            author_name=_label(author.get("name")) or None,
            conversation_id=rid,
            raw=entry,
            edited=rid in seen and seen[rid] != updated,
            rating=rating,
        )


def _label(node: Any) -> str:
    return str(node.get("label") or "").strip() if isinstance(node, dict) else ""


def _last_page(feed: dict[str, Any]) -> int:
    links = feed.get("link") or []
    for link in [links] if isinstance(links, dict) else links:
        attrs = (link or {}).get("attributes") or {}
        if attrs.get("rel") == "last":
            m = _LAST.search(attrs.get("href") or "")
            if m:
                return int(m.group(1))
    return 1
