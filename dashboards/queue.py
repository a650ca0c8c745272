"""The case queue: filters in, one page of rows out (SQL does the filtering and paging)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from gripewatch.config import Settings
from gripewatch.models import Author, Case, Mention

OPEN = ("new", "acknowledged", "waiting", "escalated")
STATUSES = ("open", "all", "new", "acknowledged", "waiting", "escalated", "resolved", "closed", "not_complaint")
PRIORITIES = ("critical", "high", "normal", "low")
SLA_STATES = ("breached", "due", "ok", "answered")
_RANK = case({"critical": 0, "high": 1, "normal": 2, "low": 3}, value=Case.priority, else_=2)


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"
    priority: str | None = None
    brand: str | None = None
    source: str | None = None
    assignee: str | None = None  # a username, "me" or "none"
    topic: str | None = None
    sla: str | None = None
    page: int = 1

    @classmethod
    def from_query(cls, q: Any) -> QueueFilter:
        def pick(name: str, allowed: tuple[str, ...] | None = None) -> str | None:
            v = (q.get(name) or "").strip()[:128]
            return v if v and (allowed is None or v in allowed) else None

        try:
            page = max(1, min(int(q.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        return cls(
            status=pick("status", STATUSES) or "open",
            priority=pick("priority", PRIORITIES),
            brand=pick("brand"),
            source=pick("source"),
            assignee=pick("assignee"),
            topic=pick("topic"),
            sla=pick("sla", SLA_STATES),
            page=page,
        )

    def query_string(self, **change: Any) -> str:
        from urllib.parse import urlencode

        d = {k: v for k, v in {**self.__dict__, **change}.items() if v not in (None, "", 1) or k == "status"}
        return urlencode(d)


Targets = Mapping[str, timedelta]  # first-response target per priority (``cases.sla``)


def first_response_targets(settings: Settings) -> dict[str, timedelta]:
    return {p: timedelta(minutes=t.first_response_minutes) for p, t in settings.cases.sla.items()}


def _target(targets: Targets, priority: str) -> timedelta:
    return targets.get(priority) or targets.get("normal") or timedelta(hours=4)


def _clock(c: Any) -> tuple[datetime, datetime] | None:
    """The first-response clock Slack works to (``alerts.sla.plan``: reminder and due time, counted in
    ``cases.working_hours``), or None for a case without a stored clock."""
    fr = (c.sla or {}).get("first_response") or {}
    try:
        return datetime.fromisoformat(fr["remind_at"]), datetime.fromisoformat(fr["due_at"])
    except (KeyError, TypeError, ValueError):
        return None


def sla_state(c: Any, now: datetime, targets: Targets) -> str:
    """answered, or ok / due (after the 75 % reminder) / breached, by the case's stored SLA clock (the one
    Slack reminds and escalates by); a case without one is timed by wall clock against its priority's target."""
    if c.first_response_at is not None:
        return "answered"
    clock = _clock(c)
    if clock is None:
        target = _target(targets, c.priority)
        clock = c.opened_at + target * 0.75, c.opened_at + target
    remind, due = clock
    return "breached" if now > due else "due" if now > remind else "ok"


def _sla_condition(state: str, now: datetime, targets: Targets) -> Any:
    """SQL for :func:`sla_state` == ``state`` (not "answered") over unanswered cases: the stored clock's
    ISO times compare as strings (all are UTC, written by ``alerts.sla.plan``), else the wall-clock rule."""
    remind = Case.sla[("first_response", "remind_at")].as_string()
    due = Case.sla[("first_response", "due_at")].as_string()
    at = now.astimezone(UTC).isoformat()
    stored = {"breached": due < at, "due": and_(remind < at, due >= at), "ok": remind >= at}[state]

    def by_age(target: timedelta) -> Any:
        due_from, breach_from = now - target * 0.75, now - target
        if state == "breached":
            return Case.opened_at < breach_from
        if state == "due":
            return and_(Case.opened_at < due_from, Case.opened_at >= breach_from)
        return Case.opened_at >= due_from

    per_priority = [and_(Case.priority == p, by_age(t)) for p, t in targets.items()]
    per_priority.append(and_(Case.priority.not_in(list(targets)), by_age(_target(targets, "normal"))))
    return and_(
        Case.first_response_at.is_(None),
        or_(
            and_(remind.is_not(None), due.is_not(None), stored),
            and_(or_(remind.is_(None), due.is_(None)), or_(*per_priority)),
        ),
    )


def query_queue(
    s: Session, f: QueueFilter, user: str, now: datetime, targets: Targets, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of cases matching ``f`` and the number of all matches."""
    conds: list[Any] = []
    if f.status == "open":
        conds.append(Case.status.in_(OPEN))
    elif f.status != "all":
        conds.append(Case.status == f.status)
    if f.priority:
        conds.append(Case.priority == f.priority)
    if f.brand:
        conds.append(Case.brand == f.brand)
    if f.assignee == "none":
        conds.append(Case.assignee.is_(None))
    elif f.assignee:
        conds.append(Case.assignee == (user if f.assignee == "me" else f.assignee))
    if f.source:
        conds.append(exists().where(Mention.case_id == Case.id, Mention.source == f.source))
    if f.topic:
        like = f'%"{f.topic.replace("%", "").replace("_", "")}"%'
        conds.append(exists().where(Mention.case_id == Case.id, cast(Mention.analysis, String).like(like)))
    if f.sla == "answered":
        conds.append(Case.first_response_at.is_not(None))
    elif f.sla:
        conds.append(_sla_condition(f.sla, now, targets))
    total = s.scalar(select(func.count()).select_from(Case).where(*conds)) or 0
    order = (_RANK, Case.opened_at, Case.id) if f.status == "open" or f.status in OPEN else (Case.id.desc(),)
    q = (
        select(Case, Author.handle, Author.followers, Author.tier)
        .outerjoin(Author, Author.id == Case.author_id)
        .where(*conds)
        .order_by(*order)
        .limit(page_size)
        .offset((f.page - 1) * page_size)
    )
    rows = []
    for c, handle, followers, tier in s.execute(q).all():
        rows.append(
            {
                "id": c.id,
                "status": c.status,
                "priority": c.priority,
                "brand": c.brand,
                "author": handle,
                "followers": followers,
                "tier": tier,
                "assignee": c.assignee,
                "opened_at": c.opened_at,
                "mentions": c.mention_count,
                "summary": c.summary,
                "sla": sla_state(c, now, targets) if c.status in OPEN else "closed",
            }
        )
    return rows, total
