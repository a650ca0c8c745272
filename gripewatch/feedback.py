"""Staff corrections of the complaint decision: stored per mention, used to retrain the model.

"Not a complaint" comes from the Slack button or the dashboard; "missed complaint"
from ``gripewatch feedback MENTION complaint`` — which also opens a case, since a
complaint someone noticed must still be answered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import cases
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import InputError
from gripewatch.models import Feedback, Mention, valid_id

LABELS = {"complaint": 1, "not-complaint": 0}


def record(session: Session, settings: Settings, mention_id: int, label: int, actor: str, now: datetime) -> str:
    """Store one correction; a missed complaint with no case opens one. Returns what happened, for people."""
    m = session.get(Mention, mention_id) if valid_id(mention_id) else None
    if m is None:
        raise InputError(f"no mention #{mention_id}")
    session.add(Feedback(mention_id=m.id, label=label, actor=actor, at=now))
    if label == 1 and m.case_id is None and not m.is_own and m.brand is not None:
        m.is_complaint = True
        case = cases.case_for(session, m)
        if case is not None:
            cases.attach(session, case, m, settings, now)
            return f"mention #{m.id} marked a complaint and added to case #{case.id}"
        case = cases.open_case(session, m, settings, now)
        return f"mention #{m.id} marked a complaint; case #{case.id} opened"
    what = "a complaint" if label else "not a complaint"
    return f"mention #{m.id} marked {what}"


def training_rows(db: Database) -> list[tuple[str, int]]:
    """Every corrected mention as (text, label): the newest correction wins; purged texts are left out."""
    with db.sessions() as s:
        rows = s.execute(
            select(Feedback.mention_id, Feedback.label, Mention.text)
            .join(Mention, Mention.id == Feedback.mention_id)
            .order_by(Feedback.at, Feedback.id)
        ).all()
    latest = {mid: (text, label) for mid, label, text in rows}
    return [(text, label) for text, label in latest.values() if text and text.strip()]
