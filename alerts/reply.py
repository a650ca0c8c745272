"""The suggested reply, and the response time the team can honestly promise.

``first_response_p90`` measures the 90th percentile first-response time of
recent cases of one priority; ``suggested_reply`` (pure) writes a reply that
acknowledges, restates the problem in plain words, apologises, offers to
continue in private, and promises that measured time — or no time at all when
there are too few measurements to know. gripewatch never posts it: a person
edits and sends it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.models import Case

_PLAIN = {
    "delivery": ("your order hasn't reached you the way it should have", "your order number"),
    "billing_refunds": ("something has gone wrong with your bill or refund", "the email address on your account"),
    "outage_bug": ("our service isn't working properly for you", "what you see and on which device"),
    "account_login": ("you're having trouble getting into your account", "the email or username on the account"),
    "product_quality": ("what you received isn't up to standard", "your order number and a photo if you can"),
    "staff_service": ("the help you got from our team let you down", "when and where it happened"),
    "pricing": ("you feel let down by what we charge", "which plan or product this is about"),
}


def first_response_p90(
    session: Session, priority: str, now: datetime, window_days: int, min_samples: int
) -> timedelta | None:
    """p90 of (first response − opened) over cases of ``priority`` opened in the window; None if too few."""
    rows = session.execute(
        select(Case.opened_at, Case.first_response_at).where(
            Case.priority == priority,
            Case.first_response_at.is_not(None),
            Case.opened_at >= now - timedelta(days=window_days),
        )
    ).all()
    waits = sorted(max(timedelta(0), fr - op) for op, fr in rows if op is not None and fr is not None)
    if len(waits) < min_samples:
        return None
    return waits[max(0, math.ceil(0.9 * len(waits)) - 1)]


def promise(p90: timedelta | None) -> str:
    """``"within 2 hours"`` (rounded up), or a promise of no particular time."""
    if p90 is None:
        return "as soon as we can"
    minutes = max(1, math.ceil(p90.total_seconds() / 60))
    if minutes < 60:
        n = max(5, math.ceil(minutes / 5) * 5)
        return f"within {n} minutes" if n < 60 else "within an hour"
    hours = math.ceil(minutes / 60)
    if hours <= 48:
        return f"within {hours} hour{'s' if hours > 1 else ''}"
    days = math.ceil(hours / 24)
    return f"within {days} days"


def suggested_reply(handle: str | None, brand: str | None, topics: list[str], p90: timedelta | None) -> str:
    """A reply for a person to edit and send: acknowledge, restate, apologise, go private, promise."""
    who = f"@{handle}" if handle else "there"
    topic = next((t for t in topics if t in _PLAIN), None)
    problem, detail = _PLAIN.get(topic or "", (f"you've had trouble with {brand or 'us'}", "a few details"))
    return (
        f"Hi {who}, thanks for telling us, and I'm sorry {problem}. "
        f"That's not the experience we want for you. Could you send us a direct message with {detail} "
        f"(please don't share passwords or card numbers)? We'll get back to you {promise(p90)}."
    )
