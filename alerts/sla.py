"""SLA clocks, reminders, breach escalation, follow-up and closing.

``plan`` sets a case's two clocks (first response, resolution) from its
priority's targets, counted in ``cases.working_hours`` when configured; each
clock has a reminder at 75 % and a due time. ``tick(session, settings, now)``
fires whatever is due — a reminder in the case's thread mentioning the owner,
or on breach an escalation to the managers in ``channels.escalations`` — then
the follow-up after ``cases.follow_up_days`` and the closing of resolved cases
after ``cases.reopen_days``; and it raises an unanswered case's priority when its
waiting time lifts it to the next level. It also hands queued cases to agents who
have room. Every check is driven by ``Case.next_check_at`` and ``now``: no sleeps,
no scans.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import assign, card
from gripewatch.alerts.hours import add_working_time
from gripewatch.alerts.priority import RANK, level_for, merge, waiting_points
from gripewatch.config import Settings
from gripewatch.models import OPEN_STATUSES, Case

CLOCKS = ("first_response", "resolution")


def plan(case: Case, settings: Settings, start: datetime | None = None) -> None:
    """(Re)compute both clocks from their start (``opened_at``, or ``start`` when given, e.g. on reopening)
    and the current priority; keep what already fired."""
    target = settings.cases.sla[case.priority]  # type: ignore[index]
    wh = settings.cases.working_hours
    old = case.sla or {}
    sla: dict[str, Any] = {}
    targets = (("first_response", target.first_response_minutes), ("resolution", target.resolution_minutes))
    for clock, minutes in targets:
        prev = old.get(clock) or {}
        begin = start or (datetime.fromisoformat(prev["start"]) if prev.get("start") else case.opened_at)
        sla[clock] = {
            "start": begin.isoformat(),
            "remind_at": add_working_time(begin, timedelta(minutes=0.75 * minutes), wh).isoformat(),
            "due_at": add_working_time(begin, timedelta(minutes=minutes), wh).isoformat(),
            "reminded": prev.get("reminded", False),
            "breached": prev.get("breached", False),
            "done": prev.get("done", False) or (clock == "first_response" and case.first_response_at is not None),
        }
    case.sla = sla
    schedule(case, settings)


def stop(case: Case, clock: str, settings: Settings) -> None:
    """A clock is met (first response given, case resolved)."""
    sla = {k: dict(v) for k, v in (case.sla or {}).items()}
    if clock in sla:
        sla[clock]["done"] = True
    case.sla = sla
    schedule(case, settings)


def schedule(case: Case, settings: Settings) -> None:
    """Set ``next_check_at`` to the earliest pending checkpoint (None when nothing is pending)."""
    points: list[datetime] = []
    if case.status in OPEN_STATUSES:
        for v in (case.sla or {}).values():
            if not v.get("done"):
                if not v.get("reminded"):
                    points.append(datetime.fromisoformat(v["remind_at"]))
                elif not v.get("breached"):
                    points.append(datetime.fromisoformat(v["due_at"]))
        rise = _rises_at(case, settings)
        if rise is not None:
            points.append(rise)
    elif case.status == "resolved" and case.resolved_at is not None:
        follow = (case.sla or {}).get("follow_up") or {}
        if not follow.get("sent"):
            points.append(case.resolved_at + timedelta(days=settings.cases.follow_up_days))
        points.append(case.resolved_at + timedelta(days=settings.cases.reopen_days))
    case.next_check_at = min(points) if points else None


def tick(session: Session, settings: Settings, now: datetime) -> int:
    """Fire every due reminder, escalation, follow-up and close; assign queued cases. Returns actions fired."""
    fired = 0
    due = session.scalars(
        select(Case).where(Case.next_check_at.is_not(None), Case.next_check_at <= now).order_by(Case.next_check_at)
    ).all()
    for case in due:
        fired += _check(session, case, settings, now)
        schedule(case, settings)
    fired += assign_queue(session, settings, now)
    return fired


def _rises_at(case: Case, settings: Settings) -> datetime | None:
    """When waiting time (``cases.priority.waiting_per_hour``) lifts this unanswered case to its next
    priority level, or None (answered, critical, or the capped waiting points can never get it there)."""
    w = settings.cases.priority
    if case.first_response_at is not None or w.waiting_per_hour <= 0:
        return None
    above = [t for level, t in w.thresholds.items() if RANK.get(level, 0) > RANK.get(case.priority, 1)]
    if not above:
        return None
    parts = case.priority_parts or {}
    others = sum(v for k, v in parts.items() if k != "waiting")
    # the waiting points that reach the threshold; and ``_age`` acts only once they have grown
    needed = max(min(above) - others, parts.get("waiting", 0.0) + 0.1)
    if needed > w.waiting_max:
        return None
    return case.opened_at + timedelta(hours=needed / w.waiting_per_hour, seconds=1)


def _age(session: Session, case: Case, settings: Settings, now: datetime) -> int:
    """Raise an unanswered case's priority when its waiting time now lifts it over the next threshold --
    while it waits, not only when the customer writes again (event, re-planned clocks, card update)."""
    w = settings.cases.priority
    if case.first_response_at is not None:
        return 0
    points = round(waiting_points((now - case.opened_at).total_seconds() / 3600, w), 1)
    if points <= (case.priority_parts or {}).get("waiting", 0.0):
        return 0
    parts, total = merge(case.priority_parts or {}, {"waiting": points})
    level = level_for(total, w)
    if RANK[level] <= RANK.get(case.priority, 1):
        return 0
    before = case.priority
    case.priority_parts, case.priority_score, case.priority = parts, total, level
    ev = card.event(session, case, "priority_raised", "gripewatch", now, before=before, after=level, reason="waiting")
    plan(case, settings)
    card.refresh(session, case, settings, now, ev)
    return 1


def _check(session: Session, case: Case, settings: Settings, now: datetime) -> int:
    fired = 0
    if case.status == "resolved" and case.resolved_at is not None:
        sla = {k: dict(v) for k, v in (case.sla or {}).items()}
        follow = sla.setdefault("follow_up", {})
        if not follow.get("sent") and now >= case.resolved_at + timedelta(days=settings.cases.follow_up_days):
            follow["sent"] = True
            case.sla = sla
            ev = card.event(session, case, "follow_up", "gripewatch", now)
            owner = card.who(case.assignee) if case.assignee else "whoever resolved it"
            card.note(
                session,
                case,
                f"followup:{case.id}:{ev.id}",
                f"{owner}: case #{case.id} was resolved {settings.cases.follow_up_days:g} days ago — "
                "please check in with the customer that they are happy with the outcome.",
                "Follow-up",
                at=now,
            )
            fired += 1
        if now >= case.resolved_at + timedelta(days=settings.cases.reopen_days):
            case.status, case.closed_at, case.updated_at = "closed", now, now
            ev = card.event(session, case, "closed", "gripewatch", now, reason="no reply within reopen_days")
            card.refresh(session, case, settings, now, ev)
            fired += 1
        return fired
    fired += _age(session, case, settings, now)
    sla = {k: dict(v) for k, v in (case.sla or {}).items()}
    for clock in CLOCKS:
        v = sla.get(clock)
        if not v or v.get("done"):
            continue
        label = clock.replace("_", " ")
        if not v.get("reminded") and now >= datetime.fromisoformat(v["remind_at"]):
            v["reminded"] = True
            ev = card.event(session, case, "sla_reminder", "gripewatch", now, clock=clock, due_at=v["due_at"])
            owner = card.who(case.assignee) if case.assignee else "Unassigned —"
            card.note(
                session,
                case,
                f"remind:{case.id}:{clock}:{ev.id}",
                f"{owner} 75 % of the {label} time for case #{case.id} is used; due {_hm(v['due_at'])}.",
                "SLA reminder",
                at=now,
            )
            fired += 1
        if not v.get("breached") and now >= datetime.fromisoformat(v["due_at"]):
            v["breached"] = True
            case.sla = sla
            fired += 1
            _breach(session, case, settings, now, clock)
    case.sla = sla
    return fired


def _breach(session: Session, case: Case, settings: Settings, now: datetime, clock: str) -> None:
    label = clock.replace("_", " ")
    ev = card.event(session, case, "sla_breached", "gripewatch", now, clock=clock)
    if case.status != "escalated":
        case.status, case.updated_at = "escalated", now
    card.escalation_post(
        session,
        case,
        settings,
        f"escalate:{case.id}:{clock}:{ev.id}",
        f"the {label} SLA of {case.priority} case #{case.id} is breached"
        f" (owner: {card.who(case.assignee) if case.assignee else 'nobody'}). Please step in.",
        at=now,
    )
    card.refresh(session, case, settings, now, ev)


def assign_queue(session: Session, settings: Settings, now: datetime) -> int:
    """Give unassigned open cases (oldest first) to agents with room."""
    if not settings.staff:
        return 0
    n = 0
    queued = session.scalars(
        select(Case).where(Case.assignee.is_(None), Case.status.in_(OPEN_STATUSES)).order_by(Case.id)
    ).all()
    for case in queued:
        agent = assign.pick(session, settings, now)
        if agent is None:
            break
        case.assignee = agent.slack_id
        session.flush()
        ev = card.event(session, case, "assigned", "gripewatch", now, to=agent.slack_id, from_queue=True)
        card.refresh(session, case, settings, now, ev)
        n += 1
    return n


def _hm(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
