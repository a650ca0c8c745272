"""Bounded-load assignment under 1,000 simulated cases; SLA reminders, breaches, follow-up on a simulated clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gripewatch.alerts import actions, assign, sla
from gripewatch.alerts.hours import add_working_time, on_shift
from gripewatch.alerts.slack import check_channels
from gripewatch.cli import cli
from gripewatch.config import StaffMember, WorkingHours
from gripewatch.db import Database
from gripewatch.errors import ConfigError
from gripewatch.models import Case, CaseEvent, Outbox
from gripewatch.pipeline import run_source
from tests.conftest import make_settings, word, write_config
from tests.test_slack_e2e import COMPLAINT, Clock, rec

NINE_TO_FIVE_BERLIN = {"hours": "09:00-17:00", "days": ["mon", "tue", "wed", "thu", "fri"], "tz": "Europe/Berlin"}


def test_choose_agent_least_loaded_round_robin_and_on_shift() -> None:
    staff = [StaffMember(slack_id=u, name=u, capacity=2) for u in ("UA", "UB", "UC")]
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    assert assign.choose_agent(staff, {}, {"UA": 3, "UB": 1}, now).slack_id == "UC"  # never given: first
    assert assign.choose_agent(staff, {"UC": 1}, {"UA": 3, "UB": 1, "UC": 4}, now).slack_id == "UB"
    assert assign.choose_agent(staff, {"UA": 2, "UB": 2, "UC": 2}, {}, now) is None  # everyone full
    night = StaffMember(slack_id="UN", name="n", working_hours=WorkingHours(**NINE_TO_FIVE_BERLIN))
    assert assign.choose_agent([night], {}, {}, datetime(2026, 11, 10, 22, tzinfo=UTC)) is None
    assert assign.choose_agent([night], {}, {}, now).slack_id == "UN"


def test_working_time_skips_nights_and_weekends() -> None:
    wh = WorkingHours(**NINE_TO_FIVE_BERLIN)
    fri_1630 = datetime(2026, 11, 13, 15, 30, tzinfo=UTC)  # 16:30 in Berlin (CET)
    assert add_working_time(fri_1630, timedelta(hours=1), wh) == datetime(2026, 11, 16, 8, 30, tzinfo=UTC)
    assert not on_shift(wh, datetime(2026, 11, 14, 12, tzinfo=UTC))  # Saturday
    assert add_working_time(fri_1630, timedelta(hours=1), None) == fri_1630 + timedelta(hours=1)


def test_assignment_never_exceeds_capacity_under_1000_cases(tmp_path: Path, db: Database, db_url: str) -> None:
    rng = random.Random(5)
    records = [rec(i, COMPLAINT.replace("two", f"two ({word(i)})"), author=f"c{i}") for i in range(1000)]
    mornings = {"hours": "00:00-12:00", "tz": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    staff = [
        {"slack_id": "UA1", "name": "A", "capacity": 7},
        {"slack_id": "UA2", "name": "B", "capacity": 3, "working_hours": mornings},  # off shift half the time
        {"slack_id": "UA3", "name": "C", "capacity": 12},
        {"slack_id": "UM1", "name": "M", "role": "manager"},
    ]
    settings = make_settings(tmp_path, db_url, records, staff=staff)
    src = settings.sources[0]
    src = src.model_copy(update={"options": src.options.model_copy(update={"page_size": 40})})
    settings = settings.model_copy(update={"sources": (src,)})
    caps = {"UA1": 7, "UA2": 3, "UA3": 12}
    clock = Clock(datetime(2026, 11, 10, 6, tzinfo=UTC))
    seen = {"max": {u: 0 for u in caps}, "queued": 0}

    def between_pages(_run: object) -> None:
        with db.sessions() as s, s.begin():
            loads = assign.loads(s)
            for u, n in loads.items():
                assert n <= caps[u], f"{u} has {n} open cases"
                seen["max"][u] = max(seen["max"][u], n)
            open_ = s.scalars(
                select(Case).where(Case.status.in_(assign.OPEN_STATUSES), Case.assignee.is_not(None))
            ).all()
            for c in rng.sample(open_, k=len(open_) // 2):
                actions.apply(s, settings, c.id, "resolve", c.assignee, clock())
            sla.tick(s, settings, clock())  # hands queued cases to whoever has room now
            seen["queued"] += s.scalar(select(func.count(Case.id)).where(Case.assignee.is_(None))) or 0
        clock.advance(minutes=45)

    run = run_source(db, settings, settings.sources[0], now=clock, on_page=between_pages)
    assert run.cases_opened == run.complaints >= 990
    assert all(seen["max"][u] == caps[u] for u in caps)  # everyone was filled up to, never past, capacity
    assert seen["queued"] > 0  # and cases waited in the queue when all were full
    with db.sessions() as s:
        assert s.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.kind == "queued")) > 0


def test_sla_reminder_at_75_percent_then_breach_escalates(tmp_path: Path, db: Database, db_url: str) -> None:
    staff = [{"slack_id": "UA1", "name": "A"}, {"slack_id": "UM1", "name": "M", "role": "manager"}]
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT)], staff=staff)
    clock = Clock(datetime(2026, 11, 10, 10, tzinfo=UTC))
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s:
        priority = s.scalars(select(Case)).one().priority
    target = settings.cases.sla[priority].first_response_minutes

    def tick_at(minutes: float) -> list[str]:
        with db.sessions() as s, s.begin():
            before = s.scalar(select(func.max(Outbox.id)))
            sla.tick(s, settings, datetime(2026, 11, 10, 10, tzinfo=UTC) + timedelta(minutes=minutes))
            return [o.kind for o in s.scalars(select(Outbox).where(Outbox.id > before).order_by(Outbox.id))]

    assert tick_at(0.75 * target - 1) == []
    assert tick_at(0.75 * target) == ["note"]  # the reminder, in the thread
    assert tick_at(target - 1) == []
    assert tick_at(target) == ["escalation", "card_update"]
    assert tick_at(target + 60) == []  # fires once
    with db.sessions() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "escalated"
        esc = s.scalars(select(Outbox).where(Outbox.kind == "escalation")).one()
        assert "<@UM1>" in esc.payload["text"] and esc.channel == settings.slack.channels.escalations
        note = s.scalars(select(Outbox).where(Outbox.kind == "note")).one()
        assert "<@UA1>" in note.payload["text"] and "75 %" in note.payload["text"]
        # resolve: the follow-up comes after follow_up_days, the case closes after reopen_days
        actions.apply(s, settings, case.id, "resolve", "UA1", clock.advance(hours=5))
        s.commit()
    days = settings.cases.follow_up_days
    with db.sessions() as s, s.begin():
        sla.tick(s, settings, clock() + timedelta(days=days, minutes=-1))
        assert not s.scalars(select(Outbox).where(Outbox.key.like("followup:%"))).all()
        sla.tick(s, settings, clock() + timedelta(days=days))
        assert "<@UA1>" in s.scalars(select(Outbox).where(Outbox.key.like("followup:%"))).one().payload["text"]
        sla.tick(s, settings, clock() + timedelta(days=settings.cases.reopen_days))
        assert s.scalars(select(Case)).one().status == "closed"


def test_public_channel_is_refused_at_start(tmp_path: Path, fake_slack) -> None:
    fake_slack.add_channel("#care", private=False)
    fake_slack.add_channel("#esc")
    data = {
        "slack": {
            "mode": "api",
            "token": "xoxb-t",
            "app_token": "xapp-t",
            "base_url": fake_slack.base_url,
            "channels": {"alerts": "#care", "escalations": "#esc"},
        },
        "database": {"url": f"sqlite:///{tmp_path / 'g.db'}"},
    }
    res = CliRunner().invoke(cli, ["slack", "serve", "--config", str(write_config(tmp_path, data))])
    assert res.exit_code == 2
    assert "#care is public" in res.output and "allow_public_channels" in res.output
    from slack_sdk import WebClient

    from gripewatch.config import settings_from_dict

    client = WebClient(token="xoxb-t", base_url=fake_slack.base_url)
    allowed = settings_from_dict({**data, "slack": {**data["slack"], "allow_public_channels": True}})
    check_channels(client, allowed)  # allowed explicitly: no error
    with pytest.raises(ConfigError, match="#nowhere: not found"):
        check_channels(
            client, settings_from_dict({**data, "slack": {**data["slack"], "channels": {"alerts": "#nowhere"}}})
        )


def test_waiting_raises_priority_without_a_new_post(tmp_path: Path, db: Database, db_url: str) -> None:
    """An unanswered case climbs the queue as it waits (``cases.priority.waiting_per_hour``), on the SLA tick,
    not only when the customer writes again; an answered one does not."""
    weights = {"waiting_per_hour": 10, "waiting_max": 40, "thresholds": {"critical": 200, "high": 100, "normal": 1}}
    records = [rec(1, COMPLAINT), rec(2, COMPLAINT.replace("two", "three"), author="other")]
    settings = make_settings(tmp_path, db_url, records, cases={"priority": weights})
    start = datetime(2026, 11, 10, 10, tzinfo=UTC)
    run_source(db, settings, settings.sources[0], now=Clock(start))
    with db.sessions() as s, s.begin():
        waiting, answered = s.scalars(select(Case).order_by(Case.id)).all()
        assert waiting.priority == answered.priority == "normal"
        base = waiting.priority_score
        actions.apply(s, settings, answered.id, "replied", "UA1", start + timedelta(minutes=5))
    hours = (100 - base) / 10  # the waiting points that lift the score to the "high" threshold

    def tick(h: float) -> tuple[str, int]:
        """The waiting case's priority after a tick at ``h`` hours, and its card updates queued by that tick."""
        with db.sessions() as s, s.begin():
            before = s.scalar(select(func.max(Outbox.id)))
            sla.tick(s, settings, start + timedelta(hours=h))
            new = s.scalars(select(Outbox).where(Outbox.id > before, Outbox.case_id == waiting.id)).all()
            return s.get(Case, waiting.id).priority, sum(o.kind == "card_update" for o in new)

    assert tick(hours - 0.5)[0] == "normal"
    priority, cards = tick(hours + 0.1)
    assert priority == "high" and cards >= 1  # the card shows the new priority
    assert tick(hours + 0.2) == ("high", 0)  # raised once
    with db.sessions() as s:
        c = s.get(Case, waiting.id)
        assert c.priority == "high" and c.priority_parts["waiting"] >= 100 - base
        ev = s.scalars(select(CaseEvent).where(CaseEvent.kind == "priority_raised")).one()
        assert ev.case_id == waiting.id and ev.detail["reason"] == "waiting" and ev.detail["after"] == "high"
        assert s.get(Case, answered.id).priority == "normal"


