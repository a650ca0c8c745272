"""The quarantine: records a source delivered that the pipeline could not take, kept to be seen and retried.

``quarantine(s, source, rejected, now)`` stores one :class:`~gripewatch.collectors.base.Rejected`
in the ``rejected`` table, in the caller's transaction (the page's), so the cursor can move past
it and nothing is lost. The same record seen again (same id and payload) adds to its count.
``retry`` puts quarantined records through their collector's ``normalise`` and the normal
pipeline again (after a fix); what now passes is stored and leaves the quarantine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.collectors.base import Mention as Incoming
from gripewatch.collectors.base import Page, Rejected
from gripewatch.collectors.bounds import clean_text, normalised, safe_raw
from gripewatch.models import RejectedRecord, utcnow

log = logging.getLogger(__name__)

RAW_LIMIT = 64 * 1024  # characters of the payload's JSON kept (ASCII: \u escapes for the rest)


def quarantine(s: Session, source: str, item: Rejected, now: datetime) -> RejectedRecord:
    """Keep ``item`` in the quarantine of ``source`` (in the caller's transaction)."""
    ext = clean_text(str(item.external_id))[:255] or None if item.external_id is not None else None
    raw, truncated = dump_raw(item.raw)
    reason = " ".join(clean_text(item.reason or "rejected").split())[:2000]
    key = hashlib.sha256(f"{ext}\x00{raw}".encode("ascii", "replace")).hexdigest()[:64]
    row = s.scalars(select(RejectedRecord).where(RejectedRecord.source == source, RejectedRecord.key == key)).first()
    if row is None:
        row = RejectedRecord(
            source=source,
            key=key,
            external_id=ext,
            reason=reason,
            raw=raw,
            raw_truncated=truncated,
            first_seen_at=now,
            last_seen_at=now,
            count=1,
        )
        s.add(row)
    else:
        row.count, row.last_seen_at, row.reason = (row.count or 0) + 1, now, reason
    s.flush()
    log.warning("%s: quarantined %s: %s", source, ext or "a record", reason[:300])
    return row


def dump_raw(raw: Any) -> tuple[str, bool]:
    """The payload as ASCII JSON, cut at RAW_LIMIT characters; and whether it was cut."""
    try:
        text = json.dumps(safe_raw(raw), ensure_ascii=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(repr(raw)[:RAW_LIMIT])
    return (text[:RAW_LIMIT], True) if len(text) > RAW_LIMIT else (text, False)


@dataclass
class RetryResult:
    stored: list[int] = field(default_factory=list)  # ids that left the quarantine
    still: dict[int, str] = field(default_factory=dict)  # id -> why it is still rejected


def retry(
    s: Session,
    rows: list[RejectedRecord],
    normalise: Callable[[Any], Incoming],
    store: Callable[[Page], int],
    now: datetime | None = None,
) -> RetryResult:
    """Re-normalise each row's payload and ``store`` it (one Page each, returning how many it rejected).

    A record that now passes is stored as an edit of the stored post of the same id, if there is
    one (that is how a second version of a post, quarantined as a duplicate id, gets in), and leaves
    the quarantine; one that still fails stays, with its new reason.
    """
    now = now or utcnow()
    result = RetryResult()
    for row in rows:
        if row.raw_truncated:
            result.still[row.id] = "its stored payload was cut at the quarantine's size limit"
            continue
        try:
            raw = json.loads(row.raw)
        except ValueError:
            result.still[row.id] = "its stored payload is not JSON"
            continue
        m = normalised(normalise, raw, row.external_id, now)
        if isinstance(m, Rejected):
            row.reason, row.last_seen_at = m.reason, now
            result.still[row.id] = m.reason
            continue
        row.last_seen_at = now
        s.flush()  # a write before the savepoint: SQLite's write lock is waited for, not failed on
        with s.begin_nested():
            rejected = store(Page([replace(m, edited=True)], cursor={}))
        if rejected:
            s.refresh(row)
            result.still[row.id] = "it was rejected again when stored (see its reason)"
            continue
        s.delete(row)
        result.stored.append(row.id)
    s.flush()
    return result


def retry_records(db: Any, settings: Any, ids: list[int] | None = None, source: str | None = None) -> RetryResult:
    """Retry quarantined records (by id, or every one of ``source``) under each source's lease."""
    from gripewatch.brands import BrandMatcher
    from gripewatch.pipeline import SourceRun, build_collector, store_page
    from gripewatch.runtime import leases

    with db.sessions() as s:
        q = select(RejectedRecord.id, RejectedRecord.source).order_by(RejectedRecord.id)
        if ids:
            q = q.where(RejectedRecord.id.in_(ids))
        if source:
            q = q.where(RejectedRecord.source == source)
        by_source: dict[str, list[int]] = {}
        for rid, src in s.execute(q).all():
            by_source.setdefault(src, []).append(rid)
    result = RetryResult()
    configured = {src.name: src for src in settings.sources}
    matcher = BrandMatcher(settings.brands)
    for name, row_ids in by_source.items():
        cfg = configured.get(name)
        if cfg is None:
            result.still.update(dict.fromkeys(row_ids, f"source {name!r} is not in the configuration"))
            continue
        collector = build_collector(cfg, settings)
        normalise = getattr(collector, "normalise", None)
        if normalise is None:
            result.still.update(dict.fromkeys(row_ids, f"the {cfg.type} collector cannot re-normalise a record"))
            continue
        holder = leases.holder_id()
        with leases.held(db.engine, f"source:{name}", holder, settings.pipeline.lease_seconds, wait=30):
            with db.sessions() as s, s.begin():
                rows = list(s.scalars(select(RejectedRecord).where(RejectedRecord.id.in_(row_ids))))
                at = utcnow()

                def store(page: Page, cfg: Any = cfg, s: Session = s, at: datetime = at) -> int:
                    run = SourceRun(cfg.name)
                    store_page(s, settings, cfg, page, matcher, run, at, move_cursor=False)
                    return len(run.skipped)

                part = retry(s, rows, normalise, store, at)
        result.stored += part.stored
        result.still.update(part.still)
    return result
