"""What a stored mention may hold, applied to every mention of every collector.

Customer text is hostile and platform payloads are sometimes broken. :func:`bounded` is the
one place that says what reaches the database: every text field (text, ids, author names and
handles, url, language) without NUL and other control characters (``\\n`` and ``\\t`` kept)
and without lone surrogates, within its column's length; a creation date between 1970 and one
day from now; counts clamped to 0 … 2^63-1; a JSON-safe raw payload. A mention that cannot be
brought within bounds comes back as a :class:`~gripewatch.collectors.base.Rejected` with the
reason. :func:`normalised` runs a collector's ``normalise`` on one raw item and never raises.
The pipeline applies :func:`bounded` to every mention, so a new collector gets it for free.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gripewatch.collectors.base import Mention, Rejected, jsonable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE = timedelta(days=1)  # clocks differ a little; a post from next week is a broken payload
INT64_MAX = 2**63 - 1
#: NUL and the other C0/C1 control characters except tab and newline, DEL, lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Column lengths (gripewatch.models); longer values are cut, except an id (cutting could merge two posts).
LIMITS = {
    "platform": 32,
    "external_id": 255,
    "author_key": 255,
    "author_handle": 255,
    "author_name": 255,
    "lang": 16,
    "conversation_id": 255,
    "in_reply_to": 255,
}
TEXT_FIELDS = ("platform", "external_id", "text", "url", *list(LIMITS)[2:])


def clean_text(value: str) -> str:
    """``value`` without NUL, other control characters (``\\n``, ``\\t`` kept) and lone surrogates."""
    return _UNSAFE.sub("", value)


def bounded(m: Mention, now: datetime | None = None) -> Mention | Rejected:
    """``m`` within what may be stored, or a Rejected saying why it cannot be."""
    try:
        changes: dict[str, Any] = {name: _text(name, getattr(m, name)) for name in TEXT_FIELDS}
        if not changes["external_id"]:
            raise ValueError("no id")
        if changes["text"] is None:
            raise ValueError("no text")
        if not changes["platform"]:
            raise ValueError("no platform")
        changes["created_at"] = _date(m.created_at, now or datetime.now(UTC))
        changes["author_followers"] = count(m.author_followers)
        raw = json_safe(m.raw)
        changes["raw"] = raw if isinstance(raw, dict) else {"value": raw}
        for flag in ("is_repost", "is_own", "edited", "deleted"):
            changes[flag] = bool(getattr(m, flag))
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        ext = m.external_id if isinstance(m.external_id, str) else None
        return Rejected(why(e), safe_raw(m.raw), clean_text(ext)[:255] if ext else None)
    return replace(m, **changes)


def normalised(
    normalise: Callable[[Any], Mention], raw: Any, external_id: str | None = None, now: datetime | None = None
) -> Mention | Rejected:
    """``normalise(raw)`` within bounds, or a Rejected with the reason; never raises."""
    try:
        m = normalise(raw)
    except Exception as e:  # hostile input: whatever one item does, it is quarantined and its page goes on
        return Rejected(why(e), safe_raw(raw), external_id)
    return bounded(m, now)


def watermark(value: datetime | float, now: datetime | None = None) -> float:
    """``value`` (a datetime or epoch seconds) as epoch seconds for a collector's watermark.

    ValueError outside 1970 … now + 1 day: a post dated in the year 2999 must be quarantined,
    not become the mark that every later post falls below.
    """
    try:
        at = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError):
        raise ValueError(f"not a time: {value!r:.40}") from None
    return _date(at, now or datetime.now(UTC)).timestamp()


def why(e: BaseException) -> str:
    """A one-line reason for a record that could not be read."""
    if isinstance(e, KeyError):
        return f"missing field {e.args[0]!r:.80}" if e.args else "missing field"
    if isinstance(e, RecursionError):
        return "payload nested too deeply"
    if isinstance(e, ValueError) and not isinstance(e, UnicodeError):
        return str(e)[:300] or "ValueError"
    return f"{e.__class__.__name__}: {str(e)[:300]}"


def json_safe(v: Any) -> Any:
    """``v`` as JSON every database accepts: plain values, string keys, no NaN/Infinity (kept as strings)."""
    v = jsonable(v)
    return _finite(v)


def safe_raw(raw: Any) -> Any:
    """The raw item for the quarantine: JSON-safe, or its repr when even that fails."""
    try:
        return json_safe(raw)
    except RecursionError:
        return repr(raw)[:10_000]


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def _text(name: str, v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise ValueError(f"{name} is not text ({type(v).__name__})")
    s = clean_text(str(v))
    limit = LIMITS.get(name)
    if limit is not None and len(s) > limit:
        if name == "external_id":
            raise ValueError(f"id longer than {limit} characters")
        s = s[:limit]
    return s or None if name != "text" else s


def _date(v: Any, now: datetime) -> datetime:
    if not isinstance(v, datetime):
        raise ValueError(f"created_at is not a date ({type(v).__name__})")
    at: datetime = v if v.tzinfo is not None else v.replace(tzinfo=UTC)
    # the latest plausible time is the world's, not the caller's: a run on a simulated or late clock
    # (a replay, a backfill) still takes today's posts
    if not EPOCH <= at <= max(now, datetime.now(UTC)) + FUTURE:
        raise ValueError(f"created_at {at.isoformat()} is outside 1970 … now + 1 day")
    return at.astimezone(UTC)


def count(v: Any) -> int | None:
    """A follower (or other) count as an int in 0 … 2^63-1, or None when it is not a number."""
    n: int
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        n = int(v)
    elif isinstance(v, str):
        try:
            n = int(v.strip())
        except ValueError:
            return None
    elif isinstance(v, int):
        n = v
    else:
        return None
    return max(0, min(n, INT64_MAX))
