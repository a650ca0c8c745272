"""The data path on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.db import Database
from gripewatch.models import Author, Case, CaseEvent, Mention, Outbox, SourceState
from gripewatch.runtime.jobs import run_once
from tests.conftest import make_settings, word

COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later. Where is my refund?"


def rec(i: int, text: str, author: str = "sam", **extra: object) -> dict:
    return {
        "id": f"t{i}",
        "text": text,
        "author": author,
        "created_at": f"2026-11-10T10:{i % 60:02d}:00Z",
        "url": f"https://x.com/{author}/status/{i}",
        **extra,
    }


def counts(db: Database) -> tuple[int, int, int]:
    with db.sessions() as s:
        return (
            s.scalar(select(func.count(Mention.id))),
            s.scalar(select(func.count(Case.id))),
            s.scalar(select(func.count(Outbox.id))),
        )


def quiet() -> ConsoleNotifier:
    from io import StringIO

    from rich.console import Console

    return ConsoleNotifier(Console(file=StringIO()))


def test_run_once_twice_adds_nothing_the_second_time(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [rec(i, COMPLAINT.replace("two", f"two ({word(i)})"), author=f"user{i}") for i in range(120)]
    records += [rec(200 + i, f"Loving acme cloud, backup #{i} went perfectly!", author=f"fan{i}") for i in range(30)]
    settings = make_settings(tmp_path, db_url, records)
    first = run_once(db, settings, quiet())
    assert first.sources[0].stored == 150 and not first.failed
    after_first = counts(db)
    assert after_first[1] == 120  # a case per complaining customer
    second = run_once(db, settings, quiet())
    assert second.sources[0].stored == 0
    assert counts(db) == after_first
    with db.sessions() as s:
        assert s.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_(None))) == 0
        assert s.get(SourceState, "replay").cursor == {"offset": 150}


def test_new_rows_appended_to_the_file_are_picked_up(tmp_path: Path, db: Database, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT)])
    run_once(db, settings, quiet())
    make_settings(tmp_path, db_url, [rec(1, COMPLAINT), rec(2, "acme cloud sync is broken again!!", "kim")])
    report = run_once(db, settings, quiet())
    assert report.sources[0].stored == 1


def test_a_customer_who_writes_again_joins_their_open_case(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [
        rec(1, COMPLAINT, "dana"),
        rec(2, "@AcmeHelp any update? Still nothing.", "dana"),
        rec(3, "@AcmeHelp third time asking, I want a manager.", "dana"),
    ]
    settings = make_settings(tmp_path, db_url, records)
    run_once(db, settings, quiet())
    with db.sessions() as s:
        (case,) = s.scalars(select(Case)).all()
        assert case.mention_count == 3
        kinds = [o.kind for o in s.scalars(select(Outbox).order_by(Outbox.id)) if o.kind != "card_update"]
        assert kinds == ["new_case", "case_update", "case_update"]
        events = s.scalars(select(CaseEvent).order_by(CaseEvent.id))
        assert [e.kind for e in events if e.kind in ("opened", "mention_added")] == [
            "opened",
            "mention_added",
            "mention_added",
        ]
        assert s.scalar(select(func.count(Mention.id)).where(Mention.case_id == case.id)) == 3


def test_brand_reply_is_never_a_case_and_records_first_response(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [
        rec(1, COMPLAINT, "dana"),
        rec(
            2,
            "@dana Sorry to hear that! This is not acceptable, please DM us your order number.",
            "AcmeHelp",
            in_reply_to="t1",
        ),
    ]
    settings = make_settings(tmp_path, db_url, records)
    run_once(db, settings, quiet())
    with db.sessions() as s:
        (case,) = s.scalars(select(Case)).all()
        assert case.first_response_at is not None and case.first_response_at.isoformat().startswith("2026-11-10T10:02")
        own = s.scalars(select(Mention).where(Mention.external_id == "t2")).one()
        assert own.is_own and not own.is_complaint


def test_copies_from_other_accounts_do_not_open_more_cases(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [rec(i, COMPLAINT.replace("two", str(i)), author=f"bot{i}") for i in range(5)]
    records.append(rec(9, "@AcmeHelp acme down again??", author="a"))
    records.append(rec(10, "@AcmeHelp acme down again??", author="b"))  # short posts are written independently
    run_once(db, make_settings(tmp_path, db_url, records), quiet())
    with db.sessions() as s:
        assert s.scalar(select(func.count(Case.id))) == 1 + 2
        copies = s.scalars(select(Mention).where(Mention.author.has(Author.key.like("bot%")))).all()
        first = min(m.id for m in copies)
        assert all(m.analysis["duplicate_of"] == first for m in copies if m.id != first)


def test_reposts_do_not_open_cases(tmp_path: Path, db: Database, db_url: str) -> None:
    records = [rec(1, "RT @dana: " + COMPLAINT, "echo", is_repost=True)]
    run_once(db, make_settings(tmp_path, db_url, records), quiet())
    assert counts(db)[1] == 0


def test_malformed_rows_are_skipped_and_the_rest_kept(tmp_path: Path, db: Database, db_url: str) -> None:
    settings = make_settings(tmp_path, db_url, [])
    path = settings.sources[0].options.path
    good = '{"id": "g1", "text": "acme cloud keeps crashing", "author": "a", "created_at": "2026-11-10T10:00:00Z"}'
    path.write_text(
        "\n".join(
            [
                good,
                "{not json",
                '{"id": "g2", "author": "b", "created_at": "2026-11-10T10:00:00Z"}',
                '{"id": "g3", "text": "acme", "author": "b", "created_at": "yesterday-ish"}',
                '["a list"]',
                '{"id": "g4", "text": "acme \\u0000 nul \\udc80 and emoji 🔥 ok", "author": "c", '
                '"created_at": 1763000000}',
                '{"id": "g5", "text": "acme Tue Nov 10 date", "author": "c", '
                '"created_at": "Tue Nov 10 10:00:00 +0000 2026"}',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    report = run_once(db, settings, quiet())
    run = report.sources[0]
    assert run.stored == 3 and len(run.skipped) == 4
    assert any("record 2: not valid JSON" in r for r in run.skipped)
    assert any("no 'text'" in r for r in run.skipped)
    assert any("not a date" in r for r in run.skipped)
    with db.sessions() as s:
        texts = s.scalars(select(Mention.text).order_by(Mention.id)).all()
    assert "\x00" not in texts[1] and "🔥" in texts[1]


def test_huge_text_is_stored_whole_and_scored(tmp_path: Path, db: Database, db_url: str) -> None:
    huge = "acme cloud lost my files. " * 8000  # ~200 kB
    run_once(db, make_settings(tmp_path, db_url, [rec(1, huge)]), quiet())
    with db.sessions() as s:
        m = s.scalars(select(Mention)).one()
        assert m.complaint_probability is not None
        assert m.raw["text"] == huge


def test_mentions_keep_raw_payload_and_provenance(tmp_path: Path, db: Database, db_url: str) -> None:
    run_once(db, make_settings(tmp_path, db_url, [rec(1, COMPLAINT, extra_field="kept")]), quiet())
    with db.sessions() as s:
        m = s.scalars(select(Mention)).one()
    assert m.raw["extra_field"] == "kept"
    assert m.provenance["source"] == "replay" and m.provenance["app_version"]
    assert m.provenance["retrieved_at"]


def test_a_failing_source_does_not_stop_the_others(tmp_path: Path, db: Database, db_url: str) -> None:
    make_settings(tmp_path, db_url, [rec(1, COMPLAINT)])
    settings = make_settings(
        tmp_path,
        db_url,
        None,
        sources=[
            {"name": "gone", "type": "replay", "path": str(tmp_path / "nope.jsonl")},
            {"name": "replay", "type": "replay", "path": str(tmp_path / "mentions.jsonl")},
        ],
    )
    report = run_once(db, settings, quiet())
    assert [r.source for r in report.failed] == ["gone"]
    assert "cannot open" in (report.failed[0].error or "")
    assert counts(db)[0] == 1
    with db.sessions() as s:
        assert s.get(SourceState, "gone").consecutive_failures == 1
