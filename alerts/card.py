"""The case card (what Slack and the console show) and the outbox messages of a case.

Every change of a case is a :class:`CaseEvent` (``event``) and, once the case
has a card, an in-place update of that card (``refresh``): the card is the
whole current state — priority and why, the quoted post, the customer, the
scores, SLA due times, owner, who did what and when, and the suggested reply.
Thread notes (``note``) and escalation posts (``escalation_post``) go through
the outbox too, each with its own idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import ACTIONS, memo, mrkdwn
from gripewatch.alerts.outbox import enqueue
from gripewatch.alerts.reply import first_response_p90, suggested_reply
from gripewatch.config import Settings
from gripewatch.models import Case, CaseEvent, Mention

__all__ = ["ACTIONS", "CaseEvent", "card_payload", "escalation_post", "event", "note", "record", "refresh", "who"]

_VERBS = {
    "opened": "opened",
    "assigned": "assigned",
    "queued": "queued (everyone is at capacity)",
    "acknowledged": "acknowledged",
    "replied": "replied to the customer",
    "first_response": "brand replied publicly",
    "resolved": "resolved",
    "escalated": "escalated",
    "not_complaint": "marked not a complaint",
    "mention_added": "customer wrote again",
    "reopened": "reopened (customer wrote again)",
    "sla_reminder": "SLA reminder",
    "sla_breached": "SLA breached",
    "follow_up": "follow-up due",
    "satisfaction": "customer wrote after resolution",
    "closed": "closed",
    "priority_raised": "priority raised",
    "reply_written": "wrote a reply",
    "reply_approved": "approved the reply",
    "reply_posted": "posted the reply",
    "reply_failed": "reply not posted",
    "erased": "erased on request",
    "name_erased": "a name in it was erased on request",
    "mention_deleted": "the customer deleted a post",
    "note": "note",
}


def event(session: Session, case: Case, kind: str, actor: str, now: datetime, **detail: Any) -> CaseEvent:
    """Record one change in the audit trail (written at once: its id is known)."""
    ev = record(session, case, kind, actor, now, **detail)
    session.flush()
    return ev


def record(session: Session, case: Case, kind: str, actor: str, now: datetime, **detail: Any) -> CaseEvent:
    """Record one change in the audit trail, written with the session's next flush (in the order recorded;
    the pipeline routes a page's mentions with a flush per step, not per event)."""
    ev = CaseEvent(case_id=case.id, at=now, actor=actor, kind=kind, detail=detail)
    session.add(ev)
    if (page := memo.current(session)) is not None:
        page.recorded.add(ev)
    return ev


def who(actor: str) -> str:
    """How a note names whoever acted: a Slack mention for a user id (:func:`alerts.mrkdwn.user`), else the
    name as written, its angle brackets made harmless (notes keep well-formed user mentions)."""
    if actor in ("gripewatch", ""):
        return "gripewatch"
    return mrkdwn.user(actor) if mrkdwn.is_user(actor) else actor.replace("<", "‹").replace(">", "›")


def lead_mention(session: Session, case: Case) -> Mention | None:
    """The post the card quotes: the most severe complaint of the case, else the first mention."""
    ms = session.execute(  # the scores only (a case's posts are loaded one, not all, with their payloads)
        select(Mention.id, Mention.is_complaint, Mention.complaint_probability)
        .where(Mention.case_id == case.id)
        .order_by(Mention.id)
    ).all()
    complaints = [m for m in ms if m.is_complaint] or list(ms)
    best = max(complaints, key=lambda m: m.complaint_probability or 0) if complaints else None
    return session.get(Mention, best.id) if best is not None else None


