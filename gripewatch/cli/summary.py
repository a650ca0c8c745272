"""What the CLI shows: run summaries, case tables and case details."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from gripewatch.cli.listing import case_dict, case_query
from gripewatch.db import Database
from gripewatch.models import OPEN_STATUSES, Case, CaseEvent, Mention, Outbox, valid_id

if TYPE_CHECKING:
    from gripewatch.runtime.jobs import RunReport


def summary_table(db: Database, report: RunReport, title: str = "gripewatch run") -> Table:
    t = Table(title=title, show_header=True)
    t.add_column("source")
    for col in ("new", "dup", "skipped", "complaints", "opened", "updated", "status"):
        t.add_column(col, justify="right")
    for r in report.sources:
        t.add_row(
            Text(r.source),
            str(r.stored),
            str(r.duplicates),
            str(len(r.skipped)),
            str(r.complaints),
            str(r.cases_opened),
            str(r.cases_updated),
            "FAILED" if r.error else "ok",
        )
    with db.sessions() as s:
        mentions = s.scalar(select(func.count(Mention.id))) or 0
        complaints = s.scalar(select(func.count(Mention.id)).where(Mention.is_complaint.is_(True))) or 0
        n_cases = s.scalar(select(func.count(Case.id))) or 0
        open_cases = s.scalar(select(func.count(Case.id)).where(Case.status.in_(OPEN_STATUSES))) or 0
        sent = s.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_not(None))) or 0
        pending = s.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_(None))) or 0
    d = report.delivery
    t.caption = (
        f"database: {mentions} mentions, {complaints} complaints, {n_cases} cases ({open_cases} open), "
        f"{sent} alerts sent, {pending} pending" + (f" · this run delivered {d.sent}, failed {d.failed}" if d else "")
    )
    return t


def case_detail(db: Database, case_id: int) -> dict[str, Any] | None:
    if not valid_id(case_id):
        return None
    with db.sessions() as s:
        c = s.get(Case, case_id)
        if c is None:
            return None
        out = case_dict(s.execute(case_query(case_id=c.id)).one())
        out["mentions_detail"] = [
            {
                "id": m.id,
                "source": m.source,
                "external_id": m.external_id,
                "created_at": m.created_at.isoformat(),
                "author": m.author.handle if m.author else None,
                "text": m.text,
                "url": m.url,
                "sentiment": m.sentiment,
                "complaint_probability": m.complaint_probability,
                "severity": m.severity,
                **(m.analysis or {}),
            }
            for m in s.scalars(select(Mention).where(Mention.case_id == c.id).order_by(Mention.created_at)).all()
        ]
        out["events"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)).all()
        ]
        return out


def print_case(console: Console, d: dict[str, Any]) -> None:
    console.print(
        f"[bold]Case #{d['id']}[/bold] · {d['status']} · priority {d['priority']} · severity {d['severity']}"
        f" · {escape(d['brand'] or 'no brand')}"
    )
    console.print(
        f"customer: @{d['author']} ({d['followers'] or 0:,} followers) · assignee: {d['assignee'] or '-'}",
        markup=False,
    )
    console.print(
        f"customer posted {d['customer_since']} · opened {d['opened_at']}{' (backlog)' if d.get('backfill') else ''}"
        f" · first response {d['first_response_at'] or '-'} · resolved {d['resolved_at'] or '-'}"
        + (f" · incident #{d['incident_id']}" if d.get("incident_id") else "")
    )
    console.print("\n[bold]Mentions[/bold]")
    for m in d["mentions_detail"]:
        console.print(f"  {m['created_at'][:16]} @{m['author']}: {m['text']}", markup=False)
        if m.get("reasons"):
            console.print(f"      why: {', '.join(m['reasons'])}", markup=False)
    console.print("\n[bold]Audit trail[/bold]")
    for e in d["events"]:
        if e["kind"] == "note":
            console.print(f"  {e['at'][:19]} {e['actor']}: note: {(e['detail'] or {}).get('text', '')}", markup=False)
        else:
            console.print(f"  {e['at'][:19]} {e['actor']}: {e['kind']} {e['detail'] or ''}", markup=False)
