"""The dashboard's SLA state is the one Slack works to: with ``cases.working_hours`` the clock stops
outside working time, so a case that came in on Friday evening is not "breached" on Saturday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gripewatch.alerts import sla
from gripewatch.dashboards.queue import QueueFilter, first_response_targets, query_queue, sla_state
from gripewatch.models import Case
from tests.conftest import make_settings

FRIDAY_EVENING = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 30 working minutes left in the week
SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 19.5 hours later, 30 working minutes later
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _states(db, settings, now: datetime) -> dict[str, set[int]]:  # type: ignore[no-untyped-def]
    targets = first_response_targets(settings)
    out = {}
    with db.session() as s:
        for state in ("breached", "due", "ok", "answered"):
            rows, _ = query_queue(s, QueueFilter(sla=state), "ana", now, targets, 50)
            out[state] = {r["id"] for r in rows}
            assert all(r["sla"] == state for r in rows), rows
    return out


def test_queue_sla_counts_working_hours(tmp_path: Path, db, db_url) -> None:  # type: ignore[no-untyped-def]
    wh = {"hours": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"], "tz": "UTC"}
    settings = make_settings(
        tmp_path,
        db_url,
        [],
        cases={"working_hours": wh, "sla": {"normal": {"first_response_minutes": 60, "resolution_minutes": 600}}},
    )
    with db.session() as s:
        late = Case(brand="Acme", priority="normal", opened_at=FRIDAY_EVENING, summary="came in late on Friday")
        legacy = Case(brand="Acme", priority="normal", opened_at=FRIDAY_EVENING, summary="no clock stored")
        s.add_all([late, legacy])
        s.flush()
        sla.plan(late, settings)
        ids = late.id, legacy.id
        s.commit()
    late_id, legacy_id = ids
    states = _states(db, settings, SATURDAY_NOON)
    assert late_id in states["ok"], states  # 30 of 60 working minutes gone; the reminder is at 45
    assert legacy_id in states["breached"]  # without a stored clock: wall-clock age against the target
    states = _states(db, settings, MONDAY + timedelta(minutes=10))  # 40 working minutes: reminder is at 45
    assert late_id in states["ok"], states
    states = _states(db, settings, MONDAY + timedelta(minutes=20))  # 50 working minutes
    assert late_id in states["due"], states
    states = _states(db, settings, MONDAY + timedelta(minutes=31))
    assert late_id in states["breached"], states
    with db.session() as s:
        c = s.get(Case, late_id)
        assert sla_state(c, SATURDAY_NOON, first_response_targets(settings)) == "ok"
