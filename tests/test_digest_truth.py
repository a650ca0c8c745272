"""Every digest figure belongs to its period and names its base, each tested against a hand-built week;
recurring problems are named problems, never "other"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from gripewatch.cli import cli
from gripewatch.config import DigestConfig
from gripewatch.dashboards.digest import CaseRow, ComplaintRow, DigestInput, EventRow, VolumeRow, build_digest
from gripewatch.dashboards.period import parse_period
from gripewatch.dashboards.problems import Complaint, group_complaints
from gripewatch.dashboards.render import render_slack_blocks, render_text

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
W47 = parse_period("2026-W47", "UTC", NOW)  # Mon 16 – Mon 23 November 2026
TUE, WED, THU = (datetime(2026, 11, d, 10, tzinfo=UTC) for d in (17, 18, 19))
TARGETS = {"normal": (60.0, 600.0)}  # first response 1 h, resolution 10 h (wall clock)
STAFF = {"U1": "Ann", "U2": "Bo"}


def case(i: int, opened: datetime, answered: datetime | None, resolved: datetime | None, who: str | None,
         status: str = "resolved") -> CaseRow:  # fmt: skip
    return CaseRow(i, "Acme", status, "normal", who, opened, answered, resolved, f"c{i}", 10, None, f"case {i}")


CASES = (
    case(1, TUE, TUE + timedelta(minutes=30), TUE + timedelta(hours=5), "U1"),  # both in time
    case(2, WED, WED + timedelta(hours=2), THU, "U2"),  # answered 1 h late, resolved 14 h late
    case(3, datetime(2026, 11, 22, 23, 30, tzinfo=UTC), None, None, "U9", "new"),  # due next week
    case(4, datetime(2026, 11, 1, 9, tzinfo=UTC), None, None, "U1", "new"),  # due weeks ago, still open
)


def complaint(i: int, text: str, at: datetime, topics: tuple[str, ...] = ("other",), **kw: Any) -> ComplaintRow:
    return ComplaintRow(i, at, "Acme", "x", "x", text, f"a{i}", topics=topics, case_id=None, **kw)


def week(**kw: Any) -> DigestInput:
    base: dict[str, Any] = {
        "period": W47,
        "generated_at": NOW,
        "volume": (VolumeRow(TUE, "x", "Acme", 10, 4, 0.0, 10),),
        "complaints": (),
        "previous_complaints": (),
        "baseline_topics": (),
        "cases": CASES,
        "events": (),
        "brands": ("Acme",),
        "sla_targets": TARGETS,
        "staff": STAFF,
    }
    return DigestInput(**{**base, **kw})


def test_breaches_belong_to_the_period_their_due_time_fell_in() -> None:
    d = build_digest(week(), DigestConfig())
    # due in W47: cases 1 and 2 (case 3 is due on Monday 23rd, case 4 was due on 1 November)
    assert (d.sla.response_due, d.sla.response_breaches) == (2, 1)
    assert (d.sla.resolution_due, d.sla.resolution_breaches) == (2, 1)
    assert d.sla.compliance == 0.5
    assert "First-response SLA met for 50% of the 2 cases due this period (1 breaches" in " ".join(d.highlights)
    text = render_text(d)
    assert "1 breaches of 2 due in the period" in text
    # a week with no mentions has no breaches: the old open cases were due long before it
    quiet = build_digest(week(period=parse_period("2026-W49", "UTC", NOW), volume=()), DigestConfig())
    assert (quiet.sla.response_breaches, quiet.sla.resolution_breaches, quiet.sla.response_due) == (0, 0, 0)
    assert not any("breach" in h for h in quiet.highlights)


def test_agents_are_shown_by_name() -> None:
    d = build_digest(week(), DigestConfig())
    assert {a.name: (a.open, a.resolved) for a in d.agents} == {"Ann": (1, 1), "Bo": (0, 1), "U9": (1, 0)}
    assert "• Ann: 1 open, 1 resolved" in str(render_slack_blocks(d))


def test_a_spike_over_a_zero_median_is_compared_with_the_usual_rate() -> None:
    spike_at = WED.replace(hour=12)
    burst = tuple(complaint(100 + i, f"acme is down {i}", spike_at + timedelta(minutes=i)) for i in range(15))
    baseline = ((spike_at - timedelta(weeks=2), "Acme", ()),)  # one complaint at these hours in four weeks
    d = build_digest(week(complaints=burst, baseline_topics=baseline), DigestConfig())
    (s,) = d.spikes
    assert s.count == 15 and s.expected == 0
    assert s.compared == "usually 0.1 an hour"  # 1 complaint / (4 weeks × 3 hours)
    text = " ".join(d.highlights) + render_text(d) + str(render_slack_blocks(d))
    assert "usually 0.1 an hour" in text and "usual 0" not in text and "15.0×" not in text


def test_vip_and_high_reach_lists_show_complaints_only() -> None:
    rows = (
        complaint(1, "acme lost my files, furious", TUE, tier="vip"),
        complaint(2, "acme is killing it with this release", TUE, tier="vip", corrected=True),  # staff: praise
        complaint(3, "acme support ignored me for a week", WED, followers=50_000),
    )
    d = build_digest(week(complaints=rows), DigestConfig())
    assert d.high_reach_count == 2
    assert [q.text for q in d.high_reach] == ["acme lost my files, furious", "acme support ignored me for a week"]


def test_satisfaction_section() -> None:
    events = (
        EventRow(1, TUE + timedelta(days=2), "gripewatch", "follow_up"),
        EventRow(1, TUE + timedelta(days=3), "gripewatch", "satisfaction", {"satisfied": True}),
        EventRow(2, THU + timedelta(days=1), "gripewatch", "satisfaction", {"satisfied": False}),
        EventRow(2, THU + timedelta(days=1), "gripewatch", "reopened"),
        EventRow(1, datetime(2026, 11, 10, tzinfo=UTC), "gripewatch", "reopened"),  # the week before
    )
    d = build_digest(week(events=events), DigestConfig())
    s = d.satisfaction
    assert s is not None
    assert (s.follow_ups, s.replies, s.satisfied, s.unsatisfied, s.resolved, s.reopened) == (1, 2, 1, 1, 2, 1)
    assert s.reopen_rate == 0.5
    text = render_text(d)
    assert "1 follow-up sent to check in after a resolution." in text
    assert "2 customers wrote after their case was resolved: 1 of 2 judged satisfied, 1 not." in text
    assert "Reopen rate 50%: 1 case reopened, 2 resolved in the period." in text
    assert "*Satisfaction*" in str(render_slack_blocks(d))


def test_unmatched_complaints_are_grouped_by_what_they_say_and_named() -> None:
    texts = [
        ("acme status page says all systems operational while nothing works", ("other",)),
        ("why does the status page say everything is fine, acme is broken", ("other",)),
        ("@AcmeHelp where is your status page?", ("other",)),
        ("my acme hub charger started smoking last night", ("other",)),
        ("second hub charger smoking at the plug, fire hazard", ("other",)),
        ("charged twice this month", ("billing_refunds",)),
        ("refund still missing", ("billing_refunds",)),
        ("the butterfly clip was peak fashion", ("other",)),  # alone: not a recurring problem
    ]
    groups = group_complaints([Complaint(i, t, f"a{i}", tp) for i, (t, tp) in enumerate(texts)], ["Acme"])
    assert [(g.label, g.kind, g.members) for g in groups] == [
        ("status page", "theme", (0, 1, 2)),
        ("billing_refunds", "topic", (5, 6)),
        ("hub charger", "theme", (3, 4)),
    ]
    rows = tuple(complaint(i, t, TUE, tp) for i, (t, tp) in enumerate(texts))
    d = build_digest(week(complaints=rows), DigestConfig())
    assert [(p.label, p.count) for p in d.problems] == [("Status page", 3), ("Billing and refunds", 2),
                                                        ("Hub charger", 2)]  # fmt: skip
    assert d.highlights[1] == "Top problem: “Status page” — 3 complaints (new)."


def test_the_demo_digest_names_its_problems_and_never_lists_other(tmp_path: Path) -> None:
    import subprocess
    import sys

    demo = subprocess.run([sys.executable, "-m", "gripewatch", "demo", "--dir", str(tmp_path / "demo"), "--quiet"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    runner = CliRunner()
    from importlib import resources

    data = yaml.safe_load(resources.files("gripewatch").joinpath("demo/config.yaml").read_text("utf-8"))
    data["database"] = {"url": f"sqlite:///{tmp_path / 'demo' / 'gripewatch.db'}"}
    data["sources"][0]["path"] = str(resources.files("gripewatch").joinpath("demo/mentions.jsonl"))
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()  # `gripewatch demo` replays its posts into the last 12 hours
    period = f"{today - timedelta(days=1)}..{today}"
    res = runner.invoke(cli, ["digest", "--config", str(cfg), "--period", period, "--to", "file", "--output", "-"])
    assert res.exit_code == 0, res.output
    problems = res.output.split("TOP RECURRING PROBLEMS")[1].split("SPIKES")[0]
    labels = [ln[2:].split(":")[0] for ln in problems.splitlines() if ln.startswith("- ")]
    assert len(labels) == 5 and "Other" not in labels and not any("_" in x or x == "other" for x in labels), labels
    assert "Billing and refunds" in labels
    assert "usual 0 " not in res.output and "U0AGENT01" not in res.output  # rates and names, not ids
