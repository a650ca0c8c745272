"""Cases: one per customer problem.

A complaint opens a case (priority scored, routed to a channel, assigned to
the least-loaded on-shift agent, SLA clocks started, alert queued). Whatever
the same customer writes while it is open — same author, the same
conversation, or an identity linked with ``gripewatch customers link`` —
joins that case: its priority can only rise, and the mention goes to the
case's Slack thread mentioning the owner, never as a new top-level alert. A
resolved case reopens when the customer writes again within
``cases.reopen_days``; their first mention after resolution is recorded as a
satisfaction signal either way.

Lifecycle: new → acknowledged → waiting (on customer) → resolved → closed,
plus escalated; every change is a CaseEvent (the audit trail).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import assign, card, incidents, memo, sla
from gripewatch.alerts.outbox import enqueue
from gripewatch.alerts.priority import RANK, Facts, merge, score
from gripewatch.config import Settings
from gripewatch.models import OPEN_STATUSES, Author, Case, CaseEvent, Incident, Mention

#: Escalation triggers whose cases go straight to the escalations channel (a manager is asked for, or a
#: legal or safety risk); churn intent and repeated contact raise priority but stay with the team.
ESCALATE_TRIGGERS = frozenset({"manager", "legal", "safety"})


def customer_author_ids(session: Session, author_id: int | None) -> list[int]:
    """The author and every identity linked to them (same ``customer_key``)."""
    if author_id is None:
        return []
    key = session.scalar(select(Author.customer_key).where(Author.id == author_id))
    if not key:
        return [author_id]
    return list(session.scalars(select(Author.id).where(Author.customer_key == key)).all())


def case_for(session: Session, mention: Mention, statuses: tuple[str, ...] = OPEN_STATUSES) -> Case | None:
    """The customer's newest case with this brand in ``statuses``: by author, linked identity or conversation."""
    page = memo.current(session)
    if page is not None and mention.author_id is not None and set(statuses) <= set(memo.ROUTED):
        return page.newest_case(session, mention.author_id, mention.brand, statuses)  # looked up once per page
    ids = customer_author_ids(session, mention.author_id)
    if ids:
        found = session.scalars(
            select(Case)
            .where(Case.author_id.in_(ids), Case.brand == mention.brand, Case.status.in_(statuses))
            .order_by(Case.id.desc())
            .limit(1)
        ).first()
        if found is not None:
            return found
    if mention.conversation_id and mention.author_id is None:
        return session.scalars(
            select(Case)
            .join(Mention, Mention.case_id == Case.id)
            .where(
                Mention.platform == mention.platform,
                Mention.conversation_id == mention.conversation_id,
                Case.brand == mention.brand,
                Case.status.in_(statuses),
            )
            .order_by(Case.id.desc())
            .limit(1)
        ).first()
    return None


def open_case_for(session: Session, author_id: int | None, brand: str | None) -> Case | None:
    """The author's (or a linked identity's) open case with this brand, if any (the newest)."""
    ids = customer_author_ids(session, author_id)
    if not ids:
        return None
    return session.scalars(
        select(Case)
        .where(Case.author_id.in_(ids), Case.brand == brand, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id.desc())
        .limit(1)
    ).first()


def _facts(case: Case, mention: Mention, now: datetime) -> Facts:
    a = case.author or mention.author
    waiting = 0.0 if case.first_response_at else max(0.0, (now - sla.since(case)).total_seconds() / 3600)
    return Facts(
        severity=case.severity,
        escalation=tuple((mention.analysis or {}).get("escalation", [])),
        followers=a.followers if a else None,
        tier=a.tier if a else None,
        lifetime_value=a.lifetime_value if a else None,
        mentions=case.mention_count,
        waiting_hours=waiting,
    )


def _rescore(case: Case, mention: Mention, settings: Settings, now: datetime) -> bool:
    """Recompute the score; the priority only rises. True when it rose."""
    p = score(_facts(case, mention, now), settings.cases.priority)
    case.priority_parts, case.priority_score = merge(case.priority_parts or {}, p.parts)
    if RANK[p.level] > RANK.get(case.priority, 1):
        case.priority = p.level
        return True
    return False


