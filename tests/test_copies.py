"""Copies never hide a different customer: digits are part of the text, another author's copy is their own
case, a repeat by the same author joins their case, and the 48-hour window holds within one page too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from gripewatch.alerts.copies import Copies, Seen
from gripewatch.db import Database
from gripewatch.models import Case, Mention
from gripewatch.pipeline import run_source
from tests.conftest import make_settings
from tests.test_slack_e2e import Clock

NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)


def post(i: int, text: str, author: str, at: datetime) -> dict:
    return {"id": f"p{i}", "text": text, "author": author, "created_at": at.isoformat(), "url": f"https://x/{i}"}


def cases_by_author(db: Database) -> dict[str, int]:
    with db.sessions() as s:
        rows = s.execute(select(Mention.raw, Mention.case_id).order_by(Mention.id)).all()
    return {raw["author"]: cid for raw, cid in rows if cid is not None}


def test_two_customers_whose_texts_differ_only_by_an_order_number_get_two_cases(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    text = "@AcmeHelp my order {} never arrived and nobody answers my emails, I want my refund"
    records = [post(1, text.format(48213), "alice", NOW), post(2, text.format(99102), "bob", NOW)]
    settings = make_settings(tmp_path, db_url, records)
    run = run_source(db, settings, settings.sources[0], now=Clock(NOW + timedelta(minutes=5)))
    assert run.cases_opened == 2 and run.duplicates == 0
    owners = cases_by_author(db)
    assert set(owners) == {"alice", "bob"} and owners["alice"] != owners["bob"]
    with db.sessions() as s:
        bob = s.scalars(select(Mention).where(Mention.external_id == "p2")).one()
        assert bob.analysis["duplicate_of"] is None and bob.analysis["copy_of"] is None


def test_same_text_from_other_authors_is_their_own_case_and_a_repeat_joins_the_authors_case(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    text = "@AcmeHelp the acme cloud app is down again and I cannot reach my files at all"
    records = [
        post(1, text, "alice", NOW),
        post(2, text, "bob", NOW + timedelta(minutes=1)),
        post(3, text, "alice", NOW + timedelta(minutes=2)),  # alice pastes it again
    ]
    settings = make_settings(tmp_path, db_url, records)
    run = run_source(db, settings, settings.sources[0], now=Clock(NOW + timedelta(minutes=5)))
    assert run.cases_opened == 2
    with db.sessions() as s:
        alice_case, bob_case = s.scalars(select(Case).order_by(Case.id)).all()
        assert alice_case.mention_count == 2 and bob_case.mention_count == 1
        ms = {m.external_id: m for m in s.scalars(select(Mention))}
        assert ms["p2"].analysis["copy_of"] == ms["p1"].id and ms["p2"].case_id == bob_case.id
        assert ms["p3"].analysis["duplicate_of"] == ms["p1"].id and ms["p3"].case_id == alice_case.id


def test_the_48_hour_window_applies_within_one_page(tmp_path: Path, db: Database, db_url: str) -> None:
    text = "@AcmeHelp the acme cloud app is down again and I cannot reach my files at all"
    weeks_ago = NOW - timedelta(days=21)
    records = [post(1, text, "alice", weeks_ago), post(2, text, "bob", NOW)]  # three weeks apart, one page
    settings = make_settings(tmp_path, db_url, records, cases={"backfill_after_hours": 10_000})
    run_source(db, settings, settings.sources[0], now=Clock(NOW + timedelta(minutes=5)))
    with db.sessions() as s:
        later = s.scalars(select(Mention).where(Mention.external_id == "p2")).one()
        assert later.analysis["copy_of"] is None and later.analysis["duplicate_of"] is None
        assert s.scalar(select(func.count(Case.id))) == 2


def test_copies_match_only_within_48_hours_and_tell_authors_apart() -> None:
    seen = Copies({("Acme", "f"): [Seen(1, 10, NOW), Seen(2, 20, NOW + timedelta(hours=1))]})
    long = "one two three four five six"

    class A:
        def __init__(self, i: int) -> None:
            self.id = i

    assert seen.match("Acme", "f", long, A(10), NOW + timedelta(hours=2)) == (1, 2)  # type: ignore[arg-type]
    assert seen.match("Acme", "f", long, A(30), NOW + timedelta(hours=2)) == (None, 1)  # type: ignore[arg-type]
    assert seen.match("Acme", "f", long, A(10), NOW + timedelta(hours=48, minutes=30)) == (None, 2)  # type: ignore[arg-type]
    assert seen.match("Acme", "f", long, A(10), NOW + timedelta(days=3)) == (None, None)  # type: ignore[arg-type]
    assert seen.match("Acme", "f", "acme down?", A(10), NOW) == (None, None)  # type: ignore[arg-type]
    assert seen.match("Other", "f", long, A(10), NOW) == (None, None)  # type: ignore[arg-type]