def test_a_new_post_moves_the_waiting_checkpoint_forward(tmp_path: Path, db: Database, db_url: str) -> None:
    """The customer writes again: repeated contact adds points without changing the level yet, so waiting
    reaches the next level sooner -- the case's next check moves to that earlier moment."""
    weights = {
        "waiting_per_hour": 20,
        "waiting_max": 200,
        "repeat_contact": 10,
        "thresholds": {"critical": 500, "high": 100, "normal": 1},
    }
    first = [rec(1, COMPLAINT)]
    settings = make_settings(tmp_path, db_url, first, cases={"priority": weights})
    start = datetime(2026, 11, 10, 10, tzinfo=UTC)
    run_source(db, settings, settings.sources[0], now=Clock(start))
    with db.sessions() as s:
        before = s.scalars(select(Case)).one().next_check_at
    settings = make_settings(
        tmp_path, db_url, [*first, rec(2, "@AcmeHelp hello?? still nothing")], cases={"priority": weights}
    )
    run_source(db, settings, settings.sources[0], now=Clock(start + timedelta(minutes=10)))
    with db.sessions() as s:
        c = s.scalars(select(Case)).one()
        assert c.priority == "normal" and c.mention_count == 2 and c.priority_parts.get("repeat_contact")
        rise = sla._rises_at(c, settings)
        assert rise is not None and rise < before
        assert c.next_check_at == rise
