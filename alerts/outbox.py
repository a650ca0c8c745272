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

from sqlalchemy import Connection, Engine, Table, bindparam, select, update
from sqlalchemy import case as sa_case
from sqlalchemy.orm import Session

from gripewatch.alerts import memo
from gripewatch.alerts.notify import Alert, Delivery, Notifier
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


@dataclass
class _Row:
    """One due outbox row as the dispatcher reads it (with its case's message, when it has one)."""

    id: int
    key: str
    kind: str
    channel: str
    payload: dict[str, Any]
    case_id: int | None
    attempts: int
    next_attempt_at: datetime


@dataclass
class _CaseMsg:
    slack_channel: str | None
    slack_ts: str | None
    backfill: bool
    incident_id: int | None


def _load(s: Connection, ids: list[int]) -> tuple[list[_Row], dict[int, _CaseMsg]]:
    """The rows ``ids`` (in that order) and their cases' messages, in two queries."""
    cols = (Outbox.id, Outbox.key, Outbox.kind, Outbox.channel, Outbox.payload, Outbox.case_id)
    got = {
        r.id: _Row(*r)
        for r in s.execute(select(*cols, Outbox.attempts, Outbox.next_attempt_at).where(Outbox.id.in_(ids)))
    }
    rows = [got[i] for i in ids if i in got]
    case_ids = {r.case_id for r in rows if r.case_id is not None}
    msgs = {
        cid: _CaseMsg(ch, ts, bool(bf), inc)
        for cid, ch, ts, bf, inc in s.execute(
            select(Case.id, Case.slack_channel, Case.slack_ts, Case.backfill, Case.incident_id).where(
                Case.id.in_(case_ids)
            )
        )
    }
    return rows, msgs


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
    """One pass over ``ids``; the seconds until a channel has room again if a row waited for one, else None.

    Each row's attempt is committed before it is sent (a row whose sender died mid-send is "in doubt" and
    looked up before it is sent again), and its outcome after: in the same transaction as the next row's
    attempt, so a delivery costs one commit and a few statements, never an ORM round trip per row.
    """
    paced: set[int] = set()  # units waiting for their channel in this pass
    full: set[str] = set()  # channels without room in this pass: their less urgent rows must not overtake
    wait: float | None = None
    done: list[Callable[[Connection], None]] = []  # outcomes not yet committed (written with the next attempt)
    incidents: dict[int, tuple[str | None, str | None]] = {}  # incident id -> (channel, ts)
    with sessions() as first:
        bind = first.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    # one connection for the pass (no pool check-out and ping per row), one short transaction per row
    # (none is open while sending)
    s = engine.connect()
    try:
        with s.begin():
            rows, msgs = _load(s, ids)
        for row in rows:
            unit = _unit(row)
            if unit is not None and unit in paced:
                continue
            if (unit is not None and unit in held) or row.next_attempt_at > now():
                result.waiting += 1
                later.add(row.id)
                if unit is not None:
                    held.add(unit)
                continue
            msg = msgs.get(row.case_id) if row.case_id is not None else None
            incident: tuple[str | None, str | None] | None = None
            with s.begin():
                for write in done:
                    write(s)
                done.clear()
                if _cardless(s, row, msg):  # a backlog or incident case without a card of its own
                    skipped = {"skipped": "the case has no card of its own"}
                    s.execute(_SKIP, {"rid": row.id, "at": now(), "res": skipped})
                    continue
                if row.kind in INCIDENT_KINDS:
                    incident = _incident(s, incidents, row.payload.get("incident_id"))
                if row.kind in INCIDENT_THREADED and (incident is None or not incident[1]):
                    result.waiting += 1  # the incident's card is not posted yet
                    later.add(row.id)
                    held.add(unit)  # type: ignore[arg-type]
                    continue
                channel = (incident[0] or row.channel) if incident is not None else _channel(row, msg)
                if pacer is not None and (channel in full or (room := pacer.wait(channel)) > 0):
                    if channel not in full:
                        wait = room if wait is None else min(wait, room)
                        full.add(channel)
                    if unit is not None:
                        paced.add(unit)
                    continue
                # Any earlier attempt may have landed (a 5xx or a dropped connection can follow a post): look first.
                attempts = s.execute(_CLAIM, {"rid": row.id}).scalar()
                if attempts is None:  # delivered or given up meanwhile (another dispatcher)
                    continue
            # The attempt is committed before sending: if we die mid-send the row is "in doubt".
            alert = Alert(
                key=row.key,
                kind=row.kind,
                channel=channel,
                payload=row.payload,
                case_id=row.case_id,
                thread_ts=incident[1] if incident is not None else _thread(row, msg),
                in_doubt=attempts > 1,
            )
            if pacer is not None:
                pacer.take(channel)
            try:
                delivery = notifier.send(alert)
            except NotifyError as e:
                _failed(sessions, row.id, e, cfg, now())
                if pacer is not None and e.retry_after is not None:
                    pacer.hold(channel, e.retry_after)  # Slack's Retry-After wins, for the whole channel
                result.failed += 1
                result.errors.append(f"outbox #{row.id}: {e}")
                if e.config and str(e) not in result.refused:
                    result.refused.append(str(e))
                if e.halt:  # every other row would be refused the same way: leave them for the next round
                    result.halted = True
                    return None
                later.add(row.id)
                if unit is not None:
                    held.add(unit)
                continue
            done.append(_delivered(row, delivery, now(), msg, incidents))
            result.sent += 1
    finally:
        try:
            if done:
                with s.begin():
                    for write in done:
                        write(s)
        finally:
            s.close()
    return wait


