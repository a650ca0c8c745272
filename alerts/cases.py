"""Cases: one per customer problem. A new complaint opens one; anything the same
customer writes while it is open joins it (and goes to its thread and owner)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.models import Case, CaseEvent, Mention

OPEN_STATUSES = ("new", "acknowledged", "waiting", "escalated")
_PRIORITY_BY_SEVERITY = {"critical": "critical", "high": "high", "medium": "normal", "low": "low"}
#: Triggers whose cases go straight to the escalations channel (a manager is asked for, or legal/safety risk).
ESCALATE_TRIGGERS = {"manager", "legal", "safety"}
_RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}


def open_case_for(session: Session, author_id: int | None, brand: str | None) -> Case | None:
    """The author's open case with this brand, if any (the newest)."""
    if author_id is None:
        return None
    return session.scalars(
        select(Case)
        .where(Case.author_id == author_id, Case.brand == brand, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.id.desc())
        .limit(1)
    ).first()


def open_case(session: Session, mention: Mention, settings: Settings, now: datetime) -> Case:
    """Open a case for a complaint and queue its alert, in the caller's transaction."""
    priority = _PRIORITY_BY_SEVERITY.get(mention.severity or "low", "normal")
    case = Case(
        brand=mention.brand,
        author_id=mention.author_id,
        status="new",
        priority=priority,
        severity=mention.severity or "low",
        summary=mention.text[:280],
        opened_at=now,
        updated_at=now,
        mention_count=1,
    )
    session.add(case)
    session.flush()
    mention.case_id = case.id
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor="gripewatch",
            kind="opened",
            detail={"mention_id": mention.id, "priority": priority},
        )
    )
    triggers = set((mention.analysis or {}).get("escalation") or ())
    urgent = priority == "critical" or bool(triggers & ESCALATE_TRIGGERS)
    channel = settings.slack.channels.escalations if urgent else settings.slack.channels.alerts
    enqueue(
        session,
        f"opened:{mention.source}:{mention.external_id}",
        "new_case",
        channel,
        alert_payload(case, mention),
        case,
    )
    return case


def attach(session: Session, case: Case, mention: Mention, settings: Settings, now: datetime) -> None:
    """Add a customer's new mention to their open case and queue a thread update."""
    mention.case_id = case.id
    case.mention_count += 1
    case.updated_at = now
    new_priority = _PRIORITY_BY_SEVERITY.get(mention.severity or "low", "normal")
    if _RANK[new_priority] > _RANK.get(case.priority, 1):
        case.priority = new_priority
    session.add(
        CaseEvent(case_id=case.id, at=now, actor="gripewatch", kind="mention_added", detail={"mention_id": mention.id})
    )
    channel = case.slack_channel or settings.slack.channels.alerts
    enqueue(
        session,
        f"update:{mention.source}:{mention.external_id}",
        "case_update",
        channel,
        alert_payload(case, mention),
        case,
    )


def record_brand_reply(session: Session, case: Case, mention: Mention, now: datetime) -> None:
    """The brand answered the customer publicly: the first one is the case's first response."""
    mention.case_id = case.id
    if case.first_response_at is None:
        case.first_response_at = mention.created_at
        session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor=mention.author.handle if mention.author else "brand",
                kind="first_response",
                detail={"mention_id": mention.id},
            )
        )


def alert_payload(case: Case, mention: Mention) -> dict[str, Any]:
    a = mention.author
    analysis = mention.analysis or {}
    return {
        "case_id": case.id,
        "brand": case.brand,
        "priority": case.priority,
        "status": case.status,
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
