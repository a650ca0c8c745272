"""Facebook: visitors' posts on the brand's Page and every comment on the Page's posts (Meta Graph API).

Each run (all through :mod:`~gripewatch.collectors.metagraph`):

1. **Re-check** what was collected in the last ``recheck_hours``, 50 items per batch request: an
   item Graph no longer has (404, or code 100/33) or that the Page hid (``is_hidden``) is passed
   on as deleted; a changed ``message`` as an edit.
2. **Feed**: ``/{page-id}/feed`` since the window start (``since``; ``posts_lookback_days``
   after the first run), paged with ``after`` cursors. Visitors' posts are mentions; the Page's
   own posts are only watched for comments.
3. **Comments** of each post whose ``updated_time`` moved (a new comment moves it): the
   ``/{post-id}/comments`` stream (replies included), newest first, down to that post's watermark.

The cursor keeps each watched post's watermark, so a restart has no gap and no duplicate; the
Page's own replies (``from.id`` is the Page) are recognised as the brand's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from gripewatch.collectors.base import Edge, Mention, Page, Rejected, parse_time
from gripewatch.collectors.bounds import watermark
from gripewatch.collectors.metagraph import Graph, GraphOptions, newer_than, recheck_recent, remember
from gripewatch.config import SourceConfig

POST_FIELDS = "id,message,created_time,updated_time,from{id,name},permalink_url,is_hidden"
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url,is_hidden"


class FacebookOptions(GraphOptions):
    page_id: str = Field(min_length=1, pattern=r"^\d+$")


class FacebookCollector:
    Options = FacebookOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: FacebookOptions = source.options
        self.edge = Edge(source.name, self.opts)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"since": since.timestamp()}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        now = self.edge.now()
        state = copy.deepcopy(cursor) or self.backfill_cursor(now - timedelta(hours=self.opts.first_run_hours))
        graph = Graph(self.edge, self.opts)
        try:
            yield from self._recheck(graph, state, now)
            yield from self._feed(graph, state, now)
        finally:
            graph.close()

    # ------------------------------------------------------------ 1. edits and deletions

    def _recheck(self, graph: Graph, state: dict[str, Any], now: datetime) -> Iterator[Page]:
        horizon = (now - timedelta(hours=self.opts.recheck_hours)).timestamp()
        fields = {"p": POST_FIELDS, "c": COMMENT_FIELDS}
        text = {"p": "message", "c": "message"}
        changed = recheck_recent(graph, state, horizon, fields, text, "is_hidden", self._mention, _gone)
        if changed:
            yield Page(changed, copy.deepcopy(state))

    # ------------------------------------------------------------ 2. posts, 3. comments

    def _feed(self, graph: Graph, state: dict[str, Any], now: datetime) -> Iterator[Page]:
        first = "posts" not in state  # the first run (or a backfill) reads from its start, later ones a window
        posts: dict[str, Any] = state.setdefault("posts", {})
        since = state["since"] if first else max(state["since"], (now - self.lookback).timestamp())
        listed: list[dict[str, Any]] = []
        params = {"fields": POST_FIELDS, "since": int(since), "limit": self.opts.page_size}
        for page in graph.pages(f"{self.opts.page_id}/feed", params):
            listed += page
        mentions, rejected, changed = [], [], False
        for raw in reversed(listed):  # oldest first
            try:
                pid, t = str(raw["id"]), watermark(parse_time(raw["created_time"]))
            except (KeyError, TypeError, ValueError) as e:
                known = _id(raw)
                if known in posts:
                    continue
                rejected.append(Rejected(f"post without id/created_time: {e.__class__.__name__}", raw, known))
                if known is not None:  # remembered, so it is quarantined once, not on every run
                    posts[known] = {"t": now.timestamp(), "u": raw.get("updated_time"), "mark": None, "at": []}
                continue
            if pid in posts or t < since:  # known, or older than the window (Graph's since may go by updates)
                continue
            quiet = raw.get("updated_time") in (None, raw["created_time"])
            posts[pid] = {"t": t, "u": raw["created_time"] if quiet else None, "mark": None, "at": []}
            changed = True
            if _author(raw) == self.opts.page_id:
                continue  # the Page's own post: watched for comments, not a mention
            try:
                mentions.append(self._mention(raw, pid))
                self._remember(state, pid, t, raw, "p", pid)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                rejected.append(Rejected(f"post {pid}: {e.__class__.__name__}: {str(e)[:120]}", raw, pid))
        for pid in [p for p, v in posts.items() if v["t"] < since]:
            del posts[pid]
            changed = True
        if mentions or rejected or changed:
            yield Page(mentions, copy.deepcopy(state), rejected)
        for raw in reversed(listed):
            pid = str(raw.get("id"))
            if pid in posts and raw.get("updated_time") != posts[pid]["u"]:
                yield self._comments(graph, state, pid, raw.get("updated_time"))

    def _comments(self, graph: Graph, state: dict[str, Any], pid: str, updated: str | None) -> Page:
        watch = state["posts"][pid]
        params = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "reverse_chronological",
            "limit": self.opts.page_size,
        }
        items: list[Any] = []
        for page in graph.pages(f"{pid}/comments", params):
            items += page
            if watch["mark"] is not None and any(_older(c, watch["mark"]) for c in page):
                break  # newest first: the rest was collected before

        def new(cid: str, t: float, raw: dict[str, Any]) -> None:
            self._remember(state, cid, t, raw, "c", pid)

        mentions, rejected = newer_than(items, watch, "created_time", lambda raw: self._mention(raw, pid), new)
        watch["u"] = updated
        return Page(mentions, copy.deepcopy(state), rejected)

    # ------------------------------------------------------------ normalising

    def normalise(self, raw: dict[str, Any]) -> Mention:
        """One Graph post or comment, as kept in ``raw`` (a comment's id starts with its post's)."""
        oid = str(raw["id"])
        pid = oid if oid.startswith(f"{self.opts.page_id}_") else f"{self.opts.page_id}_{oid.split('_')[0]}"
        return self._mention(raw, pid)

    @property
    def lookback(self) -> timedelta:
        return timedelta(days=self.opts.posts_lookback_days)

    def _remember(self, state: dict[str, Any], oid: str, t: float, raw: dict[str, Any], kind: str, pid: str) -> None:
        if self.opts.recheck_hours > 0:
            remember(state, oid, t, raw.get("message"), kind, pid)

    def _mention(self, raw: dict[str, Any], pid: str, edited: bool = False) -> Mention:
        text = raw.get("message")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("no message (a photo or sticker only)")
        oid = str(raw["id"])
        who = raw.get("from") or {}
        parent = (raw.get("parent") or {}).get("id")
        return Mention(
            platform="facebook",
            external_id=oid,
            text=text,
            created_at=parse_time(raw["created_time"]),
            url=raw.get("permalink_url") or f"https://www.facebook.com/{oid}",
            author_key=str(who["id"]) if who.get("id") else None,
            author_handle=who.get("name"),
            author_name=who.get("name"),
            conversation_id=pid,
            in_reply_to=None if oid == pid else str(parent or pid),
            raw=raw,
            is_own=str(who.get("id")) == self.opts.page_id,
            edited=edited,
            deleted=bool(raw.get("is_hidden")),
        )


def _gone(oid: str, t: float, pid: str) -> Mention:
    return Mention(
        platform="facebook",
        external_id=oid,
        text="",
        created_at=parse_time(t),
        conversation_id=pid,
        deleted=True,
    )


def _author(raw: dict[str, Any]) -> str | None:
    who = raw.get("from")
    return str(who["id"]) if isinstance(who, dict) and who.get("id") else None


def _older(raw: Any, mark: float) -> bool:
    try:
        return bool(parse_time(raw["created_time"]).timestamp() <= mark)
    except (KeyError, TypeError, ValueError):
        return False


def _id(raw: Any) -> str | None:
    return str(raw["id"]) if isinstance(raw, dict) and raw.get("id") else None
