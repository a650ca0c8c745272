"""Instagram: comments on the business account's media, and media it is tagged in (Graph API).

Each run (all through :mod:`~gripewatch.collectors.metagraph`):

1. **Re-check** comments and tagged media collected in the last ``recheck_hours`` (batch
   requests): gone (404, code 100/33) or ``hidden`` → deleted; a changed caption → edited
   (Instagram comments themselves cannot be edited).
2. **Media**: ``/{ig-user-id}/media`` since the window start; each media whose
   ``comments_count`` changed is read again: ``/{media-id}/comments`` with their ``replies``, and
   what is above the media's watermark is new. The account's own comments (``from.id`` is the
   account, or its username) are the brand's replies.
3. **Mentions** (``mentions: true``): ``/{ig-user-id}/tags``, the media others tagged the brand
   in, newest first down to the watermark.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from gripewatch.collectors.base import Edge, Mention, Page, newest_first, parse_time
from gripewatch.collectors.bounds import watermark
from gripewatch.collectors.metagraph import Graph, GraphOptions, newer_than, recheck_recent, remember
from gripewatch.config import SourceConfig

MEDIA_FIELDS = "id,caption,timestamp,permalink,username,comments_count"
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},hidden,parent_id,like_count,media{id}"
TAG_FIELDS = "id,caption,timestamp,permalink,username"


class InstagramOptions(GraphOptions):
    ig_user_id: str = Field(min_length=1, pattern=r"^\d+$")  # the Instagram business account's id
    mentions: bool = True  # also the media the account is tagged in


class InstagramCollector:
    Options = InstagramOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: InstagramOptions = source.options
        self.edge = Edge(source.name, self.opts)
        self.username: str | None = None  # the account's own username, from its media
        self.permalinks: dict[str, str] = {}

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"since": since.timestamp()}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        now = self.edge.now()
        state = copy.deepcopy(cursor) or self.backfill_cursor(now - timedelta(hours=self.opts.first_run_hours))
        graph = Graph(self.edge, self.opts)
        try:
            horizon = (now - timedelta(hours=self.opts.recheck_hours)).timestamp()
            fields = {"c": COMMENT_FIELDS, "t": TAG_FIELDS}
            text = {"c": "text", "t": "caption"}
            changed = recheck_recent(graph, state, horizon, fields, text, "hidden", self._recheck_mention, _gone)
            if changed:
                yield Page(changed, copy.deepcopy(state))
            yield from self._media(graph, state, now)
            if self.opts.mentions:
                yield from self._tags(graph, state)
        finally:
            graph.close()

    def _media(self, graph: Graph, state: dict[str, Any], now: datetime) -> Iterator[Page]:
        first = "media" not in state
        media: dict[str, Any] = state.setdefault("media", {})
        lookback = (now - timedelta(days=self.opts.posts_lookback_days)).timestamp()
        since = state["since"] if first else max(state["since"], lookback)
        listed: list[dict[str, Any]] = []
        params = {"fields": MEDIA_FIELDS, "since": int(since), "limit": self.opts.page_size}
        for page in graph.pages(f"{self.opts.ig_user_id}/media", params):
            listed += [m for m in page if isinstance(m, dict) and m.get("id")]
        changed = False
        for m in listed:
            mid = str(m["id"])
            self.username = self.username or m.get("username")
            if m.get("permalink"):
                self.permalinks[mid] = m["permalink"]
            if mid not in media:
                try:
                    t = watermark(parse_time(m["timestamp"]))
                except (KeyError, TypeError, ValueError):
                    t = since
                if t < since:
                    continue
                media[mid] = {"t": t, "n": 0 if m.get("comments_count") == 0 else None, "mark": None, "at": []}
                changed = True
        for mid in [k for k, v in media.items() if v["t"] < since]:
            del media[mid]
            changed = True
        todo = [
            m for m in reversed(listed) if str(m["id"]) in media and m.get("comments_count") != media[str(m["id"])]["n"]
        ]
        if changed and not todo:
            yield Page([], copy.deepcopy(state))
        for m in todo:  # the first page's cursor carries the media registered above
            yield self._comments(graph, state, str(m["id"]), m.get("comments_count"))

    def _comments(self, graph: Graph, state: dict[str, Any], mid: str, count: Any) -> Page:
        watch = state["media"][mid]
        params = {"fields": f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}", "limit": self.opts.page_size}
        items: list[Any] = []
        for page in graph.pages(f"{mid}/comments", params):
            for c in page:
                items.append(c)
                replies = (c.get("replies") or {}).get("data") if isinstance(c, dict) else None
                for r in replies or []:
                    items.append({"parent_id": c.get("id"), **r} if isinstance(r, dict) else r)

        def new(cid: str, t: float, raw: dict[str, Any]) -> None:
            if self.opts.recheck_hours > 0:
                remember(state, cid, t, raw.get("text"), "c", mid)

        mentions, rejected = newer_than(items, watch, "timestamp", lambda raw: self._comment(raw, mid), new)
        watch["n"] = count
        return Page(mentions, copy.deepcopy(state), rejected)

    def _tags(self, graph: Graph, state: dict[str, Any]) -> Iterator[Page]:
        def fetch(mark: float | None, token: str | None) -> tuple[list[Any], str | None]:
            params: dict[str, Any] = {"fields": TAG_FIELDS, "limit": self.opts.page_size}
            if token:
                params["after"] = token
            body = graph.get(f"{self.opts.ig_user_id}/tags", params)
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after") if paging.get("next") else None
            return list(body.get("data") or []), after

        sub = state.get("tags") or {"mark": state["since"], "at_mark": []}
        for page in newest_first(
            sub, fetch, lambda m: watermark(parse_time(m["timestamp"])), lambda m: str(m["id"]), self._tagged
        ):
            state["tags"] = page.cursor
            for m in page.mentions:
                if self.opts.recheck_hours > 0:
                    remember(state, m.external_id, m.created_at.timestamp(), m.text, "t", m.external_id)
            yield Page(page.mentions, copy.deepcopy(state), page.skipped)

    # ------------------------------------------------------------ normalising

    def normalise(self, raw: dict[str, Any]) -> Mention:
        """One Graph comment or tagged media, as kept in ``raw``."""
        if "caption" in raw:
            return self._tagged(raw)
        media = (raw.get("media") or {}).get("id")
        return self._comment(raw, str(media) if media else None)

    def _recheck_mention(self, raw: dict[str, Any], container: str, edited: bool) -> Mention:
        m = self._tagged(raw) if "caption" in raw else self._comment(raw, container)
        return dataclasses.replace(m, edited=edited)

    def _comment(self, raw: dict[str, Any], mid: str | None) -> Mention:
        text = raw["text"]
        if not isinstance(text, str) or not text.strip():
            raise ValueError("no text")
        who = raw.get("from") or {}
        username = raw.get("username") or who.get("username")
        own = str(who.get("id")) == self.opts.ig_user_id or (
            bool(username) and bool(self.username) and str(username).lower() == str(self.username).lower()
        )
        return Mention(
            platform="instagram",
            external_id=str(raw["id"]),
            text=text,
            created_at=parse_time(raw["timestamp"]),
            url=self.permalinks.get(mid) if mid else None,
            author_key=str(who["id"]) if who.get("id") else (username or "").lower() or None,
            author_handle=username,
            conversation_id=mid,
            in_reply_to=str(raw["parent_id"]) if raw.get("parent_id") else mid,
            raw=raw,
            is_own=own,
            deleted=bool(raw.get("hidden")),
        )

    def _tagged(self, raw: dict[str, Any]) -> Mention:
        text = raw.get("caption")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("no caption")
        mid = str(raw["id"])
        return Mention(
            platform="instagram",
            external_id=mid,
            text=text,
            created_at=parse_time(raw["timestamp"]),
            url=raw.get("permalink"),
            author_key=(raw.get("username") or "").lower() or None,
            author_handle=raw.get("username"),
            conversation_id=mid,
            raw=raw,
        )


def _gone(oid: str, t: float, container: str) -> Mention:
    return Mention(platform="instagram", external_id=oid, text="", created_at=parse_time(t), deleted=True)
