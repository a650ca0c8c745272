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
    TransientError,
    http_error,
    jsonable,
    newest_first,
    parse_time,
)
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
        skipped: list[str] = []
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
            cursor, fetch, lambda s: float(vars(s)["created_utc"]), lambda s: s.fullname, self._normalise
        ):
            yield Page([m for m in page.mentions if self._wanted(m)], page.cursor, page.skipped)

    def _add(self, item: Any, mentions: list[Mention], skipped: list[str]) -> None:
        try:
            m = self._normalise(item)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped.append(f"{getattr(item, 'fullname', '?')}: {e.__class__.__name__}: {str(e)[:120]}")
            return
        if self._wanted(m):
            mentions.append(m)

    def _wanted(self, m: Mention) -> bool:
        return m.deleted or self.matcher is None or self.matcher.match(m.text) is not None

    def _normalise(self, item: Any) -> Mention:
        d = vars(item)  # loaded attributes only: never trigger a lazy fetch
        is_comment = item.fullname.startswith("t1_")
        author = d.get("author")
        name = getattr(author, "name", None) if author is not None else None
        if is_comment:
            text = d["body"]
        else:
            text = "\n".join(p for p in (d["title"], d.get("selftext") or "") if p)
        if not isinstance(text, str):
            raise ValueError("no text")
        body = d.get("body") if is_comment else d.get("selftext")
        deleted = body in GONE and (author is None or d.get("removed_by_category") is not None or is_comment)
        edited = d.get("edited")
        raw = jsonable({k: v for k, v in d.items() if not k.startswith("_")})
        return Mention(
            platform="reddit",
            external_id=item.fullname,
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
