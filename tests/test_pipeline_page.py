"""A page is stored set-based: a few statements per mention, and every routing rule still holds inside one page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from gripewatch.db import Database
from gripewatch.models import Case, CaseEvent, Mention, Outbox
from gripewatch.pipeline import run_source
from tests.conftest import make_settings, recent, word

COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later ({}). Where is my refund?"


def rec(i: int, text: str, author: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"p{i}", "text": text, "author": author, "created_at": recent(i), **extra}


def statements(db: Database) -> list[int]:
    count = [0]

    def tick(*_: Any) -> None:
        count[0] += 1

    event.listen(db.engine, "before_cursor_execute", tick)
    return count


def test_one_page_keeps_customers_apart_joins_repeats_and_records_the_brand_reply(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    outage = "acme cloud is down again for everyone in my office and nobody from support answers"
    records = [
        rec(1, COMPLAINT.format(word(1)), "ana"),
        rec(2, outage, "ben"),
        rec(3, outage, "cleo"),  # the same text from another customer: a case of her own
        rec(4, "@AcmeHelp still nothing about my acme order, this is really bad service", "ana"),  # ana again
        rec(5, "@ana sorry to hear that, the acme team is looking into it now", "AcmeHelp", in_reply_to="p1"),
    ]
    settings = make_settings(tmp_path, db_url, records)
    run = run_source(db, settings, settings.sources[0])
    assert run.stored == 5 and not run.skipped
    with db.sessions() as s:
        cases = {c.id: c for c in s.scalars(select(Case)).all()}
        owners = {c.author.handle: c for c in cases.values() if c.author is not None}
        assert set(owners) == {"ana", "ben", "cleo"}  # two customers are never one case
        ana = owners["ana"]
        assert ana.mention_count == 2  # the repeat joined her open case, in the same page
        assert ana.first_response_at is not None and ana.status == "waiting"  # the brand's reply, in the same page
        mentions = {m.external_id: m for m in s.scalars(select(Mention)).all()}
        assert mentions["p3"].analysis["copy_of"] == mentions["p2"].id  # a copy names the stored post, not a stand-in
        assert mentions["p5"].case_id == ana.id
        kinds = [e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == ana.id))]
        assert kinds.count("opened") == 1 and "mention_added" in kinds and "first_response" in kinds
    again = run_source(db, settings, settings.sources[0])
    assert again.stored == 0  # a re-run duplicates nothing


def test_a_page_of_complaints_costs_a_few_statements_per_mention(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [rec(i, COMPLAINT.format(word(i)), f"cust{i % 40}") for i in range(200)]
    settings = make_settings(tmp_path, db_url, records)
    count = statements(db)
    run = run_source(db, settings, settings.sources[0])
    assert run.stored == 200 and run.cases_opened == 40 and run.cases_updated == 160
    per_mention = count[0] / run.stored
    assert per_mention < 10, per_mention  # 15.6 when each mention was flushed and routed on its own
    with db.sessions() as s:
        assert s.scalar(select(func.count(Outbox.id))) > 0


def test_the_post_a_brand_reply_answers_is_found_through_an_index(db: Database, db_url: str) -> None:
    """The reply names the post by the platform's id, not our source: without its index every page
    with a brand reply read the whole mentions table (ingest slowed as the table grew)."""
    from sqlalchemy import inspect, text

    indexes = {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes("mentions")}
    assert indexes.get("ix_mentions_external_platform") == ["external_id", "platform"]
    if db_url.startswith("sqlite"):
        with db.engine.connect() as c:
            plan = " ".join(
                str(row[-1])
                for row in c.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM mentions WHERE external_id IN ('1', '2') "
                        "AND platform IN ('x') AND case_id IS NOT NULL AND is_own = 0"
                    )
                )
            )
        assert "ix_mentions_external_platform" in plan, plan