def route(settings: Settings, brand: str | None, severity: str, topics: list[str], escalation: list[str]) -> str:
    """The channel of a new case: the first matching ``slack.routing`` rule, else by severity."""
    for r in settings.slack.routing:
        if r.severity and severity not in r.severity:
            continue
        if r.brand and brand not in r.brand:
            continue
        if r.topic and not set(r.topic) & set(topics):
            continue
        if r.escalation is not None and r.escalation != bool(escalation):
            continue
        return r.channel
    if severity == "critical" or ESCALATE_TRIGGERS & set(escalation):
        return settings.slack.channels.escalations
    return settings.slack.channels.alerts


def is_backfill(mention: Mention, settings: Settings, now: datetime) -> bool:
    """The post was already older than ``cases.backfill_after_hours`` when we collected it."""
    return now - mention.created_at > timedelta(hours=settings.cases.backfill_after_hours)


def open_case(session: Session, mention: Mention, settings: Settings, now: datetime) -> Case:
    """Open a case for a complaint, assign it and queue its alert, in the caller's transaction.

    Its clocks start at the customer's post (``customer_since``), not at collection. A post already older
    than ``cases.backfill_after_hours`` opens a ``backfill`` case: listed and counted, but given no card of
    its own (the run posts one summary instead, ``backfill_summary``)."""
    case = Case(
        brand=mention.brand,
        author_id=mention.author_id,
        status="new",
        priority="low",
        severity=mention.severity or "low",
        summary=mention.text[:280],
        opened_at=now,
        updated_at=now,
        mention_count=1,
        customer_since=min(mention.created_at, now),
        backfill=is_backfill(mention, settings, now),
    )
    session.add(case)
    session.flush()
    if (page := memo.current(session)) is not None:
        page.add_case(case)
    mention.case_id = case.id
    _rescore(case, mention, settings, now)
    analysis = mention.analysis or {}
    channel = route(settings, case.brand, case.severity, analysis.get("topics", []), analysis.get("escalation", []))
    case.slack_channel = None
    card.record(
        session,
        case,
        "opened",
        "gripewatch",
        now,
        mention_id=mention.id,
        priority=case.priority,
        parts=case.priority_parts,
    )
    agent = assign.pick(session, settings, now) if settings.staff else None
    if agent is not None:
        case.assignee = agent.slack_id
        card.record(session, case, "assigned", "gripewatch", now, to=agent.slack_id)
    elif settings.staff:
        card.record(session, case, "queued", "gripewatch", now, reason="every on-shift agent is at capacity")
    sla.plan(case, settings)
    payload = card.card_payload(session, case, settings, now)  # its first query writes the case (autoflush)
    if settings.staff and agent is None:
        payload["queue_note"] = "Unassigned: every on-shift agent is at capacity — waiting in the queue."
    incident = incidents.consider(session, case, mention, settings, now)
    if not case.backfill and (incident is None or incidents.needs_own_card(case, mention)):
        enqueue(session, f"opened:{mention.source}:{mention.external_id}", "new_case", channel, payload, case, now)
    return case


def post_card(session: Session, case: Case, mention: Mention, settings: Settings, now: datetime) -> None:
    """Give a case without a card (a backfill case whose customer is writing now) its own card."""
    analysis = mention.analysis or {}
    channel = route(settings, case.brand, case.severity, analysis.get("topics", []), analysis.get("escalation", []))
    payload = card.card_payload(session, case, settings, now)
    enqueue(session, f"opened:{mention.source}:{mention.external_id}", "new_case", channel, payload, case, now)