def card_payload(
    session: Session,
    case: Case,
    settings: Settings,
    now: datetime,
    p90_of: Callable[[str], timedelta | None] | None = None,
) -> dict[str, Any]:
    """Everything the card shows, as plain data (rendered by the Slack and console notifiers).

    ``p90_of(priority)`` gives the measured p90 first response when the caller keeps it (the dashboard
    caches it for a few minutes); by default it is measured now."""
    m = lead_mention(session, case)
    a = case.author
    analysis = (m.analysis if m else None) or {}
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()

    def measure() -> timedelta | None:
        c = settings.cases
        return first_response_p90(session, case.priority, now, c.p90_window_days, c.p90_min_samples)

    page = memo.current(session)
    if p90_of is not None:
        p90 = p90_of(case.priority)
    else:
        p90 = page.first_response_p90(case.priority, measure) if page is not None else measure()
    staff = {s.slack_id: s.name for s in settings.staff}
    sla = case.sla or {}
    since = case.customer_since or case.opened_at
    answered = case.first_response_at
    return {
        "case_id": case.id,
        "brand": case.brand,
        "status": case.status,
        "priority": case.priority,
        "priority_score": case.priority_score,
        "priority_parts": dict(case.priority_parts or {}),
        "mention_count": case.mention_count,
        "platform": m.platform if m else None,
        "source": m.source if m else None,
        "url": m.url if m else None,
        "text": (m.text or case.summary) if m else case.summary,  # a forgotten post: what the summary says
        "created_at": m.created_at.isoformat() if m else None,
        "author": {
            "handle": a.handle,
            "name": a.display_name,
            "followers": a.followers,
            "tier": a.tier,
            "vip": (a.tier or "").lower() in ("vip", "gold") or (a.lifetime_value or 0) >= 10_000,
        }
        if a
        else {},
        "sentiment": m.sentiment if m else None,
        "complaint_probability": m.complaint_probability if m else None,
        "severity": case.severity,
        "topics": analysis.get("topics", []),
        "escalation": analysis.get("escalation", []),
        "reasons": analysis.get("reasons", []),
        "assignee": case.assignee,
        "assignee_name": staff.get(case.assignee or ""),
        "sla": {
            k: {"due_at": v.get("due_at"), "breached": v.get("breached", False)}
            for k, v in sla.items()
            if k in ("first_response", "resolution") and isinstance(v, dict) and not v.get("done")
        },
        "customer_since": since.isoformat(),
        "first_response_minutes": round((answered - since).total_seconds() / 60, 1) if answered else None,
        "waiting_minutes": None if answered else round(max(0.0, (now - since).total_seconds()) / 60, 1),
        "backfill": bool(case.backfill),
        "history": [
            {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "text": _VERBS.get(e.kind, e.kind)}
            for e in events
        ][-10:],
        "suggested_reply": suggested_reply(
            a.handle if a else None, case.brand, analysis.get("topics", []), p90, settings.cases.canned_replies
        ),
        "measured_p90_minutes": round(p90.total_seconds() / 60, 1) if p90 else None,
        "actions": [] if case.status == "closed" else list(ACTIONS) + _reply_actions(session, case, settings),
        "replies": _replies(session, case),
    }


def _reply_actions(session: Session, case: Case, settings: Settings) -> list[str]:
    """Reply (when replying is on) and Approve (while a reply on a sensitive case waits)."""
    if not settings.reply.enabled:
        return []
    from gripewatch.alerts.answer import pending_approval

    return ["reply"] + (["approve"] if pending_approval(session, case.id) else [])


def _replies(session: Session, case: Case) -> list[dict[str, Any]]:
    from gripewatch.models import Reply

    if (page := memo.current(session)) is not None and page.has_no_replies(case.id):
        return []  # the page read which of its cases have replies (a new case has none)
    rows = session.scalars(select(Reply).where(Reply.case_id == case.id).order_by(Reply.id)).all()
    return [
        {"id": r.id, "status": r.status, "public": r.public, "writer": r.writer, "url": r.url, "platform": r.platform}
        for r in rows
    ]


def refresh(session: Session, case: Case, settings: Settings, now: datetime, cause: CaseEvent) -> None:
    """Queue an in-place update of the case's card showing its current state."""
    session.flush()
    payload = card_payload(session, case, settings, now)
    payload["last_change"] = f"{_VERBS.get(cause.kind, cause.kind)} by {who(cause.actor)}"
    key = f"card:{case.id}:{cause.id}"
    if (page := memo.current(session)) is not None and page.fresh_event(cause):
        page.keys.add(key)  # an event of this page: no row can have its key yet
    enqueue(session, key, "card_update", case.slack_channel or "", payload, case, now)


def note(session: Session, case: Case, key: str, text: str, title: str = "", at: datetime | None = None) -> None:
    """Queue a reply in the case's thread."""
    payload = {"case_id": case.id, "title": title, "text": text}
    enqueue(session, key, "note", case.slack_channel or "", payload, case, at)


def escalation_post(
    session: Session, case: Case, settings: Settings, key: str, text: str, at: datetime | None = None
) -> None:
    """Queue a post in the escalations channel mentioning every manager."""
    from gripewatch.alerts.assign import managers

    tags = " ".join(mrkdwn.user(m.slack_id) for m in managers(settings)) or "(no managers in the staff roster)"
    payload = {"case_id": case.id, "title": f"Escalation · case #{case.id}", "text": f"{tags} {text}"}
    enqueue(session, key, "escalation", settings.slack.channels.escalations, payload, case, at)
