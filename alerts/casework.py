"""Case work beyond the buttons: hand a case to a named colleague, and internal notes.

``reassign(session, settings, case_id, to, actor, now)`` gives the case to ``to`` (a Slack user
id on the staff roster) under the capacity rules of :mod:`alerts.assign`; ``add_note(...)``
records an internal note (a ``note`` event with its text). Both work the same from Slack (the
card's user select; a staff message in the case's thread), ``gripewatch cases reassign|note``
and the dashboard, in the caller's transaction: an audit event, a line in the case's thread
(for notes written outside Slack, which Slack users must see too) and the card updated in place.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gripewatch.alerts import assign, card
from gripewatch.alerts.actions import ActionRefused, Outcome
from gripewatch.config import Settings
from gripewatch.models import OPEN_STATUSES, Case, valid_id

NOTE_MAX = 3000  # characters of one note (a Slack section holds 3,000)


def _case(session: Session, case_id: int) -> Case:
    case = (
        session.get(Case, case_id, with_for_update=session.get_bind().dialect.name == "postgresql")
        if valid_id(case_id)
        else None
    )
    if case is None:
        raise ActionRefused(f"no case #{case_id}")
    return case


def name_of(settings: Settings, slack_id: str | None) -> str:
    member = assign.staff_member(settings, slack_id)
    return member.name if member is not None else (slack_id or "nobody")


def reassign(session: Session, settings: Settings, case_id: int, to: str, actor: str, now: datetime) -> Outcome:
    """Give case ``case_id`` to colleague ``to``; ActionRefused when it cannot be theirs."""
    case = _case(session, case_id)
    if case.status not in OPEN_STATUSES:
        raise ActionRefused(f"case #{case_id} is {case.status}")
    member = assign.staff_member(settings, to)
    if member is None:
        raise ActionRefused(f"{to} is not on the staff roster (staff[] in the config)")
    if case.assignee == to:
        raise ActionRefused(f"case #{case_id} is already {member.name}'s")
    ok, why = assign.has_room(session, settings, to)
    if not ok:
        raise ActionRefused(why)
    before = case.assignee
    case.assignee, case.updated_at = to, now
    session.flush()
    ev = card.event(session, case, "assigned", actor, now, to=to, before=before, by_hand=True)
    card.note(
        session,
        case,
        f"reassigned:{case.id}:{ev.id}",
        f"{card.who(actor)} handed case #{case.id} to {card.who(to)}"
        + (f" (was {card.who(before)})." if before else "."),
        "Reassigned",
        at=now,
    )
    card.refresh(session, case, settings, now, ev)
    return Outcome(case.id, case.status, f"case #{case.id} is now {member.name}'s")


def add_note(
    session: Session, settings: Settings, case_id: int, text: str, actor: str, now: datetime, post: bool = True
) -> Outcome:
    """Record an internal note on the case; ``post`` also puts it in the case's Slack thread."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if not text:
        raise ActionRefused("an empty note says nothing")
    if len(text) > NOTE_MAX:
        raise ActionRefused(f"a note holds at most {NOTE_MAX} characters ({len(text)} given)")
    case = _case(session, case_id)
    ev = card.event(session, case, "note", actor, now, text=text)
    case.updated_at = now
    if post:  # the thread note escapes it (alerts.mrkdwn): only our user mention stays markup
        card.note(session, case, f"note:{case.id}:{ev.id}", f"{card.who(actor)}: {text}", "Note", at=now)
    card.refresh(session, case, settings, now, ev)
    return Outcome(case.id, case.status, f"note added to case #{case.id}")
