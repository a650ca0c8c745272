"""Case actions from the dashboard: exactly the Slack buttons, through :func:`alerts.actions.apply`.

The dashboard user acts as their staff member (``dashboard.users[].slack_id``),
so capacity, assignment, the audit trail and the Slack card (updated in place
through the outbox) are the same whichever way staff work a case.
"""

from __future__ import annotations

from datetime import datetime

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
