"""What an operator needs to know: ``gripewatch status`` and the numbers behind ``/metrics``.

``snapshot(db, settings, now)`` reads sources and their health, leases, the
outbox backlog and its oldest item, open cases by status and by how long they
have waited for a first response, the jobs' latest runs and the last digest.
It returns plain JSON-able data; ``render`` turns it into rich tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.models import OPEN_STATUSES, Case, JobRun, Lease, Outbox, SourceState
from gripewatch.runtime.polling import poll_interval
from gripewatch.terminal import visible

# open cases without a first response, by how long the customer has waited (from their post)
WAIT_BUCKETS = ((timedelta(hours=1), "waiting <1h"), (timedelta(hours=4), "waiting 1-4h"), (None, "waiting >4h"))


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def snapshot(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything ``gripewatch status`` shows, as JSON-able data."""
    with db.sessions() as s:
        states = {st.source: st for st in s.scalars(select(SourceState)).all()}
        leases = s.scalars(select(Lease).order_by(Lease.name)).all()
        pending = select(Outbox).where(Outbox.sent_at.is_(None), Outbox.dead.is_(False))
        backlog = s.scalar(select(func.count()).select_from(pending.subquery())) or 0
        oldest = s.scalar(select(func.min(Outbox.created_at)).where(Outbox.sent_at.is_(None), Outbox.dead.is_(False)))
        retrying = s.scalar(
            select(func.count(Outbox.id)).where(
                Outbox.sent_at.is_(None), Outbox.dead.is_(False), Outbox.last_error.is_not(None)
            )
        )
        dead = s.scalar(select(func.count(Outbox.id)).where(Outbox.dead.is_(True))) or 0
        per_channel = s.execute(
            select(Outbox.channel, Outbox.kind, Case.slack_channel, Outbox.created_at)
            .outerjoin(Case, Case.id == Outbox.case_id)
            .where(Outbox.sent_at.is_(None), Outbox.dead.is_(False))
        ).all()
        by_status = dict(
            s.execute(
                select(Case.status, func.count(Case.id)).where(Case.status.in_(OPEN_STATUSES)).group_by(Case.status)
            ).all()
        )
        waiting = s.execute(
            select(func.coalesce(Case.customer_since, Case.opened_at), Case.first_response_at, Case.backfill).where(
                Case.status.in_(OPEN_STATUSES)
            )
        ).all()
        latest = select(JobRun.job, func.max(JobRun.started_at).label("at")).group_by(JobRun.job).subquery("latest")
        runs = s.scalars(
            select(JobRun)
            .join(latest, (JobRun.job == latest.c.job) & (JobRun.started_at == latest.c.at))
            .order_by(JobRun.job)
        ).all()
        digest = s.scalar(
            select(JobRun)
            .where(JobRun.job == "digest", JobRun.outcome == "ok")
            .order_by(JobRun.started_at.desc())
            .limit(1)
        )
    sla: dict[str, int] = {"answered": 0, **{label: 0 for _, label in WAIT_BUCKETS}}
    backlog_cases = sum(1 for *_, bf in waiting if bf)
    for since, first_response_at, _bf in waiting:
        if first_response_at is not None:
            sla["answered"] += 1
            continue
        age = now - since  # the customer's wait, from their post
        sla[next(label for limit, label in WAIT_BUCKETS if limit is None or age < limit)] += 1
    sources = []
    for src in settings.sources:
        st = states.get(src.name)
        sources.append(
            {
                "name": src.name,
                "type": src.type,
                "enabled": src.enabled,
                "interval_seconds": poll_interval(src, settings.scheduler),
                "last_success_at": _iso(st.last_success_at) if st else None,
                "last_error": st.last_error if st and st.consecutive_failures else None,
                "consecutive_failures": st.consecutive_failures if st else 0,
                "cursor": st.cursor if st else None,
            }
        )
    return {
        "at": now.isoformat(),
        "sources": sources,
        "leases": [
            {"name": le.name, "holder": le.holder, "expires_at": _iso(le.expires_at), "expired": le.expires_at < now}
            for le in leases
        ],
        "outbox": {
            "pending": backlog,
            "retrying": retrying or 0,
            "dead": dead,
            "oldest_pending_at": _iso(oldest),
            "oldest_pending_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
            "by_channel": _by_channel(per_channel, now),
        },
        "open_cases": {
            "by_status": {st: by_status.get(st, 0) for st in OPEN_STATUSES},
            "first_response": sla,
            "backfill": backlog_cases,
        },
        "jobs": [
            {
                "job": r.job,
                "holder": r.holder,
                "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at),
                "outcome": r.outcome or "running",
            }
            for r in runs
        ],
        "last_digest": {"at": _iso(digest.started_at), "holder": digest.holder} if digest else None,
    }


