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
  once they are committed, and ``skipped``: one reason per item that could not
  be normalised (malformed payloads are skipped, never fatal to the batch).
* Network failures raise :class:`~gripewatch.errors.SourceError` (or
  :class:`~gripewatch.errors.RateLimited`) after the collector's own retries;
  pages already yielded stay committed.
* Each collector class declares ``Options``, a pydantic model of its own
  config keys (validated when the config is loaded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

import gripewatch


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


@dataclass(frozen=True)
class Page:
    mentions: list[Mention]
    cursor: dict[str, Any]
    skipped: list[str] = field(default_factory=list)


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
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    elif isinstance(value, str) and value.strip():
        s = value.strip()
        dt = _parse_str(s)
    else:
        raise ValueError(f"not a date: {value!r:.40}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


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
