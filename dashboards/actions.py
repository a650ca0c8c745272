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

_DONE = {
    "acknowledge": "Acknowledged case #{id}",
    "assign_me": "Case #{id} is now yours",
    "replied": "Marked case #{id} as replied",
    "resolve": "Resolved case #{id}",
    "escalate": "Escalated case #{id} to the managers",
    "not_complaint": "Closed case #{id} as not a complaint",
}


def done_message(action: str, case_id: int) -> str:
    """What the banner says after ``action`` worked: "Acknowledged case #12"."""
    return _DONE.get(action, "Updated case #{id}").format(id=case_id)


def sentence(message: str) -> str:
    """A library message ("case #12 is now Marco's") as a banner sentence ("Case #12 is now Marco's.")."""
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?" else message + "."


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


def group_into_incident(
    session: Session,
    settings: Settings,
    case_ids: list[int],
    incident_id: int | None,
    title: str,
    actor: str,
    now: datetime,
) -> str:
    """The dashboard's bulk selection: the selected open cases join incident ``incident_id``, or form a new
    one named ``title`` (one brand per incident). ActionError when nothing can be grouped."""
    import uuid

    from sqlalchemy import select

    from gripewatch.alerts import incidents
    from gripewatch.models import OPEN_STATUSES, Case, Incident, valid_id

    ids = sorted({i for i in case_ids if valid_id(i)})[:500]
    if not ids:
        raise ActionError("select at least one open case")
    cases = list(session.scalars(select(Case).where(Case.id.in_(ids), Case.status.in_(OPEN_STATUSES))))
    if not cases:
        raise ActionError("none of the selected cases is open")
    if incident_id is not None:
        inc = session.get(Incident, incident_id) if valid_id(incident_id) else None
        if inc is None or inc.status == "resolved":
            raise ActionError(f"incident #{incident_id} is {'resolved' if inc else 'not there'}")
        if any(c.brand != inc.brand for c in cases):
            raise ActionError(f"incident #{inc.id} is about {inc.brand}; every selected case must be too")
        incidents.join(session, settings, inc, cases, now)
        return f"{len(cases)} case{'' if len(cases) == 1 else 's'} added to incident #{inc.id}"
    title = " ".join(title.split())[:200]
    if not title:
        raise ActionError("name the new incident (what the customers' problem is)")
    brands = {c.brand for c in cases}
    if len(brands) > 1:
        raise ActionError("an incident is about one brand; select cases of one brand")
    inc = incidents.form(session, settings, brands.pop(), f"manual:{uuid.uuid4().hex[:12]}", title, cases, now)
    inc.detail = {**(inc.detail or {}), "formed_by": actor}
    return f"incident #{inc.id} opened with {len(cases)} case{'' if len(cases) == 1 else 's'}"