# The dispatcher's writes, built once (Core statements on the tables: no ORM work per row).
_OUT: Table = Outbox.__table__  # type: ignore[assignment]
_CASES: Table = Case.__table__  # type: ignore[assignment]
_INCIDENTS: Table = Incident.__table__  # type: ignore[assignment]
_CLAIM = (
    update(_OUT)
    .where(_OUT.c.id == bindparam("rid"), _OUT.c.sent_at.is_(None), _OUT.c.dead.is_(False))
    .values(attempts=_OUT.c.attempts + 1, last_error=None)
    .returning(_OUT.c.attempts)
)
_SENT = update(_OUT).where(_OUT.c.id == bindparam("rid")).values(sent_at=bindparam("at"), result=bindparam("res"))
_SKIP = _SENT.where(_OUT.c.sent_at.is_(None))
_CASE_MSG = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("rid"), _CASES.c.slack_ts.is_(None))
    .values(slack_channel=bindparam("ch"), slack_ts=bindparam("ts"))
)
_INCIDENT_MSG = (
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("rid"), _INCIDENTS.c.slack_ts.is_(None))
    .values(slack_channel=bindparam("ch"), slack_ts=bindparam("ts"))
)


def _delivered(
    row: _Row,
    delivery: Delivery,
    at: datetime,
    msg: _CaseMsg | None,
    incidents: dict[int, tuple[str | None, str | None]],
) -> Callable[[Connection], None]:
    """Note the delivery where the next rows of the pass see it; return the write that records it."""
    new_case = row.kind == "new_case" and row.case_id is not None and bool(delivery.ts)
    if new_case and msg is not None and msg.slack_ts is None:
        msg.slack_channel, msg.slack_ts = delivery.channel, delivery.ts  # its later rows go to this thread
    inc_id = row.payload.get("incident_id") if row.kind == "incident" and delivery.ts else None
    if inc_id is not None:
        incidents.pop(int(inc_id), None)  # read again: the card's message is stored below

    def write(c: Connection) -> None:
        c.execute(_SENT, {"rid": row.id, "at": at, "res": {"channel": delivery.channel, "ts": delivery.ts}})
        if new_case:
            c.execute(_CASE_MSG, {"rid": row.case_id, "ch": delivery.channel, "ts": delivery.ts})
        if inc_id is not None:
            c.execute(_INCIDENT_MSG, {"rid": int(inc_id), "ch": delivery.channel, "ts": delivery.ts})

    return write


def _incident(
    s: Connection, known: dict[int, tuple[str | None, str | None]], incident_id: Any
) -> tuple[str | None, str | None] | None:
    """The incident's card message (channel, ts), read once per pass until its card is posted."""
    if incident_id is None:
        return None
    i = int(incident_id)
    if i not in known or not known[i][1]:
        got = s.execute(select(Incident.slack_channel, Incident.slack_ts).where(Incident.id == i)).first()
        if got is None:
            return None
        known[i] = (got[0], got[1])
    return known[i]


THREADED = ("case_update", "card_update", "note")  # go to the case's message (its thread, or the card itself)
INCIDENT_KINDS = ("incident", "incident_update", "incident_note")  # an incident's card, its updates, its thread
INCIDENT_THREADED = ("incident_update", "incident_note")


def _unit(row: _Row) -> int | None:
    """What a row is delivered in order with: its case, or its incident (as a negative number)."""
    if row.case_id is not None:
        return row.case_id
    if row.kind in INCIDENT_KINDS and row.payload.get("incident_id"):
        return -int(row.payload["incident_id"])
    return None


def _cardless(s: Connection, row: _Row, msg: _CaseMsg | None) -> bool:
    """A thread message (update, note) of a backfill case that never got a card: it has nowhere to go."""
    if row.kind not in THREADED or msg is None or msg.slack_ts or not (msg.backfill or msg.incident_id):
        return False
    return s.scalar(select(Outbox.id).where(Outbox.case_id == row.case_id, Outbox.kind == "new_case").limit(1)) is None


def _channel(row: _Row, msg: _CaseMsg | None) -> str:
    if row.kind in THREADED and msg is not None and msg.slack_channel:
        return msg.slack_channel
    return row.channel


def _thread(row: _Row, msg: _CaseMsg | None) -> str | None:
    if msg is None or not msg.slack_ts:
        return None
    if row.kind in THREADED or (row.kind == "escalation" and row.channel == msg.slack_channel):
        return msg.slack_ts
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