def attach(session: Session, case: Case, mention: Mention, settings: Settings, now: datetime) -> None:
    """The customer wrote again: join the case, raise its priority, post in its thread to the owner."""
    mention.case_id = case.id
    case.mention_count += 1
    case.updated_at = now
    if case.customer_since is None or mention.created_at < case.customer_since:
        case.customer_since = mention.created_at  # collected out of order: the clock starts at the earliest
    if mention.severity and _sev_rank(mention.severity) > _sev_rank(case.severity):
        case.severity = mention.severity
    before = case.priority
    raised = _rescore(case, mention, settings, now)
    ev = card.record(session, case, "mention_added", "gripewatch", now, mention_id=mention.id)
    if (case.backfill or case.incident_id) and not incidents.has_card(session, case):
        # no card of its own yet: a backlog customer who is here now, or an incident member who became urgent
        if (case.backfill and not case.incident_id and not is_backfill(mention, settings, now)) or (
            case.incident_id and incidents.needs_own_card(case, mention)
        ):
            post_card(session, case, mention, settings, now)
        elif case.incident_id:
            incident = session.get(Incident, case.incident_id)
            if incident is not None:
                incidents.render(session, incident, settings, now)
    if raised:
        card.record(session, case, "priority_raised", "gripewatch", now, before=before, after=case.priority)
        sla.plan(case, settings)
    else:  # more points, same level: waiting now reaches the next level sooner
        sla.schedule(case, settings)
    enqueue(
        session,
        f"update:{mention.source}:{mention.external_id}",
        "case_update",
        case.slack_channel or settings.slack.channels.alerts,
        {**_mention_payload(case, mention), "raised_from": before if raised else None},
        case,
        now,
    )
    card.refresh(session, case, settings, now, ev)


def after_resolution(session: Session, case: Case, mention: Mention, settings: Settings, now: datetime) -> bool:
    """A mention of a customer whose case is resolved: record satisfaction; reopen if it is a new grievance.

    Returns True when the mention was taken by the case.
    """
    if case.resolved_at is None or now - case.resolved_at > timedelta(days=settings.cases.reopen_days):
        return False
    # asked of the database, not of ``case.events``: a case held across a page's mentions keeps a stale list
    said = select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.kind == "satisfaction").limit(1)
    if session.scalar(said) is None:
        card.record(
            session,
            case,
            "satisfaction",
            "gripewatch",
            now,
            mention_id=mention.id,
            sentiment=mention.sentiment,
            complaint=mention.is_complaint,
            satisfied=not mention.is_complaint and (mention.sentiment or 0) >= 0,
        )
    if not mention.is_complaint and (mention.sentiment or 0) >= -0.05:
        mention.case_id = case.id
        return True
    case.status, case.resolved_at, case.updated_at = "acknowledged" if case.assignee else "new", None, now
    card.record(session, case, "reopened", "gripewatch", now, mention_id=mention.id)
    case.sla = {}
    sla.plan(case, settings, start=min(mention.created_at, now))
    attach(session, case, mention, settings, now)
    return True


def record_brand_reply(session: Session, case: Case, mention: Mention, now: datetime, settings: Settings) -> None:
    """The brand answered the customer publicly: the first one is the case's first response."""
    mention.case_id = case.id
    if case.first_response_at is None:
        case.first_response_at = mention.created_at
        ev = card.record(
            session,
            case,
            "first_response",
            (mention.author.handle or "brand") if mention.author else "brand",
            now,
            mention_id=mention.id,
        )
        if case.status in ("new", "acknowledged"):
            case.status = "waiting"
        sla.stop(case, "first_response", settings)
        card.refresh(session, case, settings, now, ev)


def _sev_rank(s: str) -> int:
    return {"low": 0, "medium": 1, "high": 2, "critical": 3}.get(s, 0)


def _mention_payload(case: Case, mention: Mention) -> dict[str, Any]:
    a = mention.author
    analysis = mention.analysis or {}
    return {
        "case_id": case.id,
        "brand": case.brand,
        "priority": case.priority,
        "status": case.status,
        "assignee": case.assignee,
        "mention_count": case.mention_count,
        "platform": mention.platform,
        "source": mention.source,
        "url": mention.url,
        "text": mention.text,
        "created_at": mention.created_at.isoformat(),
        "author": {"handle": a.handle, "name": a.display_name, "followers": a.followers} if a else {},
        "sentiment": mention.sentiment,
        "complaint_probability": mention.complaint_probability,
        "severity": mention.severity,
        "topics": analysis.get("topics", []),
        "escalation": analysis.get("escalation", []),
        "reasons": analysis.get("reasons", []),
    }
