"""Mastodon: hashtag timelines and full-text status search on one instance (Mastodon.py).

Both are paged upwards with ``min_id`` (the newest status id collected), so
each page's cursor is exact and a restart continues with no gap. The first run
starts at the newest page; ``backfill`` starts at an id derived from a date
(Mastodon ids are time-based).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr

if TYPE_CHECKING:
    from mastodon import Mastodon

from gripewatch.collectors.base import Edge, Mention, NetworkOptions, Page, TransientError, jsonable, parse_time
from gripewatch.config import SourceConfig
from gripewatch.errors import RateLimited, SourceError

_TAG = re.compile(r"<[^>]+>")


class MastodonOptions(NetworkOptions):
    instance: str = Field(min_length=1, description="e.g. mastodon.social")
    access_token: SecretStr | None = None  # needed for search; hashtag timelines are public
    hashtags: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    requests_per_15min: int = Field(300, ge=1)  # Mastodon default: 300 requests per 5 min per account
    page_size: int = Field(40, ge=1, le=40)

    def required_secrets(self) -> tuple[str, ...]:
        return ("access_token",) if self.search else ()


class MastodonCollector:
    Options = MastodonOptions
    backfill_order = "oldest_first"

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: MastodonOptions = source.options
        self.edge = Edge(source.name, self.opts, classify=self._classify)
        self.api: Mastodon | None = None

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        start = str(int(since.timestamp() * 1000) << 16)
        return {key: {"min_id": start} for key in self._streams()}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        if not cursor:
            cursor = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        base = self.opts.base_url or (
            self.opts.instance if "://" in self.opts.instance else f"https://{self.opts.instance}"
        )
        token = self.opts.access_token.get_secret_value() if self.opts.access_token else None
        from mastodon import Mastodon  # the client loads only when a Mastodon source runs

        self.api = Mastodon(
            access_token=token,
            api_base_url=base,
            ratelimit_method="throw",
            request_timeout=self.opts.timeout_seconds,
            user_agent=self.opts.user_agent,
        )
        state = {k: dict(v) for k, v in cursor.items()}
        for key, fetch in self._streams().items():
            while True:
                min_id = state.get(key, {}).get("min_id")
                statuses = self.edge.call(key, fetch, min_id)
                if not statuses:
                    break
                mentions, skipped = [], []
                newest = int(min_id) if min_id else 0
                for st in statuses:
                    try:
                        newest = max(newest, int(st["id"]))
                        mentions.append(self._mention(st))
                    except (KeyError, TypeError, ValueError, AttributeError) as e:
                        skipped.append(f"status {st.get('id', '?') if hasattr(st, 'get') else '?'}: {e}")
                state[key] = {"min_id": str(newest)}
                yield Page(mentions, {k: dict(v) for k, v in state.items()}, skipped)
                if min_id is None:
                    break  # no starting point: the newest page only

    def _streams(self) -> dict[str, Any]:
        streams: dict[str, Any] = {}
        for tag in self.opts.hashtags:
            t = tag.lstrip("#")
            streams[f"tag:{t}"] = lambda min_id, t=t: self.api.timeline_hashtag(  # type: ignore[union-attr]
                t, min_id=min_id, limit=self.opts.page_size
            )
        for q in self.opts.search:
            streams[f"search:{q}"] = lambda min_id, q=q: (
                self.api.search_v2(  # type: ignore[union-attr]
                    q, result_type="statuses", resolve=False, min_id=min_id, limit=self.opts.page_size
                ).statuses
            )
        return streams

    def _mention(self, st: Any) -> Mention:
        account = st["account"]
        reblog = st.get("reblog")
        content = _plain(st["content"] or (reblog or {}).get("content") or "")
        if not content and not st.get("spoiler_text"):
            raise ValueError("empty content")
        text = "\n".join(p for p in (st.get("spoiler_text") or "", content) if p)
        return Mention(
            platform="mastodon",
            external_id=str(st["id"]),
            text=text,
            created_at=parse_time(st["created_at"]),
            url=st.get("url") or st.get("uri"),
            author_key=str(account["id"]),
            author_handle=account["acct"],
            author_name=account.get("display_name") or None,
            author_followers=account.get("followers_count"),
            lang=st.get("language"),
            in_reply_to=str(st["in_reply_to_id"]) if st.get("in_reply_to_id") else None,
            is_repost=reblog is not None,
            raw=jsonable(st),
            edited=bool(st.get("edited_at")),
        )

    def _classify(self, e: Exception) -> SourceError | None:
        from mastodon.errors import (
            MastodonAPIError,
            MastodonNetworkError,
            MastodonNotFoundError,
            MastodonRatelimitError,
            MastodonServerError,
            MastodonUnauthorizedError,
        )

        if isinstance(e, MastodonRatelimitError):
            reset = getattr(self.api, "ratelimit_reset", None)
            return RateLimited(f"Mastodon 429: {e}", datetime.fromtimestamp(reset, UTC) if reset else None)
        if isinstance(e, MastodonServerError | MastodonNetworkError):
            return TransientError(f"Mastodon: {str(e)[:200]}")
        if isinstance(e, MastodonUnauthorizedError | MastodonNotFoundError | MastodonAPIError):
            return SourceError(f"Mastodon: {str(e)[:200]}")
        return None


def _plain(fragment: str) -> str:
    text = fragment.replace("<br>", "\n").replace("<br />", "\n").replace("</p><p>", "\n\n")
    return html.unescape(_TAG.sub("", text)).strip()
