"""Assignment with bounded load.

``choose_agent`` is pure: the least-loaded on-shift agent under capacity, ties
broken round-robin (whoever was given a case longest ago goes first). ``None``
means everyone is full or off shift: the case waits unassigned in the queue,
with a visible note, and ``assign_queue`` hands it out when someone frees up.
Loads are counted from the database (open cases per assignee), so they stay
right however cases are closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gripewatch.alerts.hours import on_shift
from gripewatch.config import Settings, StaffMember
from gripewatch.models import OPEN_STATUSES, Case


def choose_agent(
    staff: Sequence[StaffMember], loads: Mapping[str, int], last_given: Mapping[str, int], now: datetime
) -> StaffMember | None:
    """The agent to give the next case to, or None when nobody on shift has room."""
    free = [
        m
        for m in staff
        if m.role == "agent" and loads.get(m.slack_id, 0) < m.capacity and on_shift(m.working_hours, now)
    ]
    if not free:
        return None
    return min(free, key=lambda m: (loads.get(m.slack_id, 0), last_given.get(m.slack_id, -1)))


#: PostgreSQL advisory lock held by a transaction that counts loads to assign a case, so two processes
#: (replicas, cron beside the daemon) never both give an agent their last free slot. SQLite already
#: serialises writers: the transaction that assigns has written before it counts.
ASSIGN_LOCK = 740023


def loads(session: Session) -> dict[str, int]:
    """Open cases per assignee (taking the assignment lock first on PostgreSQL, until the transaction ends)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ASSIGN_LOCK})
    rows = session.execute(
        select(Case.assignee, func.count(Case.id))
        .where(Case.assignee.is_not(None), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.assignee)
    ).all()
    return {a: n for a, n in rows if a is not None}


def last_given(session: Session) -> dict[str, int]:
    """The newest case id each assignee holds (the round-robin order)."""
    rows = session.execute(
        select(Case.assignee, func.max(Case.id)).where(Case.assignee.is_not(None)).group_by(Case.assignee)
    ).all()
    return {a: n for a, n in rows if a is not None}


def pick(session: Session, settings: Settings, now: datetime) -> StaffMember | None:
    return choose_agent(settings.staff, loads(session), last_given(session), now)


def has_room(session: Session, settings: Settings, slack_id: str) -> tuple[bool, str]:
    """Whether ``slack_id`` may take one more case (managers and people not on the roster: always)."""
    member = staff_member(settings, slack_id)
    if member is None or member.role == "manager":
        return True, ""
    n = loads(session).get(slack_id, 0)
    if n >= member.capacity:
        return False, f"{member.name} already has {n} open cases (capacity {member.capacity})"
    return True, ""


def staff_member(settings: Settings, slack_id: str | None) -> StaffMember | None:
    return next((m for m in settings.staff if m.slack_id == slack_id), None)


def managers(settings: Settings) -> list[StaffMember]:
    return [m for m in settings.staff if m.role == "manager"]
