"""Read what the digest needs from the database into a :class:`~dashboards.digest.DigestInput`.

Volumes are aggregated per UTC hour in SQL; only complaints (of the period,
the previous period and the spike baseline) and the cases that matter are
loaded as rows, so a weekly digest stays fast on millions of mentions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from gripewatch.config import Settings
from gripewatch.dashboards.digest import OPEN, CaseRow, ComplaintRow, DigestInput, EventRow, VolumeRow
from gripewatch.dashboards.period import Period
from gripewatch.db import Database
from gripewatch.models import Author, Case, CaseEvent, Mention


def hour_bucket(session: Session, column):  # type: ignore[no-untyped-def]
    """A SQL expression giving 'YYYY-MM-DD HH' (UTC) of a timestamp column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def _counted() -> tuple[Any, Any]:
    return (Mention.is_own.is_(False), Mention.deleted_at.is_(None))


def load_digest_input(db: Database, settings: Settings, period: Period, now: datetime) -> DigestInput:
    cfg = settings.digest
    prev = period.previous
    base_start = prev.start - timedelta(weeks=cfg.spikes.baseline_weeks, hours=2 * cfg.spikes.window_hours)
    with db.sessions() as s:
        bucket = hour_bucket(s, Mention.created_at)
        q = (
            select(
                bucket,
                Mention.source,
                Mention.brand,
                func.count(),
                func.sum(case((Mention.is_complaint.is_(True), 1), else_=0)),
                func.sum(Mention.sentiment),
                func.count(Mention.sentiment),
            )
            .where(Mention.created_at >= base_start, Mention.created_at < period.end, *_counted())
            .group_by(bucket, Mention.source, Mention.brand)
        )
        volume = tuple(
            VolumeRow(
                datetime.strptime(h, "%Y-%m-%d %H").replace(tzinfo=UTC), src, brand, n, int(c or 0), float(ss or 0), sn
            )
            for h, src, brand, n, c, ss, sn in s.execute(q).all()
        )
        complaints = _complaints(s, period.start, period.end)
        previous = _complaints(s, prev.start, prev.end)
        baseline = tuple(
            (at, brand, tuple((a or {}).get("topics") or ()))
            for at, brand, a in s.execute(
                select(Mention.created_at, Mention.brand, Mention.analysis).where(
                    Mention.is_complaint.is_(True),
                    Mention.created_at >= base_start,
                    Mention.created_at < prev.start,
                    *_counted(),
                )
            ).all()
        )
        cases = _cases(s, period, {c.case_id for c in complaints if c.case_id})
        events = tuple(
            EventRow(cid, at, actor, kind)
            for cid, at, actor, kind in s.execute(
                select(CaseEvent.case_id, CaseEvent.at, CaseEvent.actor, CaseEvent.kind).where(
                    CaseEvent.at >= period.start, CaseEvent.at < period.end
                )
            ).all()
        )
    handles = tuple(h for b in settings.brands for hs in b.handles.values() for h in hs)
    keywords = tuple(k for b in settings.brands for k in b.keywords)
    return DigestInput(
        period=period,
        generated_at=now,
        volume=volume,
        complaints=complaints,
        previous_complaints=previous,
        baseline_topics=baseline,
        cases=cases,
        events=events,
        brands=tuple(b.name for b in settings.brands),
        handles=handles,
        keywords=keywords,
        sla_targets=sla_targets(settings),
        working_hours=settings.cases.working_hours,
    )


def sla_targets(settings: Settings) -> dict[str, tuple[float, float]]:
    """``cases.sla`` as {priority: (first-response minutes, resolution minutes)}."""
    return {p: (t.first_response_minutes, t.resolution_minutes) for p, t in settings.cases.sla.items()}


def _complaints(s: Session, start: datetime, end: datetime) -> tuple[ComplaintRow, ...]:
    q = (
        select(
            Mention.id,
            Mention.created_at,
            Mention.brand,
            Mention.source,
            Mention.platform,
            Mention.text,
            Author.handle,
            Author.followers,
            Author.tier,
            Mention.analysis,
            Mention.case_id,
            Mention.url,
        )
        .outerjoin(Author, Author.id == Mention.author_id)
        .where(Mention.is_complaint.is_(True), Mention.created_at >= start, Mention.created_at < end, *_counted())
        .order_by(Mention.created_at, Mention.id)
    )
    out = []
    for mid, at, brand, src, plat, text, handle, fol, tier, a, cid, url in s.execute(q).all():
        a = a or {}
        out.append(
            ComplaintRow(
                mid,
                at,
                brand,
                src,
                plat,
                text,
                handle,
                fol,
                tier,
                tuple(a.get("topics") or ()),
                tuple(a.get("escalation") or ()),
                cid,
                url,
            )
        )
    return tuple(out)


def _cases(s: Session, period: Period, complained: set[int]) -> tuple[CaseRow, ...]:
    """Cases open now, resolved in the period, or behind a complaint of the period.

    ``started_at`` is the customer's first post of the case (the SLA clock starts
    when the customer spoke, not when gripewatch saw it).
    """
    base = select(
        Case.id,
        Case.brand,
        Case.status,
        Case.priority,
        Case.assignee,
        Case.opened_at,
        Case.first_response_at,
        Case.resolved_at,
        Author.handle,
        Author.followers,
        Author.tier,
        Case.summary,
    ).outerjoin(Author, Author.id == Case.author_id)
    q = base.where(
        or_(
            Case.status.in_(OPEN),
            Case.opened_at.between(period.start, period.end),
            Case.resolved_at.between(period.start, period.end),
        )
    )
    rows = {r[0]: r for r in s.execute(q).all()}
    missing = sorted(complained - rows.keys())
    for i in range(0, len(missing), 500):
        rows.update({r[0]: r for r in s.execute(base.where(Case.id.in_(missing[i : i + 500]))).all()})
    first: dict[int, datetime] = {}
    ids = sorted(rows)
    for i in range(0, len(ids), 500):
        first.update(
            s.execute(
                select(Mention.case_id, func.min(Mention.created_at))
                .where(Mention.case_id.in_(ids[i : i + 500]), Mention.is_own.is_(False))
                .group_by(Mention.case_id)
            ).all()  # type: ignore[arg-type]
        )
    return tuple(
        CaseRow(  # type: ignore[call-arg]
            *r,
            started_at=min(first.get(cid) or r[5], r[5]),
        )
        for cid, r in rows.items()
    )


def make_digest(db: Database, settings: Settings, period_text: str, now: datetime):  # type: ignore[no-untyped-def]
    """Load, build and chart the digest of ``period_text``: (digest, chart PNG)."""
    from gripewatch.dashboards.charts import digest_chart
    from gripewatch.dashboards.digest import build_digest
    from gripewatch.dashboards.period import parse_period

    period = parse_period(period_text, settings.digest.timezone, now)
    digest = build_digest(load_digest_input(db, settings, period, now), settings.digest)
    return digest, digest_chart(digest)
