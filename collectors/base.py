"""The one interface every source implements, and the data it yields.

A collector is built from its source's config entry and the brands, then asked
for pages::

    collector = REGISTRY[source.type](source, brands)
    for page in collector.collect(cursor):   # cursor: the dict stored last time
        store(page.mentions); save(page.cursor)   # in one transaction

``collect(cursor) -> Iterator[Page]`` is the whole contract:

* ``cursor`` is the JSON-able dict of the last *committed* page (``{}`` on the
  first run). The collector resumes exactly after it: no gap, no duplicate.
* Each :class:`Page` carries the mentions it normalised, the cursor to store
  once they are committed, and ``skipped``: one :class:`Rejected` (reason, raw
  item, id when known) per item that could not be normalised. Malformed items
  are quarantined by the pipeline, never fatal to their page.
* Each collector class has ``normalise(raw) -> Mention``: one raw item (as kept
  in ``Mention.raw`` / ``Rejected.raw``) to a mention, raising on what it cannot
  read. ``gripewatch rejected retry`` calls it on quarantined items.
  :func:`normalised` wraps it (never raises) and applies :func:`bounded`, which
  the pipeline also applies to every mention of every collector.
* Network failures raise :class:`~gripewatch.errors.SourceError` (or
  :class:`~gripewatch.errors.RateLimited`) after the collector's own retries;
  pages already yielded stay committed.
* Each collector class declares ``Options``, a pydantic model of its own
  config keys (validated when the config is loaded). Network collectors
  extend :class:`NetworkOptions` and make every platform call through their
  :class:`Edge` (``self.edge``): retries, back-off, 429 resets and the
  request budget per 15 minutes live there and nowhere else.
* Optionally ``backfill_cursor(since) -> dict``: a cursor that makes
  ``collect`` start at ``since`` instead of the live watermark.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

import gripewatch
from gripewatch.errors import RateLimited, SourceError

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Mention:
    """One public post, normalised. ``raw`` is the platform's payload, untouched."""

    platform: str
    external_id: str
    text: str
    created_at: datetime
    url: str | None = None
    author_key: str | None = None  # stable platform user id, else the handle
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    lang: str | None = None
    conversation_id: str | None = None
    in_reply_to: str | None = None
    is_repost: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    is_own: bool = False  # the platform says the brand's own account wrote it (else decided by brands[].handles)
    edited: bool = False  # a newer version of a post stored before: its text and raw are replaced
    deleted: bool = False  # the platform says it was deleted/removed: it is marked and its text purged
    rating: int | None = None  # a review's stars (1-5): at or below the source's complaint_max_rating it is a complaint


@dataclass(frozen=True)
class Rejected:
    """An item a collector could not normalise: quarantined (``gripewatch rejected list``), never fatal to its page."""

    reason: str
    raw: Any = None
    external_id: str | None = None


@dataclass(frozen=True)
class Page:
    mentions: list[Mention]
    cursor: dict[str, Any]
    skipped: list[Rejected] = field(default_factory=list)


