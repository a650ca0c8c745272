"""What the case page shows beside the conversation: priority parts, SLA clocks, the customer's other cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gripewatch.models import Author, Case

PART_LABELS = {
    "severity": "Severity",
    "escalation": "Escalation triggers",
    "reach": "Reach",
    "customer_value": "Customer value",
    "repeat_contact": "Repeated contact",
    "waiting": "Waiting time",
}
CLOCK_LABELS = {"first_response": "First response", "resolution": "Resolution"}


@dataclass(frozen=True)
class Clock:
    label: str
    due_at: datetime
    done: bool
    state: str  # met, late (done after the due time), overdue, due (after the reminder), ok


def priority_parts(parts: dict[str, Any] | None) -> list[tuple[str, float]]:
    """The score's parts in words, largest first (the card's "why this priority")."""
    items = [(PART_LABELS.get(k, k.replace("_", " ").capitalize()), float(v)) for k, v in (parts or {}).items()]
    return sorted(items, key=lambda kv: -kv[1])


def sla_clocks(case: Case, now: datetime) -> list[Clock]:
    """The case's stored SLA clocks (``alerts.sla.plan``) with their state at ``now``."""
    out = []
    for key, label in CLOCK_LABELS.items():
        v = (case.sla or {}).get(key)
        if not isinstance(v, dict):
            continue
        try:
            due, remind = datetime.fromisoformat(v["due_at"]), datetime.fromisoformat(v["remind_at"])
        except (KeyError, TypeError, ValueError):
            continue
        finished = case.first_response_at if key == "first_response" else case.resolved_at
        if finished is not None or v.get("done"):
            at = finished or now
            state = "late" if at > due else "met"
        else:
            state = "overdue" if now > due else "due" if now > remind else "ok"
        out.append(Clock(label, due, finished is not None or bool(v.get("done")), state))
    return out


def other_cases(session: Session, case: Case, limit: int = 10) -> list[Case]:
    """The customer's other cases (every identity linked to theirs), newest first."""
    if case.author_id is None:
        return []
    author = session.get(Author, case.author_id)
    ids = select(Author.id).where(
        or_(Author.id == case.author_id, Author.customer_key == author.customer_key)
        if author is not None and author.customer_key
        else Author.id == case.author_id
    )
    return list(
        session.scalars(
            select(Case).where(Case.author_id.in_(ids), Case.id != case.id).order_by(Case.id.desc()).limit(limit)
        )
    )


def age(delta: timedelta | None) -> str:
    """A duration for people: "45 min", "3 h 20 min", "2 d 4 h"."""
    if delta is None:
        return "–"
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
