"""Priority parts, the honest promise of the suggested reply, linked identities, customer value, reopening."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.alerts import actions
from gripewatch.alerts.priority import Facts, score
from gripewatch.alerts.reply import promise, suggested_reply
from gripewatch.cli import cli
from gripewatch.config import PriorityWeights
from gripewatch.db import Database
from gripewatch.models import Case, CaseEvent, Mention
from gripewatch.pipeline import run_source
from tests.conftest import make_settings, word, write_config
from tests.test_slack_e2e import COMPLAINT, Clock, rec


def test_priority_shows_its_parts_and_weights_come_from_config() -> None:
    w = PriorityWeights()
    p = score(Facts(severity="medium", escalation=("manager",), followers=25_000, tier="VIP", mentions=3), w)
    assert p.parts == {"severity": 15, "escalation": 20, "reach": 10, "customer_value": 25, "repeat_contact": 20}
    assert p.level == "critical" and "customer value +25" in p.explain()
    assert score(Facts(severity="low"), w).level == "low"
    heavy = w.model_copy(update={"severity": {"medium": 70}})
    assert score(Facts(severity="medium"), heavy).level == "critical"


def test_reply_promises_only_a_measured_time() -> None:
    assert promise(None) == "as soon as we can"
    assert promise(timedelta(minutes=41)) == "within 45 minutes"
    assert promise(timedelta(hours=2, minutes=5)) == "within 3 hours"
    text = suggested_reply("dana", "Acme", ["delivery"], timedelta(hours=1))
    assert text.startswith("Hi @dana") and "sorry your order hasn't reached you" in text
    assert "direct message" in text and text.endswith("within 1 hour.")


def test_measured_p90_reaches_the_card(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [rec(i, COMPLAINT.replace("two", f"two ({word(i)})"), author=f"c{i}") for i in range(12)]
    settings = make_settings(tmp_path, db_url, records, cases={"p90_min_samples": 10})
    clock = Clock(datetime(2026, 11, 10, 10, tzinfo=UTC))
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s, s.begin():
        for i, c in enumerate(s.scalars(select(Case).order_by(Case.id)).all()[:10]):
            actions.apply(s, settings, c.id, "replied", "UA1", c.opened_at + timedelta(minutes=10 * (i + 1)))
        c = s.scalars(select(Case).where(Case.first_response_at.is_(None))).first()
        actions.apply(s, settings, c.id, "acknowledge", "UA1", clock())
    with db.sessions() as s:
        from gripewatch.alerts.outbox import Outbox

        last = s.scalars(select(Outbox).where(Outbox.kind == "card_update").order_by(Outbox.id.desc())).first()
        assert last.payload["measured_p90_minutes"] == 90 and "within 2 hours" in last.payload["suggested_reply"]


def test_linked_identity_joins_the_open_case_and_value_raises_priority(tmp_path: Path, db: Database, db_url: str):
    csv = tmp_path / "crm.csv"
    csv.write_text("handle,tier,lifetime_value,platform\n@dana,vip,25000,x\n")
    records = [
        rec(1, COMPLAINT, "dana"),
        rec(2, "acme support, I wrote on x too and nobody answers. Still no order.", "dana_w", platform="reddit"),
    ]
    settings = make_settings(tmp_path, db_url, records)
    cfg = write_config(tmp_path, {"database": {"url": db_url}})
    runner = CliRunner()
    res = runner.invoke(cli, ["customers", "import", str(csv), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["customers", "link", "x:dana", "reddit:dana_w", "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("handle,tier,lifetime_value\nkim,gold,lots\n")
    res = runner.invoke(cli, ["customers", "import", str(bad), "--config", str(cfg)])
    assert res.exit_code == 1 and "bad.csv:2: lifetime_value 'lots' is not a number" in res.output
    run_source(db, settings, settings.sources[0], now=Clock(datetime(2026, 11, 10, 10, tzinfo=UTC)))
    with db.sessions() as s:
        (case,) = s.scalars(select(Case)).all()
        assert case.mention_count == 2
        assert {m.platform for m in s.scalars(select(Mention).where(Mention.case_id == case.id))} == {"x", "reddit"}
        assert case.priority_parts["customer_value"] == 45 and case.priority == "critical"


def test_resolved_case_reopens_on_a_new_complaint_and_thanks_are_a_satisfaction_signal(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    clock = Clock(datetime(2026, 11, 10, 10, tzinfo=UTC))
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT)])
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s, s.begin():
        actions.apply(s, settings, s.scalars(select(Case)).one().id, "resolve", "UA1", clock.advance(hours=1))
    thanks = rec(2, "Thanks @AcmeHelp, acme sorted it quickly, great help!")
    angry = rec(3, "@AcmeHelp acme hub broke AGAIN, same problem, this is useless. Refund me.")
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT), thanks, angry])
    clock.advance(days=1)
    run_source(db, settings, settings.sources[0], now=clock)
    with db.sessions() as s:
        case = s.scalars(select(Case)).one()
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
        assert "satisfaction" in kinds and "reopened" in kinds
        assert case.status in ("new", "acknowledged") and case.mention_count >= 2
        sat = s.scalars(select(CaseEvent).where(CaseEvent.kind == "satisfaction")).one()
        assert sat.detail["satisfied"] is True