class Options(BaseModel):
    """Base of each collector's own config keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def required_secrets(self) -> tuple[str, ...]:
        """Keys whose ``${ENV}`` must be set for this source to run."""
        return ()


class Collector(Protocol):
    Options: ClassVar[type[Options]]

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        """Yield pages of mentions newer than ``cursor``, each with the cursor to store after it."""
        ...


def newest_first(
    cursor: dict[str, Any],
    fetch: Callable[[Any, str | None], tuple[list[Any], str | None]],
    key: Callable[[Any], Any],
    ident: Callable[[Any], str],
    normalise: Callable[[Any], Mention],
    raw: Callable[[Any], Any] | None = None,
) -> Iterator[Page]:
    """Page durably through an API that lists newest first, above a watermark.

    ``fetch(mark, token)`` returns one page of raw items (newest first) and the
    next page's token. Items at or below ``mark`` (by ``key``; ties told apart
    by ``ident``) were collected before. While a window is being paged the
    cursor keeps the token and the window's top, so a crash resumes at the next
    page; when the window is exhausted the watermark moves to its top. Items
    that cannot be read are passed on as :class:`Rejected`, with the reason and
    the item as ``raw(item)`` (default :func:`jsonable`).
    """
    from gripewatch.collectors.bounds import normalised, safe_raw, why

    raw = raw or safe_raw
    mark, at_mark = cursor.get("mark"), set(cursor.get("at_mark", []))
    token, top, top_ids = cursor.get("next"), cursor.get("top"), list(cursor.get("top_ids", []))
    base = {k: v for k, v in cursor.items() if k not in ("mark", "at_mark", "next", "top", "top_ids")}
    while True:
        items, nxt = fetch(mark, token)
        mentions: list[Mention] = []
        skipped: list[Rejected] = []
        passed = False
        for it in items:
            try:
                k, i = key(it), ident(it)
            except Exception as e:  # hostile input: one unreadable item is quarantined, its page goes on
                skipped.append(Rejected(f"item without id/time: {why(e)}", raw(it)))
                continue
            if mark is not None and (k < mark or (k == mark and i in at_mark)):
                passed = True
                continue
            if top is None or k > top:
                top, top_ids = k, [i]
            elif k == top and i not in top_ids:
                top_ids.append(i)
            m = normalised(normalise, it, str(i))
            if isinstance(m, Mention):
                mentions.append(m)
            else:
                skipped.append(replace(m, raw=raw(it)))
        done = passed or not nxt or not items
        if done:
            new = {
                **base,
                "mark": top if top is not None else mark,
                "at_mark": top_ids if top is not None else sorted(at_mark),
            }
            new = {k: v for k, v in new.items() if v is not None and not (k == "since" and new["mark"] is not None)}
        else:
            new = {**base, "mark": mark, "at_mark": sorted(at_mark), "next": nxt, "top": top, "top_ids": top_ids}
        if mentions or skipped or new != cursor:
            yield Page(mentions[::-1], new, skipped)  # oldest first, as posted
        if done:
            return
        cursor, token = new, nxt


def provenance(source: str, platform: str, url: str | None) -> dict[str, Any]:
    """Where and when a payload was fetched, and by which gripewatch."""
    return {
        "source": source,
        "platform": platform,
        "url": url,
        "retrieved_at": datetime.now(UTC).isoformat(),
        "app_version": gripewatch.__version__,
    }


_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%a %b %d %H:%M:%S %z %Y",  # classic Twitter
)


def parse_time(value: Any) -> datetime:
    """Parse ISO-8601, RFC 2822, epoch seconds/ms or common formats into aware UTC.

    Naive times are taken as UTC. Raises ValueError for anything else.
    """
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"not a date: {value!r}")
            dt = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        elif isinstance(value, str) and value.strip():
            dt = _parse_str(value.strip())
        else:
            raise ValueError(f"not a date: {value!r:.40}")
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (OverflowError, OSError):  # epochs like 1e30, offsets past year 1 or 9999
        raise ValueError(f"not a date (out of range): {value!r:.40}") from None


def _parse_str(s: str) -> datetime:
    if s.replace(".", "", 1).isdigit():
        return parse_time(float(s))
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a date: {s!r:.40}") from None


# ---------------------------------------------------------------- the network edge
#
# Every collector makes its platform calls through ``Edge.call``: the one place
# that retries, backs off, honours 429 reset times and spends the per-15-minute
# request budget. Collectors only say how to read their library's exceptions
# (a ``classify`` function returning one of the errors below, or None).


class TransientError(SourceError):
    """A failure worth retrying (5xx, dropped connection, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NetworkOptions(Options):
    """Keys shared by every collector that talks to a platform over HTTP."""

    base_url: str | None = None
    requests_per_15min: int = Field(180, ge=1)
    max_retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(2.0, gt=0)
    max_backoff_seconds: float = Field(120.0, gt=0)
    max_wait_seconds: float = Field(120.0, ge=0)  # longest sleep until a 429 reset; longer: stop, resume later
    timeout_seconds: float = Field(30.0, gt=0)
    page_size: int = Field(100, ge=1, le=1000)
    first_run_hours: float = Field(24.0, gt=0)  # how far back the very first run looks (backfill goes further)
    user_agent: str = f"gripewatch/{gripewatch.__version__} (+https://github.com/gripewatch/gripewatch)"


WINDOW = timedelta(minutes=15)


@dataclass
class Budget:
    """Requests allowed per 15-minute window; ``window_start``/``used`` persist between runs."""

    limit: int
    window_start: datetime | None = None
    used: int = 0

    def take(self, now: datetime) -> None:
        """Spend one request, or raise RateLimited until the window ends (spending nothing)."""
        if self.window_start is None or now >= self.window_start + WINDOW:
            self.window_start, self.used = now, 0
        if self.used >= self.limit:
            reset = self.window_start + WINDOW
            raise RateLimited(f"request budget of {self.limit} per 15 min used up until {reset:%H:%M:%S}Z", reset)
        self.used += 1


Classifier = Callable[[Exception], SourceError | None]


class Edge:
    """Retry, back-off, 429 and request-budget handling for one source's calls.

    ``call(what, fn, *args, **kwargs)`` runs ``fn`` and returns its result.
    Exceptions are read by ``classify`` (the collector's, then the generic
    httpx one):

    * :class:`RateLimited` with a reset within ``max_wait_seconds``: logged,
      slept until the reset, tried again; a later reset is raised so the run
      stops cleanly and the pipeline skips the source until then.
    * :class:`TransientError` (5xx, network): exponential back-off (or the
      server's ``Retry-After``), at most ``max_retries`` times, then raised.
    * any other :class:`SourceError` (4xx, auth): raised at once.
    * anything unclassified is a bug and propagates untouched.

    ``sleep`` and ``now`` are injectable so tests never wait.
    """

    def __init__(
        self,
        name: str,
        opts: NetworkOptions,
        classify: Classifier | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        charge_calls: bool = True,
    ) -> None:
        self.name, self.opts, self.classify = name, opts, classify
        self.charge_calls = charge_calls  # False: an EdgeAdapter charges each HTTP request instead
        self.sleep, self.now = sleep, now
        self.budget = Budget(opts.requests_per_15min)
        self.requests = 0

    def charge(self) -> None:
        """Spend one request of the budget (RateLimited when it is used up)."""
        self.budget.take(self.now())
        self.requests += 1

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        failures = waits = 0
        while True:
            if self.charge_calls:
                self.charge()
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # classified below; unknown ones re-raised
                err = (self.classify and self.classify(e)) or classify_http(e)
                if err is None:
                    raise
            if isinstance(err, RateLimited):
                reset = err.reset_at or self.now() + timedelta(seconds=self.opts.backoff_seconds * 2**waits)
                wait = max((reset - self.now()).total_seconds(), 0.0) + 1.0
                if wait > self.opts.max_wait_seconds or waits >= 3:
                    log.warning("%s: %s rate limited until %s; stopping until then", self.name, what, reset.isoformat())
                    raise RateLimited(f"{what}: rate limited until {reset.isoformat()}", reset) from None
                log.warning("%s: %s rate limited; sleeping %.0fs until %s", self.name, what, wait, reset.isoformat())
                waits += 1
                self.sleep(wait)
                continue
            if isinstance(err, TransientError) and failures < self.opts.max_retries:
                delay = err.retry_after or min(self.opts.backoff_seconds * 2**failures, self.opts.max_backoff_seconds)
                failures += 1
                log.warning("%s: %s failed (%s); retry %d in %.1fs", self.name, what, err, failures, delay)
                self.sleep(delay)
                continue
            raise err from None


def http_error(status: int, headers: Any, what: str = "") -> SourceError:
    """The error for an HTTP status: 429 → RateLimited (reset from the usual headers), 5xx → transient."""
    if status == 429:
        return RateLimited(f"{what}HTTP 429", reset_from_headers(headers))
    if status >= 500 or status in (408, 425):
        retry = _float(_header(headers, "retry-after"))
        return TransientError(f"{what}HTTP {status}", retry)
    return SourceError(f"{what}HTTP {status}")


def reset_from_headers(headers: Any) -> datetime | None:
    """When a 429 ends: ``Retry-After`` (seconds or a date) or ``x-rate-limit-reset``-style epochs."""
    retry = _header(headers, "retry-after")
    if retry:
        secs = _float(retry)
        if secs is not None:
            return datetime.now(UTC) + timedelta(seconds=secs)
        try:
            return parse_time(retry)
        except ValueError:
            pass
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        value = _float(_header(headers, name))
        if value is not None:
            # epoch seconds, or (IETF draft) seconds from now
            return parse_time(value) if value > 1e9 else datetime.now(UTC) + timedelta(seconds=value)
    return None


def classify_http(e: Exception) -> SourceError | None:
    """Generic reading of httpx/requests exceptions (every collector falls back to this)."""
    if isinstance(e, SourceError):
        return e
    import httpx
    import requests

    if isinstance(e, httpx.HTTPStatusError):
        return http_error(e.response.status_code, e.response.headers)
    if isinstance(
        e, httpx.TransportError | requests.ConnectionError | requests.Timeout | ConnectionError | TimeoutError
    ):
        return TransientError(f"network: {e.__class__.__name__}: {str(e)[:200]}")
    if isinstance(e, requests.HTTPError) and e.response is not None:
        return http_error(e.response.status_code, e.response.headers)
    return None


def jsonable(v: Any) -> Any:
    """A library object (dicts with datetimes, attribute dicts, models) as plain JSON values, for ``raw``."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


def get_json(http: httpx.Client, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET a JSON object; HTTP errors raise (for the edge to read), a non-JSON body is a SourceError."""
    r = http.get(path, params=params)
    r.raise_for_status()
    try:
        body = r.json()
    except ValueError:
        raise SourceError(f"{path}: response is not JSON") from None
    if not isinstance(body, dict):
        raise SourceError(f"{path}: response is not a JSON object")
    return body


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for k, v in dict(headers).items():
        if str(k).lower() == name:
            return str(v)
    return None


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
