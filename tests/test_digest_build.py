"""The digest is built purely from rows; periods, spikes and problem groups are pure too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gripewatch.config import DigestConfig, SpikeConfig
from gripewatch.dashboards.digest import build_digest
from gripewatch.dashboards.load import load_digest_input
from gripewatch.dashboards.period import parse_period
from gripewatch.dashboards.problems import Complaint, group_complaints
from gripewatch.dashboards.render import render_html, render_slack_blocks, render_text
from gripewatch.dashboards.spikes import ALL, detect_spikes, scan_spikes
from gripewatch.errors import InputError
from tests.dashboard_helpers import NOW, demo_data, load_demo

# ------------------------------------------------------------------ periods


def test_periods() -> None:
    p = parse_period("last-week", "UTC", NOW)
    assert (p.start.isoformat(), p.end.isoformat()) == ("2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00")
    assert parse_period("2026-W47", "UTC") == p
    assert p.previous.start == p.start - timedelta(days=7)
    r = parse_period("2026-11-01..2026-11-03", "Europe/Berlin")
    assert r.start.utcoffset() == timedelta(hours=1) and len(r.days) == 3
    for bad in ("yesterday", "2026-W60", "2026-11-05..2026-11-01", "2026-13-01..2026-13-02"):
        with pytest.raises(InputError):
            parse_period(bad)


# ------------------------------------------------------------------ spikes

CFG = SpikeConfig(window_hours=3, baseline_weeks=4, min_complaints=5, min_ratio=3.0, z_threshold=4.0, cooldown_hours=12)
T0 = datetime(2026, 10, 5, 0, tzinfo=UTC)  # a Monday


def _weekly(weeks: int = 5) -> dict[datetime, int]:
    """A strong weekly rhythm: Monday 09–12 gets 12 complaints an hour, other hours 1."""
    out = {}
    for h in range(weeks * 7 * 24):
        t = T0 + timedelta(hours=h)
        out[t] = 12 if t.weekday() == 0 and 9 <= t.hour < 12 else 1
    return out


def test_weekly_rush_is_not_a_spike_but_an_incident_is_and_alerts_once() -> None:
    counts = _weekly()
    monday_rush = T0 + timedelta(weeks=4, hours=12)
    assert detect_spikes({("Acme", ALL): counts}, monday_rush, CFG) == []
    # an incident on Tuesday 14:00–18:00 at Monday-rush volume
    for h in range(14, 18):
        counts[T0 + timedelta(weeks=4, days=1, hours=h)] = 12
    found = scan_spikes({("Acme", ALL): counts}, T0 + timedelta(weeks=4), T0 + timedelta(weeks=5), CFG)
    assert len(found) == 1, found
    s = found[0]
    assert s.brand == "Acme" and s.count >= 9 and s.expected == 3 and s.end.weekday() == 1  # found in its first hour
    # after the cooldown, a second incident alerts again
    for h in range(14, 18):
        counts[T0 + timedelta(weeks=4, days=3, hours=h)] = 12
    found = scan_spikes({("Acme", ALL): counts}, T0 + timedelta(weeks=4), T0 + timedelta(weeks=5), CFG)
    assert [x.end.weekday() for x in found] == [1, 3]


def test_one_incident_makes_one_alert_naming_its_topics() -> None:
    at = T0 + timedelta(weeks=4, hours=15)
    series = {
        ("Acme", ALL): {at - timedelta(hours=i): 5 for i in range(1, 4)},
        ("Acme", "outage"): {at - timedelta(hours=i): 4 for i in range(1, 4)},
        ("Acme", "account_login"): {at - timedelta(hours=i): 3 for i in range(1, 4)},
    }
    found = detect_spikes(series, at, CFG)
    assert [(s.brand, s.topic, s.count, s.topics) for s in found] == [("Acme", ALL, 15, ("outage", "account_login"))]
    assert detect_spikes(series, at, CFG, {"Acme|*": at - timedelta(hours=1)}) == []  # the brand is in cooldown
    only_topic = {("Acme", "outage"): series[("Acme", "outage")]}
    assert [(s.topic, s.topics) for s in detect_spikes(only_topic, at, CFG)] == [("outage", ("outage",))]
    assert detect_spikes({("Acme", ALL): {at - timedelta(hours=1): 4}}, at, CFG) == []  # under min_complaints


# ------------------------------------------------------------------ problems


def test_similar_complaints_are_grouped_with_quotes_from_different_people() -> None:
    texts = [
        ("a", "charged twice for my subscription this month"),
        ("b", "I was charged twice! refund please"),
        ("a", "still charged twice, nobody answers"),
        ("c", "app keeps crashing on login"),
        ("d", "the app crashing again when I open settings"),
        ("e", "love the new colours"),
    ]
    groups = group_complaints([Complaint(i, t, a) for i, (a, t) in enumerate(texts)], ignore=["Acme"])
    assert groups[0].label == "charged twice" and groups[0].members == (0, 1, 2)
    assert len(groups[0].quotes) == 2  # authors a and b, not a twice
    assert groups[1].label in ("crashing", "app crashing", "app") and set(groups[1].members) == {3, 4}
    topical = group_complaints([Complaint(1, "x y z", "a", ("billing",)), Complaint(2, "q r s", "b", ("billing",))])
    assert [(g.label, g.kind, g.members) for g in topical] == [("billing", "topic", (1, 2))]


# ------------------------------------------------------------------ the demo digest


@pytest.fixture
def demo_digest(db, db_url):  # type: ignore[no-untyped-def]
    settings = demo_data(db_url, digest={"mask_authors": True, "top_n": 5, "dashboard_url": "https://gw.example"})
    load_demo(db, settings)
    period = parse_period("2026-W47", "UTC")
    data = load_digest_input(db, settings, period, NOW)
    return data, build_digest(data, settings.digest)


def test_demo_digest_contents(demo_digest) -> None:  # type: ignore[no-untyped-def]
    data, d = demo_digest
    assert d.total.mentions == sum(v.mentions for v in data.volume if d.period.start <= v.hour < d.period.end)
    assert d.total.mentions > 100 and d.total.complaints == len(data.complaints) > 5
    assert d.total.previous_mentions > 50 and d.by_source[0].name == "demo" and d.by_brand[0].name == "Acme"
    assert len(d.days) == 7 and sum(x.complaints for x in d.days) == d.total.complaints
    assert d.problems and all(p.quotes for p in d.problems)
    assert "acme" not in {p.label for p in d.problems}  # brand words are never a "problem"
    # the demo's Wednesday outage is found as a spike
    assert any(s.brand == "Acme" and s.start.date().isoformat() == "2026-11-18" for s in d.spikes)
    assert d.sla.cases > 0 and d.backlog_open > 0 and d.oldest_open is not None
    assert d.highlights[0].startswith(f"{d.total.complaints} complaints")
    # masked: no customer handle appears in quotes or lists
    handles = {c.author for c in data.complaints if c.author}
    quotes = [q for p in d.problems for q in p.quotes] + list(d.high_reach)
    assert quotes and all(q.author.endswith("•••") for q in quotes)
    assert not any(f"@{h}" in q.text for q in quotes for h in handles if h.lower() != "acmehelp")


def test_build_is_pure_and_repeatable(demo_digest) -> None:  # type: ignore[no-untyped-def]
    data, d = demo_digest
    again = build_digest(data, DigestConfig(mask_authors=True, top_n=5, dashboard_url="https://gw.example"))
    assert render_text(again) == render_text(d)
    unmasked = build_digest(data, DigestConfig(mask_authors=False))
    assert any(not q.author.endswith("•••") for p in unmasked.problems for q in p.quotes)


def test_demo_digest_renders_to_html_and_slack_blocks(demo_digest) -> None:  # type: ignore[no-untyped-def]
    _data, d = demo_digest
    html = render_html(d, chart_src="cid:chart")
    assert html.startswith("<!doctype html>") and "week 2026-W47" in html and 'src="cid:chart"' in html
    for section in (
        "Top recurring problems",
        "Spikes",
        "Service levels",
        "Backlog and team",
        "Escalations",
        "VIP and high-reach",
        "Where people talk",
    ):
        assert section in html
    assert "https://gw.example/cases/" in html
    blocks = render_slack_blocks(d)
    assert blocks[0]["type"] == "header" and "2026-W47" in blocks[0]["text"]["text"]
    assert len(blocks) <= 50 and any("Top recurring problems" in (b.get("text") or {}).get("text", "") for b in blocks)
    for b in blocks:
        for t in [b.get("text") or {}, *(b.get("fields") or []), *(b.get("elements") or [])]:
            assert len(t.get("text", "")) < 3000


def test_digest_sla_counts_working_hours_like_slack() -> None:
    """With ``cases.working_hours`` a case that came in late on Friday and was answered early on Monday
    is within its target in the digest, as it was for Slack's reminders and escalations."""
    from gripewatch.config import WorkingHours
    from gripewatch.dashboards.digest import CaseRow, _sla

    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    period = parse_period("2026-W47", "UTC", now)  # Mon 16 – Mon 23 November
    fri = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    answered = CaseRow(1, "Acme", "resolved", "normal", "U1", fri, fri + timedelta(hours=64, minutes=50),
                       fri + timedelta(hours=65), "a", 10, None, "late friday")  # fmt: skip
    waiting = CaseRow(2, "Acme", "new", "normal", None, fri, None, None, "b", 10, None, "still waiting")
    targets = {"normal": (60.0, 600.0)}
    wh = WorkingHours(hours="09:00-17:00", days=("mon", "tue", "wed", "thu", "fri"), tz="UTC")
    wall = _sla((answered, waiting), period, now, targets)
    assert wall.response_breaches == 2  # 64 h 50 by the wall clock
    worked = _sla((answered, waiting), period, now, targets, wh)
    assert worked.response_breaches == 1  # 50 working minutes; only the one still unanswered is late
    assert worked.resolution_breaches == 1  # the open one: far over 10 working hours a week later
    assert "working hours 09:00-17:00 mon/tue/wed/thu/fri UTC" in worked.targets and "working" not in wall.targets
