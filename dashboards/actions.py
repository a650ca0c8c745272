"""Case actions from the dashboard: exactly the Slack buttons, through :func:`alerts.actions.apply`.

The dashboard user acts as their staff member (``dashboard.users[].slack_id``),
so capacity, assignment, the audit trail and the Slack card (updated in place
through the outbox) are the same whichever way staff work a case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gripewatch.alerts.actions import ActionRefused, Outcome, apply
from gripewatch.config import DashboardConfig, Settings

ACTIONS = {
    "acknowledge": "Acknowledge",
    "assign_me": "Assign to me",
    "replied": "Replied",
    "resolve": "Resolve",
    "escalate": "Escalate",
    "not_complaint": "Not a complaint",
}

ActionError = ActionRefused
INCIDENT_ACTIONS = {
    "acknowledge": "Acknowledge all",
    "update": "Post a status update to every case",
    "resolve": "Resolve all",
    "follow_up": "Schedule every follow-up",
}


def actor_id(cfg: DashboardConfig, username: str) -> str:
    """Who a dashboard user acts as: their staff roster id when linked, else their user name."""
    user = next((u for u in cfg.users if u.username == username), None)
    return user.slack_id if user is not None and user.slack_id else username


def apply_dashboard_action(
    session: Session, settings: Settings, case_id: int, action: str, actor: str, now: datetime
) -> Outcome:
    """Apply ``action`` (a key of :data:`ACTIONS`) to case ``case_id`` as ``actor``; ActionError if refused."""
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}")
    return apply(session, settings, case_id, action, actor, now)


def apply_incident_action(
    session: Session, settings: Settings, incident_id: int, action: str, actor: str, now: datetime, text: str = ""
) -> str:
    """An incident action (a key of :data:`INCIDENT_ACTIONS`) on every member case; ActionError if refused."""
    from gripewatch.alerts.incidents import IncidentRefused, act

    try:
        return act(session, settings, incident_id, action, actor, now, text=text)
    except IncidentRefused as e:
        raise ActionError(str(e)) from None


def incident_panel(
    session: Session, settings: Settings, incident_id: int | None, now: datetime
) -> dict[str, Any] | None:
    """What the queue shows above an incident's cases (None when not filtered to one)."""
    from gripewatch.alerts.incidents import summary
    from gripewatch.models import Incident

    inc = session.get(Incident, incident_id) if incident_id is not None else None
    if inc is None:
        return None
    return {**summary(session, inc, settings, now), "action_labels": INCIDENT_ACTIONS}
