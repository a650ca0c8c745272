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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts.notify import Alert, Notifier
from gripewatch.config import OutboxConfig
from gripewatch.errors import NotifyError
from gripewatch.models import Case, Outbox, utcnow

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
    if session.scalar(select(Outbox.id).where(Outbox.key == key)) is not None:
        return None
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
) -> DispatchResult:
    """Deliver every due outbox row, ``limit`` at a time; each outcome is committed on its own."""
    result = DispatchResult()
    blocked: set[int] = set()
    after = 0
    while True:
        with sessions() as s:
            ids = s.scalars(
                select(Outbox.id)
                .where(Outbox.sent_at.is_(None), Outbox.dead.is_(False), Outbox.id > after)
                .order_by(Outbox.id)
                .limit(limit)
            ).all()
        if not ids:
            return result
        after = ids[-1]
        _dispatch_rows(sessions, notifier, cfg, now, list(ids), blocked, result)
        if result.halted:
            return result


def _dispatch_rows(
    sessions: Callable[[], Session],
    notifier: Notifier,
    cfg: OutboxConfig,
    now: Callable[[], datetime],
    ids: list[int],
    blocked: set[int],
    result: DispatchResult,
) -> None:
    for row_id in ids:
        with sessions() as s, s.begin():
            row = s.get(Outbox, row_id, with_for_update=s.get_bind().dialect.name == "postgresql")
            if row is None or row.sent_at is not None or row.dead:
                continue
            if row.case_id is not None and row.case_id in blocked:
                result.waiting += 1
                continue
            if row.next_attempt_at > now():
                result.waiting += 1
                if row.case_id is not None:
                    blocked.add(row.case_id)
                continue
            case = s.get(Case, row.case_id) if row.case_id else None
            # Any earlier attempt may have landed (a 5xx or a dropped connection can follow a post): look first.
            in_doubt = row.attempts > 0
            row.attempts += 1
            row.last_error = None
            s.flush()
        # The attempt is committed before sending: if we die mid-send the row is "in doubt".
        alert = Alert(
            key=row.key,
            kind=row.kind,
            channel=_channel(row, case),
            payload=row.payload,
            case_id=row.case_id,
            thread_ts=_thread(row, case),
            in_doubt=in_doubt,
        )
        try:
            delivery = notifier.send(alert)
        except NotifyError as e:
            _failed(sessions, row_id, e, cfg, now())
            result.failed += 1
            result.errors.append(f"outbox #{row_id}: {e}")
            if e.config and str(e) not in result.refused:
                result.refused.append(str(e))
            if e.halt:  # every other row would be refused the same way: leave them for the next round
                result.halted = True
                return
            if row.case_id is not None:
                blocked.add(row.case_id)
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
        result.sent += 1


THREADED = ("case_update", "card_update", "note")  # go to the case's message (its thread, or the card itself)


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
