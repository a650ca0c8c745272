"""Case actions from the dashboard, matching the Slack buttons. Each one records a CaseEvent.

:func:`apply_dashboard_action` is deliberately small: the Slack-side case
lifecycle (alerts/) owns the full rules; at merge both should call one
function. Actions: acknowledge, assign_to_me, resolve, escalate, not_complaint.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.errors import GripewatchError
from gripewatch.models import Case, CaseEvent, Feedback, Mention

OPEN = ("new", "acknowledged", "waiting", "escalated")
ACTIONS = {
    "acknowledge": "Acknowledge",
    "assign_to_me": "Assign to me",
    "resolve": "Resolve",
    "escalate": "Escalate",
    "not_complaint": "Not a complaint",
}


class ActionError(GripewatchError):
    """A dashboard action that does not apply to the case (unknown case, closed case, unknown action)."""


def apply_dashboard_action(session: Session, case_id: int, action: str, actor: str, now: datetime) -> CaseEvent:
    """Apply ``action`` to case ``case_id`` as ``actor`` in the caller's transaction; return the audit event."""
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}")
    case = session.get(Case, case_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if case is None:
        raise ActionError(f"no case #{case_id}")
    before = case.status
    if before not in OPEN:
        raise ActionError(f"case #{case_id} is {before}; it cannot be changed from the dashboard")
    detail: dict[str, object] = {"via": "dashboard", "from": before}
    if action == "acknowledge":
        if before != "new":
            raise ActionError(f"case #{case_id} is already {before}")
        case.status, kind = "acknowledged", "acknowledged"
        if case.assignee is None:
            case.assignee = actor
            detail["assignee"] = actor
    elif action == "assign_to_me":
        detail["previous_assignee"] = case.assignee
        case.assignee, kind = actor, "assigned"
        detail["assignee"] = actor
    elif action == "resolve":
        case.status, case.resolved_at, kind = "resolved", now, "resolved"
    elif action == "escalate":
        if before == "escalated":
            raise ActionError(f"case #{case_id} is already escalated")
        case.status, kind = "escalated", "escalated"
    else:  # not_complaint: close it and teach the model (learn from every contact)
        case.status, case.resolved_at, kind = "not_complaint", now, "not_complaint"
        ids = session.scalars(select(Mention.id).where(Mention.case_id == case_id, Mention.is_own.is_(False))).all()
        for mid in ids:
            session.add(Feedback(mention_id=mid, label=0, actor=actor, at=now))
        detail["feedback_mentions"] = list(ids)
    detail["to"] = case.status
    case.updated_at = now
    event = CaseEvent(case_id=case_id, at=now, actor=actor, kind=kind, detail=detail)
    session.add(event)
    session.flush()
    return event
