"""Upstream deletions: the posts of open cases are looked up again, and a deleted one is forgotten.

``recheck(db, settings, now)`` asks every enabled source whose collector can look posts up
(``gone(external_ids) -> set``: X tweet look-up, Reddit ``/api/info``, Mastodon statuses,
Bluesky ``getPosts``) which of the stored posts of open cases no longer exist. A deleted post
loses its text, raw payload and link (its scores stay, so counts remain true), the case's
summary is blanked when it quoted that post, and the case gets a ``mention_deleted`` event,
a note in its Slack thread and an updated card. Run by the daemon's ``recheck`` job every
``scheduler.recheck_minutes``; one failing source is logged and the others still run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gripewatch.alerts import card
from gripewatch.alerts.erasure import forget_mention
from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import SourceError
from gripewatch.models import OPEN_STATUSES, Case, Mention, Outbox

log = logging.getLogger(__name__)

DELETED = "[deleted by its author]"
BATCH = 100


def recheck(db: Database, settings: Settings, now: datetime, build: Any = None) -> dict[str, Any]:
    """Look up the posts of open cases on every platform that allows it; purge the deleted ones."""
    from gripewatch.pipeline import build_collector

    build = build or build_collector
    out: dict[str, Any] = {"checked": 0, "deleted": 0, "errors": {}}
    for source in settings.sources:
        if not source.enabled:
            continue
        collector = build(source, settings)
        if not hasattr(collector, "gone"):
            continue
        with db.sessions() as s:
            ids = s.scalars(
                select(Mention.external_id)
                .join(Case, Case.id == Mention.case_id)
                .where(
                    Mention.source == source.name,
                    Mention.deleted_at.is_(None),
                    Mention.is_own.is_(False),
                    Mention.text != "",
                    Case.status.in_(OPEN_STATUSES),
                )
                .order_by(Mention.id)
            ).all()
        for i in range(0, len(ids), BATCH):
            chunk = list(ids[i : i + BATCH])
            try:
                gone = collector.gone(chunk)
            except SourceError as e:
                log.warning("recheck %s: %s", source.name, e)
                out["errors"][source.name] = str(e)[:300]
                break
            out["checked"] += len(chunk)
            if gone:
                with db.sessions() as s, s.begin():
                    out["deleted"] += purge_deleted(s, settings, source.name, sorted(gone), now)
    return out


def purge_deleted(s: Any, settings: Settings, source: str, external_ids: list[str], now: datetime) -> int:
    """Forget these posts of ``source`` (deleted upstream) and note it on their cases."""
    n = 0
    rows = s.scalars(select(Mention).where(Mention.source == source, Mention.external_id.in_(external_ids))).all()
    for m in rows:
        if m.deleted_at is not None:
            continue
        quoted = m.text[:280]
        forget_mention(m, raw={"deleted": True})
        m.deleted_at = now
        n += 1
        case = s.get(Case, m.case_id) if m.case_id else None
        _forget_alerts(s, case, source, m.external_id, now)
        if case is None:
            continue
        if quoted and case.summary == quoted:
            case.summary = DELETED
        ev = card.event(s, case, "mention_deleted", "gripewatch", now, mention_id=m.id)
        card.note(
            s,
            case,
            f"deleted:{case.id}:{m.id}",
            f"The customer deleted this post on {m.platform}; gripewatch removed its text. The case stays open.",
            "Post deleted",
            at=now,
        )
        card.refresh(s, case, settings, now, ev)
    return n


def _forget_alerts(s: Any, case: Case | None, source: str, external_id: str, now: datetime) -> None:
    """The alerts that quoted the post: their stored text is dropped; a delivered thread quote is rewritten."""
    for row in s.scalars(
        select(Outbox).where(Outbox.key.in_([f"opened:{source}:{external_id}", f"update:{source}:{external_id}"]))
    ).all():
        row.payload = {**(row.payload or {}), "text": DELETED, "url": None}
        ts = (row.result or {}).get("ts")
        if row.kind == "case_update" and row.sent_at is not None and ts:
            payload = {"case_id": row.case_id, "ts": ts, "text": DELETED}
            enqueue(
                s, f"erase:{row.id}", "redact", (row.result or {}).get("channel") or row.channel, payload, case, now
            )
