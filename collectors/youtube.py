"""YouTube: comments on a channel's videos, with the YouTube Data API v3 (API key, httpx).

``commentThreads.list`` with ``allThreadsRelatedToChannelId`` lists threads newest first; the
watermark is the top-level comment's ``publishedAt`` (and the thread ids at that instant). A
thread's top-level comment and the replies that come with it are mentions; the channel's own
comments (``authorChannelId`` is the channel) are the brand's replies.

Threads collected in the last ``recheck_hours`` are read again, 50 ids per call: a thread that
is gone is a deletion (with its replies), a changed ``textOriginal`` an edit, a reply not seen
before is new (a reply to an older thread is only found this way).

Every call costs 1 quota unit of the project's daily quota (``quota_units_per_day``, 10,000 by
default); the request budget is that quota spread over the day's 96 quarter-hours, so a day's
polling never exceeds it. ``quotaExceeded`` stops the run until midnight Pacific Time, when
Google resets the quota.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, model_validator

from gripewatch.collectors.base import (
    Edge,
    Mention,
    NetworkOptions,
    Page,
    Rejected,
    TransientError,
    http_error,
    newest_first,
    parse_time,
    reset_from_headers,
)
from gripewatch.collectors.bounds import watermark
from gripewatch.config import SourceConfig
from gripewatch.errors import RateLimited, SourceError

API = "https://www.googleapis.com/youtube/v3/"
PACIFIC = ZoneInfo("America/Los_Angeles")
QUARTERS_PER_DAY = 96
MAX_RECENT = 1000


class YouTubeOptions(NetworkOptions):
    channel_id: str = Field(min_length=1)
    api_key: SecretStr
    quota_units_per_day: int = Field(10_000, ge=1)  # YouTube Data API default quota per project
    requests_per_15min: int = Field(104, ge=1)  # default: quota_units_per_day / 96 (1 unit per call)
    page_size: int = Field(100, ge=1, le=100)
    recheck_hours: float = Field(48.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _budget_from_quota(cls, data: Any) -> Any:
        if isinstance(data, dict) and "requests_per_15min" not in data:
            quota = data.get("quota_units_per_day", 10_000)
            if isinstance(quota, int) and quota >= 1:
                data = {**data, "requests_per_15min": max(1, quota // QUARTERS_PER_DAY)}
        return data

    def required_secrets(self) -> tuple[str, ...]:
        return ("api_key",)


class YouTubeCollector:
    Options = YouTubeOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: YouTubeOptions = source.options
        self.edge = Edge(source.name, self.opts, classify=self._classify)

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"mark": since.timestamp(), "at_mark": []}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        now = self.edge.now()
        state = copy.deepcopy(cursor) or self.backfill_cursor(now - timedelta(hours=self.opts.first_run_hours))
        base = (self.opts.base_url or API).rstrip("/") + "/"
        with httpx.Client(
            base_url=base, timeout=self.opts.timeout_seconds, headers={"User-Agent": self.opts.user_agent}
        ) as http:
            self.http = http
            yield from self._recheck(state, (now - timedelta(hours=self.opts.recheck_hours)).timestamp())
            yield from self._threads(state)

    # ------------------------------------------------------------ new threads

    def _threads(self, state: dict[str, Any]) -> Iterator[Page]:
        threads: dict[str, dict[str, Any]] = {}

        def fetch(mark: float | None, token: str | None) -> tuple[list[Any], str | None]:
            params = {
                "allThreadsRelatedToChannelId": self.opts.channel_id,
                "order": "time",
                "maxResults": self.opts.page_size,
            }
            if token:
                params["pageToken"] = token
            body = self._list(params)
            return list(body.get("items") or []), body.get("nextPageToken")

        def top(thread: dict[str, Any]) -> Mention:
            threads[str(thread["id"])] = thread
            return self._mention(thread["snippet"]["topLevelComment"], str(thread["id"]))

        key = lambda t: watermark(parse_time(t["snippet"]["topLevelComment"]["snippet"]["publishedAt"]))  # noqa: E731
        for page in newest_first(state, fetch, key, lambda t: str(t["id"]), top):
            recent = page.cursor.get("recent", {}) | state.get("recent", {})
            mentions, rejected = [], list(page.skipped)
            for m in page.mentions:
                thread = threads[m.external_id]
                mentions.append(m)
                for r in _replies(thread):
                    try:
                        mentions.append(self._mention(r, m.external_id))
                    except (KeyError, TypeError, ValueError, AttributeError) as e:
                        rejected.append(Rejected(f"reply {r.get('id')}: {e.__class__.__name__}: {e}", r, str(r["id"])))
                self._remember(recent, thread, m)
            state = {**page.cursor, "recent": recent} if recent else page.cursor
            yield Page(mentions, copy.deepcopy(state), rejected)

    # ------------------------------------------------------------ edits, deletions, late replies

    def _recheck(self, state: dict[str, Any], horizon: float) -> Iterator[Page]:
        recent = {k: v for k, v in state.get("recent", {}).items() if v[0] >= horizon}
        ids = sorted(recent, key=lambda k: recent[k][0])
        for i in range(0, len(ids), 50):
            chunk = ids[i : i + 50]
            found = {str(t["id"]): t for t in self._list({"id": ",".join(chunk)}).get("items") or [] if t.get("id")}
            out: list[Mention] = []
            for tid in chunk:
                t, old, known = recent[tid][0], recent[tid][1], recent[tid][2]
                thread = found.get(tid)
                if thread is None:
                    out += [_gone(x, t, tid) for x in [tid, *known]]
                    del recent[tid]
                    continue
                try:
                    head = thread["snippet"]["topLevelComment"]
                    if digest(head["snippet"].get("textOriginal")) != old:
                        out.append(self._mention(head, tid, edited=True))
                    replies = _replies(thread)
                    listed = {str(r["id"]): r for r in replies}
                    for rid, r in listed.items():
                        if rid not in known:
                            out.append(self._mention(r, tid))
                        elif digest(r["snippet"].get("textOriginal")) != known[rid]:
                            out.append(self._mention(r, tid, edited=True))
                    if len(listed) >= int(thread["snippet"].get("totalReplyCount", 0)):  # all replies listed
                        out += [_gone(rid, t, tid) for rid in known if rid not in listed]
                    recent[tid] = [t, digest(head["snippet"].get("textOriginal")), _digests(replies)]
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
            if out:
                state["recent"] = recent
                yield Page(out, copy.deepcopy(state))

    # ------------------------------------------------------------ HTTP and normalising

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        full = {
            "part": "snippet,replies",
            "textFormat": "plainText",
            "key": self.opts.api_key.get_secret_value(),
            **params,
        }
        return self.edge.call("commentThreads.list", _get, self.http, "commentThreads", full)

    def _remember(self, recent: dict[str, Any], thread: dict[str, Any], top: Mention) -> None:
        if self.opts.recheck_hours <= 0:
            return
        recent[top.external_id] = [top.created_at.timestamp(), digest(top.text), _digests(_replies(thread))]
        if len(recent) > MAX_RECENT:
            for k in sorted(recent, key=lambda k: recent[k][0])[: len(recent) - MAX_RECENT]:
                del recent[k]

    def normalise(self, raw: dict[str, Any]) -> Mention:
        """One commentThread (its top-level comment) or one comment, as kept in ``raw``."""
        if "topLevelComment" in (raw.get("snippet") or {}):
            return self._mention(raw["snippet"]["topLevelComment"], str(raw["id"]))
        return self._mention(raw, str(raw["snippet"].get("parentId") or raw["id"]))

    def _mention(self, comment: dict[str, Any], thread_id: str, edited: bool = False) -> Mention:
        s = comment["snippet"]
        text = s.get("textOriginal") or s.get("textDisplay")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("no text")
        author = (s.get("authorChannelId") or {}).get("value")
        cid = str(comment["id"])
        video = s.get("videoId")
        return Mention(
            platform="youtube",
            external_id=cid,
            text=text,
            created_at=parse_time(s["publishedAt"]),
            url=f"https://www.youtube.com/watch?v={video}&lc={cid}" if video else None,
            author_key=author,
            author_handle=s.get("authorDisplayName"),
            author_name=s.get("authorDisplayName"),
            conversation_id=thread_id,
            in_reply_to=s.get("parentId") or (None if cid == thread_id else thread_id),
            raw=comment,
            is_own=author == self.opts.channel_id,
            edited=edited,
        )

    def _classify(self, e: Exception) -> SourceError | None:
        if not isinstance(e, httpx.HTTPStatusError):
            return None
        r = e.response
        reasons = _reasons(r)
        if "quotaExceeded" in reasons:
            return RateLimited("YouTube: daily quota exceeded", next_quota_reset(self.edge.now()))
        if reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
            return RateLimited(f"YouTube: {', '.join(sorted(reasons))}", reset_from_headers(r.headers))
        err = http_error(r.status_code, r.headers, "YouTube: ")
        if isinstance(err, TransientError) or isinstance(err, RateLimited):
            return err
        return SourceError(f"YouTube: HTTP {r.status_code} {', '.join(sorted(reasons))}".strip())


def next_quota_reset(now: datetime) -> datetime:
    """Midnight Pacific Time after ``now``: when the YouTube Data API quota is reset."""
    local = now.astimezone(PACIFIC)
    return datetime.combine(local.date() + timedelta(days=1), time(0), PACIFIC)


def _get(http: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
    r = http.get(path, params=params)
    r.raise_for_status()
    try:
        body = r.json()
    except ValueError:
        raise SourceError(f"YouTube {path}: response is not JSON") from None
    if not isinstance(body, dict):
        raise SourceError(f"YouTube {path}: response is not a JSON object")
    return body


def _reasons(r: httpx.Response) -> set[str]:
    try:
        errors = r.json()["error"]["errors"]
        return {str(x.get("reason")) for x in errors if isinstance(x, dict)}
    except (ValueError, KeyError, TypeError):
        return set()


def _replies(thread: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in (thread.get("replies") or {}).get("comments") or [] if isinstance(r, dict) and r.get("id")]


def digest(text: Any) -> str:
    """A short fingerprint of a comment's text, kept in the cursor to notice edits."""
    return hashlib.sha1(str(text).encode()).hexdigest()[:12]


def _digests(replies: list[dict[str, Any]]) -> dict[str, str]:
    return {str(r["id"]): digest((r.get("snippet") or {}).get("textOriginal")) for r in replies}


def _gone(cid: str, t: float, thread_id: str) -> Mention:
    return Mention(
        platform="youtube", external_id=cid, text="", created_at=parse_time(t), conversation_id=thread_id, deleted=True
    )