def _by_channel(rows: Sequence[Any], now: datetime) -> list[dict[str, Any]]:
    """The backlog per Slack channel (a thread message counts where its case's card is), oldest first."""
    from gripewatch.alerts.outbox import THREADED

    found: dict[str, dict[str, Any]] = {}
    for channel, kind, case_channel, created in rows:
        where = (case_channel if kind in THREADED and case_channel else channel) or "(case thread)"
        b = found.setdefault(where, {"channel": where, "pending": 0, "oldest": created})
        b["pending"] += 1
        b["oldest"] = min(b["oldest"], created)
    return [
        {
            "channel": b["channel"],
            "pending": b["pending"],
            "oldest_age_seconds": round((now - b["oldest"]).total_seconds(), 1),
        }
        for b in sorted(found.values(), key=lambda b: b["oldest"])
    ]


def _short(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


def render(snap: dict[str, Any]) -> Group:
    """Rich tables of a snapshot (times in UTC)."""
    src = Table(title="sources", title_justify="left")
    for col in ("source", "type", "every", "last success", "failures", "last error"):
        src.add_column(col)
    for s in snap["sources"]:
        src.add_row(  # names and errors as Text: an error quoting a payload is never read as rich markup
            Text(s["name"] + ("" if s["enabled"] else " (disabled)")),
            s["type"],
            f"{s['interval_seconds']:.0f}s",
            _short(s["last_success_at"]) if s["last_success_at"] else "never",
            str(s["consecutive_failures"]),
            Text(visible((s["last_error"] or "")[:80])),
        )
    jobs = Table(title="jobs (latest run)", title_justify="left")
    for col in ("job", "outcome", "started", "finished", "holder"):
        jobs.add_column(col)
    for j in snap["jobs"]:
        jobs.add_row(Text(j["job"]), j["outcome"], _short(j["started_at"]), _short(j["finished_at"]), Text(j["holder"]))
    held = Table(title="leases", title_justify="left")
    for col in ("lease", "holder", "expires"):
        held.add_column(col)
    for le in snap["leases"]:
        held.add_row(
            Text(le["name"]), Text(le["holder"]), _short(le["expires_at"]) + (" (expired)" if le["expired"] else "")
        )
    ob, cases = snap["outbox"], snap["open_cases"]
    oldest = f", oldest {ob['oldest_pending_age_seconds']:.0f}s old" if ob["oldest_pending_at"] else ""
    statuses = ", ".join(f"{k} {v}" for k, v in cases["by_status"].items())
    sla = ", ".join(f"{k} {v}" for k, v in cases["first_response"].items())
    digest = snap["last_digest"]
    lines = Table.grid(padding=(0, 2))
    lines.add_row("outbox", f"{ob['pending']} pending ({ob['retrying']} retrying){oldest}; {ob['dead']} given up")
    for b in ob.get("by_channel", []):
        lines.add_row("", f"{b['channel']}: {b['pending']} pending, oldest {b['oldest_age_seconds']:.0f}s old")
    backlog = f" ({cases['backfill']} from backlog)" if cases.get("backfill") else ""
    lines.add_row("open cases", statuses + backlog)
    lines.add_row("first response", sla)
    lines.add_row("last digest", Text(f"{_short(digest['at'])} by {digest['holder']}" if digest else "never"))
    return Group(src, lines, jobs, held)
