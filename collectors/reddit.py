"""Reddit through praw: new comments and submissions of configured subreddits, and site search.

Streams use ``pause_after=0`` (stop when caught up) and ``continue_after_id``
with the fullname stored in the cursor, so a restart continues exactly after
the last committed item. ``search`` runs a site-wide search (sort new) for the
brand's keywords, paged newest first above a ``created_utc`` watermark. Items
are filtered locally by the brand's keywords (streams carry everything).
Removed or deleted items are passed on as deletions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr

from gripewatch.brands import BrandMatcher

if TYPE_CHECKING:
    import praw

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
)
from gripewatch.collectors.bounds import normalised, safe_raw, watermark
from gripewatch.config import SourceConfig
from gripewatch.errors import SourceError

GONE = ("[deleted]", "[removed]")


class RedditOptions(NetworkOptions):
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    subreddits: tuple[str, ...] = ()
    streams: tuple[str, ...] = ("comments", "submissions")
    search: tuple[str, ...] = ()  # site-wide queries (sort new); default none
    search_subreddit: str = "all"
    filter_keywords: bool = True  # keep only items that mention the brand
    requests_per_15min: int = Field(900, ge=1)  # Reddit OAuth: 100 queries per minute per client
    page_size: int = Field(100, ge=1, le=100)

    def required_secrets(self) -> tuple[str, ...]:
        return ("client_secret",)


class RedditCollector:
    Options = RedditOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: RedditOptions = source.options
        self.edge = Edge(source.name, self.opts, classify=_classify, charge_calls=False)
        chosen = tuple(b for b in brands if source.brand is None or b.name == source.brand)
        self.matcher = BrandMatcher(chosen) if self.opts.filter_keywords and chosen else None

    def backfill_cursor(self, since: datetime) -> dict[str, Any]:
        return {"search": {"mark": since.timestamp(), "at_mark": []}}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        if not cursor and self.opts.search:
            cursor = self.backfill_cursor(self.edge.now() - timedelta(hours=self.opts.first_run_hours))
        reddit = self._reddit()
        state = dict(cursor)
        if self.opts.subreddits:
            sub = reddit.subreddit("+".join(s.removeprefix("r/") for s in self.opts.subreddits))
            for kind in self.opts.streams:
                stream = getattr(sub.stream, kind)
                for page in self._stream(kind, stream, state.get(kind)):
                    state[kind] = page.cursor[kind]
                    yield Page(page.mentions, dict(state), page.skipped)
        for query in self.opts.search:
            key = f"search:{query}"
            for page in self._search(reddit, query, state.get(key) or state.get("search") or {}):
                state[key] = page.cursor
                yield Page(page.mentions, dict(state), page.skipped)

    def gone(self, external_ids: list[str]) -> set[str]:
        """Which of these comments and submissions were deleted or removed: ``GET /api/info?id=`` (praw's
        ``info``, 100 fullnames a request); an item missing from the answer is gone too."""
        wanted = list(external_ids)
        if not wanted:
            return set()
        items = self.edge.call("info", lambda: list(self._reddit().info(fullnames=wanted)))
        seen, out = set(), set()
        for item in items:
            seen.add(item.fullname)
            try:
                if self.normalise(item).deleted:
                    out.add(item.fullname)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # not a post we could have stored
        return out | (set(wanted) - seen)

    def _reddit(self) -> praw.Reddit:
        import praw  # the clients load only when a Reddit source runs
        import requests

        from gripewatch.collectors.adapter import EdgeAdapter

        kw: dict[str, Any] = {}
        if self.opts.base_url:
            kw = {"oauth_url": self.opts.base_url.rstrip("/"), "reddit_url": self.opts.base_url.rstrip("/")}
        session = requests.Session()  # every HTTP request charges the edge's budget
        adapter = EdgeAdapter(self.edge)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        reddit = praw.Reddit(
            client_id=self.opts.client_id,
            client_secret=self.opts.client_secret.get_secret_value(),
            user_agent=self.opts.user_agent,
            check_for_updates=False,
            timeout=int(self.opts.timeout_seconds),
            requestor_kwargs={"session": session},
            **kw,
        )
        reddit.read_only = True
        return reddit

    def _stream(self, kind: str, stream: Callable[..., Iterator[Any]], after: str | None) -> Iterator[Page]:
        live: dict[str, Any] = {"gen": None, "last": after}

        def next_item() -> Any:
            if live["gen"] is None:
                live["gen"] = stream(pause_after=0, continue_after_id=live["last"])
            try:
                return next(live["gen"])
            except Exception:
                live["gen"] = None  # a failed generator is finished: start again after the last item
                raise

        mentions: list[Mention] = []
        skipped: list[Rejected] = []
        while True:
            item = self.edge.call(f"{kind} stream", next_item)
            if item is None:
                break
            live["last"] = item.fullname
            self._add(item, mentions, skipped)
            if len(mentions) + len(skipped) >= self.opts.page_size:
                yield Page(mentions, {kind: live["last"]}, skipped)
                mentions, skipped = [], []
        if live["last"] != after or mentions or skipped:
            yield Page(mentions, {kind: live["last"]}, skipped)

    def _search(self, reddit: praw.Reddit, query: str, cursor: dict[str, Any]) -> Iterator[Page]:
        target = reddit.subreddit(self.opts.search_subreddit)

        def fetch(mark: float | None, token: str | None) -> tuple[list[Any], str | None]:
            params = {"after": token} if token else {}

            def page() -> list[Any]:
                return list(target.search(query, sort="new", limit=self.opts.page_size, params=params))

            items = self.edge.call("search", page)
            return items, (items[-1].fullname if len(items) >= self.opts.page_size else None)

        for page in newest_first(
            cursor,
            fetch,
            lambda s: watermark(float(vars(s)["created_utc"])),
            lambda s: s.fullname,
            self.normalise,
            raw=_raw,
        ):
            yield Page([m for m in page.mentions if self._wanted(m)], page.cursor, page.skipped)

    def _add(self, item: Any, mentions: list[Mention], skipped: list[Rejected]) -> None:
        m = normalised(self.normalise, item, getattr(item, "fullname", None))
        if isinstance(m, Rejected):
            skipped.append(replace(m, raw=_raw(item)))
        elif self._wanted(m):
            mentions.append(m)

    def _wanted(self, m: Mention) -> bool:
        return m.deleted or self.matcher is None or self.matcher.match(m.text) is not None

    def normalise(self, item: Any) -> Mention:
        """A praw comment or submission, or its stored raw attributes (a dict with ``name``)."""
        d = item if isinstance(item, dict) else vars(item)  # loaded attributes only: never a lazy fetch
        fullname = d["name"] if isinstance(item, dict) else item.fullname
        if not isinstance(fullname, str) or not fullname.startswith(("t1_", "t3_")):
            raise ValueError(f"not a comment or submission id: {fullname!r:.40}")
        is_comment = fullname.startswith("t1_")
        author = d.get("author")
        name = author if isinstance(author, str) else getattr(author, "name", None) if author is not None else None
        if is_comment:
            text = d["body"]
        else:
            text = "\n".join(p for p in (d["title"], d.get("selftext") or "") if p)
        if not isinstance(text, str):
            raise ValueError("no text")
        body = d.get("body") if is_comment else d.get("selftext")
        deleted = body in GONE and (author is None or d.get("removed_by_category") is not None or is_comment)
        edited = d.get("edited")
        raw = _raw(item)
        return Mention(
            platform="reddit",
            external_id=fullname,
            text=text,
            created_at=parse_time(float(d["created_utc"])),
            url=f"https://www.reddit.com{d['permalink']}" if d.get("permalink") else None,
            author_key=d.get("author_fullname") or (name.lower() if name else None),
            author_handle=name,
            lang=None,
            conversation_id=d.get("link_id") if is_comment else item.fullname,
            in_reply_to=d.get("parent_id") if is_comment else None,
            raw=raw,
            edited=bool(edited) and not deleted,
            deleted=deleted,
        )


def _raw(item: Any) -> Any:
    """A praw object's loaded attributes as JSON (private ones and the client left out), with ``name``."""
    if isinstance(item, dict):
        return safe_raw(item)
    try:
        d = {k: v for k, v in vars(item).items() if not k.startswith("_")}
    except TypeError:
        return safe_raw(item)
    d.setdefault("name", getattr(item, "fullname", None))
    return safe_raw(d)


def _classify(e: Exception) -> SourceError | None:
    import praw
    import prawcore

    if isinstance(e, prawcore.RequestException):
        inner = e.original_exception
        if isinstance(inner, SourceError):
            return inner
        return TransientError(f"Reddit network: {inner.__class__.__name__}: {str(inner)[:200]}")
    if isinstance(e, prawcore.ResponseException):
        return http_error(e.response.status_code, e.response.headers, "Reddit: ")
    if isinstance(e, prawcore.PrawcoreException | praw.exceptions.PRAWException):
        return SourceError(f"Reddit: {e.__class__.__name__}: {str(e)[:200]}")
    return None
