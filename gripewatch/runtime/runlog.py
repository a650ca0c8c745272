"""Leased job runs, recorded: who ran which job, from when to when, with what outcome.

``with runlog.job(db, "outbox", holder, ttl) as run:`` takes the job's lease
(:mod:`gripewatch.runtime.leases`, so a replica, the daemon and a cron ``run-once``
exclude each other), writes a ``job_runs`` row, keeps the lease alive from a
heartbeat thread while the block runs, then records the end and the outcome
*before* releasing the lease. Runs of one job therefore never overlap, and the
table proves it. Raises :class:`~gripewatch.errors.LockBusy` when another
holder has the lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from gripewatch.db import Database
from gripewatch.models import JobRun, utcnow
from gripewatch.runtime import leases

log = logging.getLogger(__name__)


@dataclass
class Run:
    """The run in hand: set ``outcome`` (default ok) and ``detail`` before the block ends."""

    job: str
    holder: str
    id: int
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


class Heartbeat:
    """Renews a lease every ``ttl / 3`` seconds until stopped."""

    def __init__(self, db: Database, name: str, holder: str, ttl: float) -> None:
        self.db, self.name, self.holder, self.ttl = db, name, holder, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{name}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if not leases.acquire(self.db.engine, self.name, self.holder, self.ttl):
                    log.error("lease %s was taken over while %s still runs it", self.name, self.holder)
            except SQLAlchemyError as e:
                log.warning("cannot renew lease %s: %s", self.name, e.__class__.__name__)


@contextmanager
def job(
    db: Database,
    name: str,
    holder: str,
    ttl: float,
    wait: float = 0.0,
    now: Callable[[], datetime] = utcnow,
    when: Callable[[], bool] | None = None,
) -> Iterator[Run | None]:
    """Hold the lease ``name`` and record the run; LockBusy if another holder has it.

    ``when`` is asked once the lease is held: if it says False the block gets None
    and nothing is recorded (the job was not due after all).
    """
    with leases.held(db.engine, name, holder, ttl, wait):
        if when is not None and not when():
            yield None
            return
        with db.engine.begin() as conn:
            res = conn.execute(insert(JobRun).values(job=name, holder=holder, started_at=now(), detail={}))
            run_id = res.inserted_primary_key[0]  # type: ignore[index]
        run = Run(name, holder, run_id)
        beat = Heartbeat(db, name, holder, ttl).start()
        try:
            yield run
        except BaseException as e:
            if run.outcome == "ok":
                run.outcome = "error"
            run.detail.setdefault("error", f"{e.__class__.__name__}: {str(e)[:300]}")
            raise
        finally:
            beat.stop()
            _finish(db, run, now())


def _finish(db: Database, run: Run, at: datetime) -> None:
    try:
        with db.engine.begin() as conn:
            conn.execute(
                update(JobRun)
                .where(JobRun.id == run.id)
                .values(finished_at=at, outcome=run.outcome, detail=_jsonable(run.detail))
            )
    except SQLAlchemyError as e:  # the database went away mid-run: the row stays open, like a killed run
        log.warning("cannot record the end of %s run #%s: %s", run.job, run.id, e.__class__.__name__)


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in detail.items()}


def last_start(db: Database, name: str, outcomes: tuple[str, ...] | None = None) -> datetime | None:
    """When the latest run of ``name`` started (by any holder), optionally only runs with these outcomes."""
    q = select(JobRun.started_at).where(JobRun.job == name)
    if outcomes is not None:
        q = q.where(JobRun.outcome.in_(outcomes))
    with db.sessions() as s:
        return s.scalar(q.order_by(JobRun.started_at.desc()).limit(1))


def latest_any(db: Database, name: str) -> JobRun | None:
    """The latest run of ``name``, finished or not."""
    with db.sessions() as s:
        return s.scalar(select(JobRun).where(JobRun.job == name).order_by(JobRun.started_at.desc()).limit(1))


def overlaps(rows: list[tuple[str, datetime, datetime | None]]) -> list[tuple[str, datetime, datetime]]:
    """Pairs of runs of one job whose [start, end] intersect (open runs are ignored). Pure; for checks."""
    by_job: dict[str, list[tuple[datetime, datetime]]] = {}
    for job_name, start, end in rows:
        if end is not None:
            by_job.setdefault(job_name, []).append((start, end))
    bad = []
    for job_name, spans in by_job.items():
        spans.sort()
        for (_s1, e1), (s2, _e2) in zip(spans, spans[1:], strict=False):
            if s2 < e1:
                bad.append((job_name, s2, e1))
    return bad
