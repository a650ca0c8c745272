"""Backlog cases: posts that were already old when gripewatch collected them.

A complaint older than ``cases.backfill_after_hours`` when collected (a first
run, a backfill, a source that was down) still opens a case — every customer is
someone's case — marked ``backfill``: it is listed and counted (queue, status,
digest) but not paged into Slack one by one, and what fell due before we saw it
is not escalated (``alerts.sla.plan``). Instead each run posts ONE summary
message: how many, how old, where to find them.

The summary row is written with the run's first page (in its transaction, so a
crash loses nothing) and held back until the run ends (``release``), each page
updating the count; a run that dies is summarised after ``HOLD`` anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.models import Case, Outbox

HOLD = timedelta(minutes=10)


def note_case(tally: dict[str, Any], case: Case) -> None:
    """Count one backfill case opened by this run (``tally`` lives on the run)."""
    tally["count"] = tally.get("count", 0) + 1
    tally.setdefault("first_case", case.id)
    since = case.customer_since or case.opened_at
    if "oldest" not in tally or since.isoformat() < tally["oldest"]:
        tally["oldest"] = since.isoformat()


def summarise(s: Session, settings: Settings, source: str, tally: dict[str, Any], now: datetime) -> None:
    """Write (or update) the run's one summary message; held until the run ends."""
    if not tally.get("count"):
        return
    key = f"backfill:{source}:{tally['first_case']}"
    tally["key"] = key
    payload = payload_for(settings, source, tally)
    row = s.scalars(select(Outbox).where(Outbox.key == key)).first()
    if row is None:
        row = enqueue(s, key, "backfill", settings.slack.channels.alerts, payload, None, now)
        if row is not None:
            row.next_attempt_at = now + HOLD
    elif row.sent_at is None:
        row.payload = payload


def release(s: Session, tally: dict[str, Any], now: datetime) -> None:
    """The run is over: its summary may go out now."""
    if not tally.get("key"):
        return
    row = s.scalars(select(Outbox).where(Outbox.key == tally["key"], Outbox.sent_at.is_(None))).first()
    if row is not None:
        row.next_attempt_at = min(row.next_attempt_at, now)


def payload_for(settings: Settings, source: str, tally: dict[str, Any]) -> dict[str, Any]:
    n, hours = tally["count"], settings.cases.backfill_after_hours
    oldest = datetime.fromisoformat(tally["oldest"]).strftime("%Y-%m-%d %H:%M UTC")
    base = (settings.digest.dashboard_url or "").rstrip("/")
    return {
        "title": f"Backlog from {source}: {n} older complaint{'s' if n != 1 else ''}",
        "text": (
            f"{n} complaint{'s were' if n != 1 else ' was'} already older than {hours:g} h when collected from "
            f"{source} (the oldest posted {oldest}). Each is a case with an owner and SLA clocks counted from the "
            "customer's post; they are in the queue, not posted here one by one, and breaches that happened "
            "before we saw them are not escalated."
        ),
        "case_links": [["the backlog in the queue", f"{base}/cases?status=open&backfill=yes"]] if base else [],
        "count": n,
        "oldest": tally["oldest"],
    }
