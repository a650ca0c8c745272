"""Retention: forget what we no longer need, keep what the team learns from.

``purge`` blanks what customers wrote once it is more than ``retention.days``
old -- the same fields an erasure (``alerts.erasure``) removes: mention texts,
raw payloads, links, provenance, reasons and fingerprints; the summaries, event
details (satisfaction and internal notes included) and written replies of
cases closed or resolved before the cutoff; and the handle and name of authors
whose every post is expired (a stable pseudonym ``erased-…`` instead; authors
with an imported tier or value are kept, the team gave those). Scores, complaint decisions, topics, case
links and cases stay, so counts, trends and who did what survive. It deletes
delivered or given-up outbox rows older than that (their payloads quote the
customer), and ``job_runs`` older than ``retention.job_runs_days`` (erasure
audit records are kept); quarantined records last seen before the cutoff are deleted
(their payloads quote customers too). Mentions of a case that is still open are kept whole
while ``keep_open_cases`` is true.
Works in small transactions, so it can stop between batches on shutdown.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from gripewatch.alerts.erasure import AUDIT_JOB, PSEUDONYM, forget_mention
from gripewatch.config import RetentionConfig
from gripewatch.db import Database
from gripewatch.models import OPEN_STATUSES, Author, Case, CaseEvent, JobRun, Mention, Outbox, RejectedRecord, Reply

BATCH = 500


def purge(db: Database, cfg: RetentionConfig, now: datetime, stop: threading.Event | None = None) -> dict[str, Any]:
    """Apply the retention policy once; return what was purged."""
    out: dict[str, Any] = {"mentions": 0, "cases": 0, "authors": 0, "outbox": 0, "rejected": 0, "job_runs": 0}
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
                for m in s.scalars(select(Mention).where(Mention.id.in_(ids))).all():
                    forget_mention(m)
            out["mentions"] += len(ids)
        out["cases"] = _cases(db, cutoff, stop)
        out["authors"] = _authors(db, cutoff)
        with db.session() as s:
            res = s.execute(
                delete(Outbox).where(or_(Outbox.sent_at < cutoff, Outbox.dead.is_(True) & (Outbox.created_at < cutoff)))
            )
            out["outbox"] = res.rowcount or 0  # type: ignore[attr-defined]
            res = s.execute(delete(RejectedRecord).where(RejectedRecord.last_seen_at < cutoff))
            out["rejected"] = res.rowcount or 0  # type: ignore[attr-defined]
    with db.session() as s:
        res = s.execute(
            delete(JobRun).where(JobRun.started_at < now - timedelta(days=cfg.job_runs_days), JobRun.job != AUDIT_JOB)
        )
        out["job_runs"] = res.rowcount or 0  # type: ignore[attr-defined]
    return out


def _cases(db: Database, cutoff: datetime, stop: threading.Event | None) -> int:
    """Summaries and event details of cases finished before the cutoff."""
    n = 0
    done = func.coalesce(Case.closed_at, Case.resolved_at)
    q = select(Case.id).where(Case.status.not_in(OPEN_STATUSES), done < cutoff, Case.summary != "")
    while stop is None or not stop.is_set():
        with db.session() as s:
            ids = s.scalars(q.order_by(Case.id).limit(BATCH)).all()
            if not ids:
                break
            s.execute(update(Case).where(Case.id.in_(ids)).values(summary=""))
            s.execute(update(CaseEvent).where(CaseEvent.case_id.in_(ids)).values(detail={}))
            s.execute(update(Reply).where(Reply.case_id.in_(ids)).values(text="", warnings=[]))
        n += len(ids)
    return n


def _authors(db: Database, cutoff: datetime) -> int:
    """Authors whose every post is expired and who have no open case: a pseudonym instead of handle and name."""
    newest = select(Mention.author_id, func.max(Mention.collected_at).label("last")).group_by(Mention.author_id)
    newest_sq = newest.subquery()
    still_open = select(Case.author_id).where(Case.status.in_(OPEN_STATUSES), Case.author_id.is_not(None))
    with db.session() as s:
        authors = s.scalars(
            select(Author)
            .join(newest_sq, newest_sq.c.author_id == Author.id)
            .where(
                newest_sq.c.last < cutoff,
                Author.id.not_in(still_open),
                Author.tier.is_(None),
                Author.lifetime_value.is_(None),
                ~Author.handle.startswith(PSEUDONYM),
            )
        ).all()
        for a in authors:
            pseudo = f"{PSEUDONYM}{uuid.uuid4().hex[:12]}"
            a.handle, a.key, a.display_name, a.customer_key = pseudo, pseudo, None, None
        return len(authors)
