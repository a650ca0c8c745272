"""What staff do to a case (from Slack buttons or the CLI): ``apply(session, settings, case_id, action, actor, now)``.

Each action checks it makes sense, changes the case, records a CaseEvent
(who, what, when) and queues the in-place card update — all in the caller's
transaction; the outbox delivers it. "Not a complaint" stores a ``feedback``
row (label 0) for every complaint mention of the case, for the model's
retraining, and closes the case. "Escalate" mentions the managers in the
escalations channel. "Assign to me" respects the clicker's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import assign, card, sla
from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.errors import GripewatchError
from gripewatch.models import Case, Feedback, Mention, valid_id

ACTIONS = card.ACTIONS


class ActionRefused(GripewatchError):
    """The action does not apply to the case in its current state (the message says why)."""


@dataclass(frozen=True)
class Outcome:
    case_id: int
    status: str
    message: str


def apply(session: Session, settings: Settings, case_id: int, action: str, actor: str, now: datetime) -> Outcome:
    """Perform ``action`` on case ``case_id`` as ``actor`` (a Slack user id); raise ActionRefused if it cannot."""
    if action not in ACTIONS:
        raise ActionRefused(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    case = (
        session.get(Case, case_id, with_for_update=session.get_bind().dialect.name == "postgresql")
        if valid_id(case_id)
        else None
    )
    if case is None:
        raise ActionRefused(f"no case #{case_id}")
    if case.status == "closed":
        raise ActionRefused(f"case #{case_id} is closed")
    msg = _ACTIONS[action](session, settings, case, actor, now)
    case.updated_at = now
    sla.schedule(case, settings)
    return Outcome(case.id, case.status, msg)


def _ack(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    if case.status != "new":
        raise ActionRefused(f"case #{case.id} is already {case.status}")
    case.status, case.acknowledged_at = "acknowledged", now
    if case.assignee is None:
        _take(session, settings, case, actor, now)
    card.refresh(session, case, settings, now, card.event(session, case, "acknowledged", actor, now))
    return f"case #{case.id} acknowledged"


def _take(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> card.CaseEvent:
    ok, why = assign.has_room(session, settings, actor)
    if not ok:
        raise ActionRefused(why)
    before = case.assignee
    case.assignee = actor
    session.flush()
    return card.event(session, case, "assigned", actor, now, to=actor, before=before)


def _assign_me(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    if case.assignee == actor:
        raise ActionRefused(f"case #{case.id} is already yours")
    if case.status in ("resolved",):
        raise ActionRefused(f"case #{case.id} is resolved")
    card.refresh(session, case, settings, now, _take(session, settings, case, actor, now))
    return f"case #{case.id} is now yours"


def _replied(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    if case.status == "resolved":
        raise ActionRefused(f"case #{case.id} is resolved")
    if case.first_response_at is None:
        case.first_response_at = now
        sla.stop(case, "first_response", settings)
    case.status = "waiting"
    card.refresh(session, case, settings, now, card.event(session, case, "replied", actor, now))
    return f"case #{case.id} is waiting on the customer"


def _resolve(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    if case.status == "resolved":
        raise ActionRefused(f"case #{case.id} is already resolved")
    if case.first_response_at is None:
        case.first_response_at = now
    case.status, case.resolved_at = "resolved", now
    if case.assignee is None:
        case.assignee = actor
    sla.stop(case, "first_response", settings)
    sla.stop(case, "resolution", settings)
    card.refresh(session, case, settings, now, card.event(session, case, "resolved", actor, now))
    return f"case #{case.id} resolved; a follow-up reminder comes in {settings.cases.follow_up_days:g} days"


def _escalate(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    if case.status == "escalated":
        raise ActionRefused(f"case #{case.id} is already escalated")
    case.status = "escalated"
    ev = card.event(session, case, "escalated", actor, now)
    card.escalation_post(
        session,
        case,
        settings,
        f"escalate:{case.id}:manual:{ev.id}",
        f"{card.who(actor)} escalated {case.priority} case #{case.id} (owner: "
        f"{card.who(case.assignee) if case.assignee else 'nobody'}). Please take a look.",
        at=now,
    )
    card.refresh(session, case, settings, now, ev)
    return f"case #{case.id} escalated to the managers"


def _not_complaint(session: Session, settings: Settings, case: Case, actor: str, now: datetime) -> str:
    mentions = session.scalars(select(Mention).where(Mention.case_id == case.id, Mention.is_complaint.is_(True))).all()
    for m in mentions:
        session.add(Feedback(mention_id=m.id, label=0, actor=actor, at=now))
    case.status, case.closed_at = "closed", now
    ev = card.event(session, case, "not_complaint", actor, now, mentions=[m.id for m in mentions])
    card.refresh(session, case, settings, now, ev)
    return f"case #{case.id} closed as not a complaint; {len(mentions)} label(s) stored for retraining"


_ACTIONS = {
    "acknowledge": _ack,
    "assign_me": _assign_me,
    "replied": _replied,
    "resolve": _resolve,
    "escalate": _escalate,
    "not_complaint": _not_complaint,
}


def refuse(
    session: Session, case: Case | None, channel: str, actor: str, text: str, key: str, at: datetime | None = None
) -> None:
    """Tell only the person who clicked why nothing happened (through the outbox)."""
    payload = {"case_id": case.id if case else None, "user": actor, "text": text}
    enqueue(session, key, "ephemeral", channel, payload, case, at)
