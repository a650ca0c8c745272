"""Spike alerts on the database: the demo's outage makes one alert in the outbox, linking its cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gripewatch.alerts import blocks
from gripewatch.dashboards.spikes import check_spikes
from gripewatch.models import Outbox, SpikeAlert
from tests.dashboard_helpers import demo_data, load_demo


def test_outage_spike_alerts_once_with_its_cases(db, db_url) -> None:  # type: ignore[no-untyped-def]
    settings = demo_data(db_url, digest={"dashboard_url": "https://gw.example"})
    load_demo(db, settings)
    at = datetime(2026, 11, 18, 15, 5, tzinfo=UTC)  # just after the demo's Wednesday outage
    found = check_spikes(db, settings, at)
    assert [(s.brand, s.count >= 5) for s in found] == [("Acme", True)]
    assert check_spikes(db, settings, at + timedelta(hours=1)) == []  # cooldown: one incident, one alert
    with db.sessions() as s:
        [row] = s.scalars(select(Outbox).where(Outbox.kind == "ops")).all()
        assert row.channel == settings.slack.channels.escalations
        assert row.payload["title"].startswith("Possible outage: Acme")
        assert row.payload["case_ids"] and row.payload["case_links"][0][1].startswith("https://gw.example/cases/")
        # Slack shows them as links (they used to arrive escaped, as text), the alert text stays plain
        ops_text = blocks.for_kind("ops", row.payload)[0]["text"]["text"]
        assert "<https://gw.example/cases/" in ops_text and "<" not in row.payload["text"]
        assert s.get(SpikeAlert, "Acme|*") is not None
    assert check_spikes(db, settings, at + timedelta(days=3)) == []  # quiet days: nothing
