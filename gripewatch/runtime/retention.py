"""Retention: forget what we no longer need, keep what the team learns from.

``purge`` blanks the text and raw payload of mentions collected more than
``retention.days`` ago (scores, complaint decision, case links, authors and
cases stay, so counts, trends and the audit trail survive), deletes delivered
or given-up outbox rows older than that (their payloads quote the customer),
and deletes ``job_runs`` older than ``retention.job_runs_days``. Mentions of a
case that is still open are kept whole while ``keep_open_cases`` is true.
Works in small transactions, so it can stop between batches on shutdown.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from gripewatch.config import RetentionConfig
from gripewatch.db import Database
from gripewatch.models import OPEN_STATUSES, Case, JobRun, Mention, Outbox

BATCH = 500


def purge(db: Database, cfg: RetentionConfig, now: datetime, stop: threading.Event | None = None) -> dict[str, Any]:
    """Apply the retention policy once; return what was purged."""
    out: dict[str, Any] = {"mentions": 0, "outbox": 0, "job_runs": 0}
    if cfg.days is not None:
        cutoff = now - timedelta(days=cfg.days)
        q = select(Mention.id).where(Mention.collected_at < cutoff, Mention.text != "")
        if cfg.keep_open_cases:
            still_open = select(Case.id).where(Case.status.in_(OPEN_STATUSES))
            q = q.where(or_(Mention.case_id.is_(None), Mention.case_id.not_in(still_open)))
        while stop is None or not stop.is_set():
            with db.session() as s:
                ids = s.scalars(q.order_by(Mention.id).limit(BATCH)).all()
                if not ids:
                    break
                s.execute(update(Mention).where(Mention.id.in_(ids)).values(text="", raw={}))
            out["mentions"] += len(ids)
        with db.session() as s:
            res = s.execute(
                delete(Outbox).where(or_(Outbox.sent_at < cutoff, Outbox.dead.is_(True) & (Outbox.created_at < cutoff)))
            )
            out["outbox"] = res.rowcount or 0  # type: ignore[attr-defined]
    with db.session() as s:
        res = s.execute(delete(JobRun).where(JobRun.started_at < now - timedelta(days=cfg.job_runs_days)))
        out["job_runs"] = res.rowcount or 0  # type: ignore[attr-defined]
    return out
