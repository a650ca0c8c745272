"""The alert outbox: written in the transaction that causes an alert, delivered after.

``enqueue`` adds a row (idempotent on its key). ``dispatch`` delivers due rows
in order, one case at a time: a case's later alerts wait while an earlier one
is undelivered, and updates go into the thread of the case's first message.
Failures back off exponentially (or as long as the service asked); a row is
given up (``dead``) only after ``max_attempts`` or a permanent refusal, and
stays visible for an operator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as sa_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts import memo
from gripewatch.alerts.notify import Alert, Notifier
from gripewatch.alerts.pacing import Pacer, shared
from gripewatch.config import OutboxConfig
from gripewatch.errors import NotifyError
from gripewatch.models import Case, Incident, Outbox, utcnow

log = logging.getLogger(__name__)


def enqueue(
    session: Session,
    key: str,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    case: Case | None = None,
    at: datetime | None = None,
) -> Outbox | None:
    """Add an alert to the outbox unless one with ``key`` exists; return the new row.

    ``at`` is the time of the change that causes it (the caller's clock; default now): the row is due then.
    """
    page = memo.current(session)
    if page.exists(session, key) if page is not None else session.scalar(select(Outbox.id).where(Outbox.key == key)):
        return None
    if page is not None:
        page.queued(key)
    row = Outbox(
        key=key,
        kind=kind,
        channel=channel,
        payload=payload,
        case_id=case.id if case else None,
        created_at=at or utcnow(),
        next_attempt_at=at or utcnow(),
    )
    session.add(row)
    return row


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)
    #: refusals for a configuration reason (each message once): these alerts reach nobody until it is fixed
    refused: list[str] = field(default_factory=list)
    halted: bool = False  # stopped early: the refusal holds for every alert


def dispatch(
    sessions: Callable[[], Session],
    notifier: Notifier,
    cfg: OutboxConfig,
    now: Callable[[], datetime] = utcnow,
    limit: int = 500,
    pacer: Pacer | None = None,
    max_seconds: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchResult:
    """Deliver every due outbox row, most urgent first; each outcome is committed on its own.

    Rows go out by urgency (incident cards, then cases by priority -- critical, high, normal, low --
    with rows without a case ranked high), and in order within a case. A notifier that posts to Slack
    (``paced``) is paced per channel (``outbox.per_channel_per_second``, ``outbox.burst``): a row whose
    channel has no room yet waits, with its case's later rows, while other channels go on; once every
    due row is waiting for its channel, the dispatcher sleeps until the first channel has room, for at
    most ``max_seconds`` in all (the rest goes out on the next run).
    """
    result = DispatchResult()
    if pacer is None and getattr(notifier, "paced", False) and cfg.per_channel_per_second > 0:
        pacer = shared(cfg.per_channel_per_second, cfg.burst)
    later: set[int] = set()  # rows left for a later run (not due, or behind a row that is not)
    held: set[int] = set()  # units (cases, incidents) with a row that is not due or failed: the rest waits
    started = time.monotonic()
    while True:
        with sessions() as s:
            ids = [
                i
                for i in s.scalars(
                    select(Outbox.id)
                    .outerjoin(Case, Case.id == Outbox.case_id)
                    .where(Outbox.sent_at.is_(None), Outbox.dead.is_(False))
                    .where(Outbox.kind != "reply")  # platform replies: alerts/answer.py posts them
                    .order_by(_URGENCY, Outbox.id)
                ).all()
                if i not in later
            ][:limit]
        if not ids:
            return result
        paced = _dispatch_rows(sessions, notifier, cfg, now, ids, held, later, result, pacer)
        if result.halted:
            return result
        if paced is None:
            continue
        if time.monotonic() - started + paced > max_seconds:
            result.waiting += sum(1 for i in ids if i not in later)
            return result
        sleep(paced)


#: delivery order: incident cards first, then by the case's priority; rows without a case rank as high
_URGENCY = sa_case(
    (Outbox.kind.in_(("incident", "incident_update", "incident_note")), 0),
    (Outbox.case_id.is_(None), 2),
    else_=sa_case({"critical": 1, "high": 2, "normal": 3, "low": 4}, value=Case.priority, else_=3),
)


def _dispatch_rows(
    sessions: Callable[[], Session],
    notifier: Notifier,
    cfg: OutboxConfig,
    now: Callable[[], datetime],
    ids: list[int],
    held: set[int],
    later: set[int],
    result: DispatchResult,
    pacer: Pacer | None,
) -> float | None:
    """One pass over ``ids``; the seconds until a channel has room again if a row waited for one, else None."""
    paced: set[int] = set()  # units waiting for their channel in this pass
    full: set[str] = set()  # channels without room in this pass: their less urgent rows must not overtake
    wait: float | None = None
    for row_id in ids:
        with sessions() as s, s.begin():
            row = s.get(Outbox, row_id, with_for_update=s.get_bind().dialect.name == "postgresql")
            if row is None or row.sent_at is not None or row.dead:
                continue
            unit = _unit(row)
            if unit is not None and unit in paced:
                continue
            if (unit is not None and unit in held) or row.next_attempt_at > now():
                result.waiting += 1
                later.add(row_id)
                if unit is not None:
                    held.add(unit)
                continue
            case = s.get(Case, row.case_id) if row.case_id else None
            if _cardless(s, row, case):  # a backlog or incident case without a card of its own
                row.sent_at, row.result = now(), {"skipped": "the case has no card of its own"}
                continue
            incident = s.get(Incident, row.payload.get("incident_id")) if row.kind in INCIDENT_KINDS else None
            if row.kind in INCIDENT_THREADED and (incident is None or not incident.slack_ts):
                result.waiting += 1  # the incident's card is not posted yet
                later.add(row_id)
                held.add(unit)  # type: ignore[arg-type]
                continue
            channel = (incident.slack_channel or row.channel) if incident is not None else _channel(row, case)
            if pacer is not None and (channel in full or (room := pacer.wait(channel)) > 0):
                if channel not in full:
                    wait = room if wait is None else min(wait, room)
                    full.add(channel)
                if unit is not None:
                    paced.add(unit)
                continue
            # Any earlier attempt may have landed (a 5xx or a dropped connection can follow a post): look first.
            in_doubt = row.attempts > 0
            row.attempts += 1
            row.last_error = None
            s.flush()
        # The attempt is committed before sending: if we die mid-send the row is "in doubt".
        alert = Alert(
            key=row.key,
            kind=row.kind,
            channel=channel,
            payload=row.payload,
            case_id=row.case_id,
            thread_ts=incident.slack_ts if incident is not None else _thread(row, case),
            in_doubt=in_doubt,
        )
        if pacer is not None:
            pacer.take(channel)
        try:
            delivery = notifier.send(alert)
        except NotifyError as e:
            _failed(sessions, row_id, e, cfg, now())
            if pacer is not None and e.retry_after is not None:
                pacer.hold(channel, e.retry_after)  # Slack's Retry-After wins, for the whole channel
            result.failed += 1
            result.errors.append(f"outbox #{row_id}: {e}")
            if e.config and str(e) not in result.refused:
                result.refused.append(str(e))
            if e.halt:  # every other row would be refused the same way: leave them for the next round
                result.halted = True
                return None
            later.add(row_id)
            if unit is not None:
                held.add(unit)
            continue
        with sessions() as s, s.begin():
            row = s.get(Outbox, row_id)
            assert row is not None
            row.sent_at = now()
            row.result = {"channel": delivery.channel, "ts": delivery.ts}
            if row.kind == "new_case" and row.case_id is not None and delivery.ts:
                c = s.get(Case, row.case_id)
                if c is not None and c.slack_ts is None:
                    c.slack_channel, c.slack_ts = delivery.channel, delivery.ts
            if row.kind == "incident" and delivery.ts:
                inc = s.get(Incident, row.payload.get("incident_id"))
                if inc is not None and inc.slack_ts is None:
                    inc.slack_channel, inc.slack_ts = delivery.channel, delivery.ts
        result.sent += 1
    return wait


THREADED = ("case_update", "card_update", "note")  # go to the case's message (its thread, or the card itself)
INCIDENT_KINDS = ("incident", "incident_update", "incident_note")  # an incident's card, its updates, its thread
INCIDENT_THREADED = ("incident_update", "incident_note")


def _unit(row: Outbox) -> int | None:
    """What a row is delivered in order with: its case, or its incident (as a negative number)."""
    if row.case_id is not None:
        return row.case_id
    if row.kind in INCIDENT_KINDS and row.payload.get("incident_id"):
        return -int(row.payload["incident_id"])
    return None


def _cardless(s: Session, row: Outbox, case: Case | None) -> bool:
    """A thread message (update, note) of a backfill case that never got a card: it has nowhere to go."""
    if row.kind not in THREADED or case is None or case.slack_ts or not (case.backfill or case.incident_id):
        return False
    return s.scalar(select(Outbox.id).where(Outbox.case_id == case.id, Outbox.kind == "new_case").limit(1)) is None


def _channel(row: Outbox, case: Case | None) -> str:
    if row.kind in THREADED and case is not None and case.slack_channel:
        return case.slack_channel
    return row.channel


def _thread(row: Outbox, case: Case | None) -> str | None:
    if case is None or not case.slack_ts:
        return None
    if row.kind in THREADED or (row.kind == "escalation" and row.channel == case.slack_channel):
        return case.slack_ts
    return None


def _failed(sessions: Callable[[], Session], row_id: int, e: NotifyError, cfg: OutboxConfig, at: datetime) -> None:
    with sessions() as s, s.begin():
        row = s.get(Outbox, row_id)
        assert row is not None
        row.last_error = str(e)[:500]
        delay = (
            e.retry_after
            if e.retry_after is not None
            else min(cfg.backoff_seconds * 2 ** (row.attempts - 1), cfg.max_backoff_seconds)
        )
        row.next_attempt_at = at + timedelta(seconds=delay)
        # a configuration refusal that may be fixed (the token, the channel check) is kept until it is
        if not e.retryable or (row.attempts >= cfg.max_attempts and not e.config):
            row.dead = True
            log.error("outbox #%s given up after %d attempts: %s", row_id, row.attempts, e)
        else:
            log.warning("outbox #%s failed (attempt %d), retry in %.0fs: %s", row_id, row.attempts, delay, e)


def backlog(session: Session) -> tuple[int, datetime | None]:
    """Undelivered rows and the oldest one's creation time."""
    rows = (
        session.execute(
            select(Outbox.created_at).where(Outbox.sent_at.is_(None), Outbox.dead.is_(False)).order_by(Outbox.id)
        )
        .scalars()
        .all()
    )
    return len(rows), (rows[0] if rows else None)
