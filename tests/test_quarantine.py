"""Issue 12, findings 7 and 9: a poison record is quarantined, never allowed to block its source.

Each test runs on SQLite and PostgreSQL. What the operator sees: ``run-once`` stores the good
posts and moves the cursor; ``gripewatch rejected list/show`` shows what was refused and why;
``gripewatch sources`` counts it; ``gripewatch rejected retry`` stores it once it passes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gripewatch.cli import cli
from gripewatch.db import Database
from gripewatch.models import Author, Mention, RejectedRecord, SourceState
from gripewatch.runtime.jobs import run_once
from tests.conftest import BRAND, make_settings, write_config
from tests.test_pipeline import COMPLAINT, quiet, rec


def config_file(tmp_path: Path, db_url: str, records: list[dict[str, Any]] | str) -> Path:
    """config.yaml with one replay source over ``records`` (a list of dicts, or the file's raw text)."""
    data_file = tmp_path / "mentions.jsonl"
    if isinstance(records, str):
        data_file.write_text(records, encoding="utf-8")
    else:
        data_file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return write_config(
        tmp_path,
        {
            "database": {"url": db_url},
            "brands": [BRAND],
            "sources": [{"name": "replay", "type": "replay", "path": str(data_file), "platform": "x"}],
            "slack": {"mode": "console"},
        },
    )


def invoke(cfg: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--config", str(cfg)], catch_exceptions=False)


def stored_ids(db: Database) -> list[str]:
    with db.sessions() as s:
        return sorted(s.scalars(select(Mention.external_id)).all())


def poison_file() -> str:
    """Good posts around every poison record of finding 7 (JSON lines, as an export would have them)."""
    lines = [
        json.dumps(rec(1, COMPLAINT, "good1")),
        json.dumps(rec(2, "acme app crashed", "old", created_at="0001-01-01T00:00:00Z")),
        '{"id": "t3", "text": "acme far future", "author": "big", "created_at": 1e30}',
        '{"id": "t4", "text": "acme infinite", "author": "inf", "created_at": Infinity}',
        '{"id": "t5", "text": "acme nan", "author": "nan", "created_at": NaN}',
        json.dumps(rec(6, "acme has the best support", "famous", followers=10**30)),
        json.dumps(rec(7, "acme lost my parcel again", "ev\x00il\x07", author_name="Eve\x00\x1b[31m")),
        json.dumps(rec(8, "acme charged me twice, want a refund", "good2")),
    ]
    return "\n".join(lines) + "\n"


def test_poison_records_are_quarantined_and_the_good_ones_stored(tmp_path: Path, db: Database, db_url: str) -> None:
    cfg = config_file(tmp_path, db_url, poison_file())
    result = invoke(cfg, "run-once")
    assert result.exit_code == 0, result.output
    assert stored_ids(db) == ["t1", "t6", "t7", "t8"]
    with db.sessions() as s:
        assert s.get(SourceState, "replay").cursor == {"offset": 8}
        famous = s.scalars(select(Author).where(Author.key == "famous")).one()
        assert famous.followers == 2**63 - 1  # clamped to 64-bit
        evil = s.scalars(select(Mention).where(Mention.external_id == "t7")).one()
        assert evil.author.handle == "evil" and evil.author.display_name == "Eve[31m"
        reasons = {r.external_id: r.reason for r in s.scalars(select(RejectedRecord))}
    assert set(reasons) == {"t2", "t3", "t4", "t5"}
    assert "outside 1970" in reasons["t2"] and "0001-01-01" in reasons["t2"]
    assert all(reasons[k] for k in ("t3", "t4", "t5"))

    listing = invoke(cfg, "rejected", "list")
    assert listing.exit_code == 0
    for ext in ("t2", "t3", "t4", "t5"):
        assert ext in listing.output
    assert "outside 1970" in listing.output

    health = invoke(cfg, "sources", "--json")
    assert json.loads(health.output.splitlines()[0])["rejected"] == 4
    table = invoke(cfg, "sources")
    assert "rejected" in table.output and "4 record(s) in quarantine" in table.output

    # the source is not blocked: the next run stores the next page
    with (tmp_path / "mentions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec(9, "acme refund finally arrived", "good3")) + "\n")
    again = invoke(cfg, "run-once")
    assert again.exit_code == 0, again.output
    assert "t9" in stored_ids(db)


def test_the_same_bad_record_seen_again_is_counted_not_repeated(tmp_path: Path, db: Database, db_url: str) -> None:
    bad = rec(2, "acme", "old", created_at="0001-01-01T00:00:00Z")
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT), bad])
    run_once(db, settings, quiet())
    with db.sessions() as s, s.begin():  # the operator rewinds the source: the same record comes again
        s.get(SourceState, "replay").cursor = {}
    run_once(db, settings, quiet())
    with db.sessions() as s:
        (row,) = s.scalars(select(RejectedRecord)).all()
    assert row.count == 2 and row.last_seen_at >= row.first_seen_at
    assert json.loads(row.raw)["created_at"] == "0001-01-01T00:00:00Z"


def test_show_and_retry_after_the_cause_is_fixed(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_file(tmp_path, db_url, [rec(1, COMPLAINT), rec(2, "acme down", "x", created_at="2026-11-10 xx")])
    invoke(cfg, "run-once")
    with db.sessions() as s:
        (row,) = s.scalars(select(RejectedRecord)).all()
    shown = invoke(cfg, "rejected", "show", str(row.id))
    assert shown.exit_code == 0
    assert "not a date" in shown.output and "2026-11-10 xx" in shown.output and "replay" in shown.output

    still = invoke(cfg, "rejected", "retry", str(row.id))  # nothing changed: it stays, with the reason
    assert still.exit_code == 1 and "still rejected" in still.output
    assert stored_ids(db) == ["t1"]

    from gripewatch.collectors import base

    real = base.parse_time
    monkeypatch.setattr(base, "parse_time", lambda v: real(str(v).replace(" xx", "")))  # "the fix"
    from gripewatch.collectors import replay

    monkeypatch.setattr(replay, "parse_time", base.parse_time)
    fixed = invoke(cfg, "rejected", "retry", "--source", "replay")
    assert fixed.exit_code == 0, fixed.output
    assert "1 stored" in fixed.output
    assert stored_ids(db) == ["t1", "t2"]
    with db.sessions() as s:
        assert s.scalar(select(func.count(RejectedRecord.id))) == 0
    missing = invoke(cfg, "rejected", "show", "999999")
    assert missing.exit_code == 1 and "no rejected record 999999" in missing.output


def test_a_record_that_fails_at_insert_does_not_poison_its_page(
    tmp_path: Path, db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounds missed something (simulated: none applied) and the database refuses one record:
    its savepoint is rolled back, it is quarantined, the posts after it are stored, the cursor moves."""
    from gripewatch import pipeline
    from gripewatch.collectors import bounds

    monkeypatch.setattr(pipeline, "bounded", lambda m, now: m)
    monkeypatch.setattr(bounds, "bounded", lambda m, now: m)
    records = [rec(1, COMPLAINT, "good1"), rec(2, "acme is broken", "ev\x00il"), rec(3, COMPLAINT, "good2")]
    settings = make_settings(tmp_path, db_url, records)
    if db_url.startswith("sqlite"):  # SQLite stores NUL: refuse that insert the way PostgreSQL does
        from sqlalchemy import event

        @event.listens_for(db.engine, "before_cursor_execute")
        def refuse(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if "INSERT INTO authors" in statement and "ev\\x00il" in repr(params):
                raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")

    report = run_once(db, settings, quiet())
    assert not report.failed
    assert stored_ids(db) == ["t1", "t3"]
    with db.sessions() as s:
        (row,) = s.scalars(select(RejectedRecord)).all()
        assert s.get(SourceState, "replay").cursor == {"offset": 3}
        assert s.scalar(select(func.count(Author.id)).where(Author.key.like("ev%"))) == 0
    assert "could not be stored" in row.reason
    assert report.sources[0].stored == 2 and len(report.sources[0].skipped) == 1


def test_duplicate_ids_in_one_page(tmp_path: Path, db: Database, db_url: str) -> None:
    """Finding 9: the same id twice in a page. Same text: the same post, counted as a duplicate.
    Different text: the first is stored, the second quarantined with the reason (nothing dropped)."""
    records = [
        rec(1, COMPLAINT, "dana"),
        rec(1, COMPLAINT, "dana"),
        rec(2, "acme cloud lost my photos", "kim"),
        rec(2, "acme cloud lost my photos AND my videos", "kim"),
    ]
    report = run_once(db, make_settings(tmp_path, db_url, records), quiet())
    run = report.sources[0]
    assert run.stored == 2 and run.duplicates == 1 and len(run.skipped) == 1
    with db.sessions() as s:
        (row,) = s.scalars(select(RejectedRecord)).all()
        kept = s.scalars(select(Mention.text).where(Mention.external_id == "t2")).one()
    assert row.external_id == "t2" and "duplicate id" in row.reason and "different text" in row.reason
    assert "AND my videos" in json.loads(row.raw)["text"]
    assert kept == "acme cloud lost my photos"

    from gripewatch.quarantine import retry_records

    result = retry_records(db, make_settings(tmp_path, db_url, None), source="replay")  # the operator's call
    assert result.stored == [row.id] and not result.still
    with db.sessions() as s:
        m = s.scalars(select(Mention).where(Mention.external_id == "t2")).one()
        assert s.scalar(select(func.count(RejectedRecord.id))) == 0
    assert m.text == "acme cloud lost my photos AND my videos" and m.edited_at is not None  # applied as an edit


def test_retention_forgets_quarantined_payloads_too(tmp_path: Path, db: Database, db_url: str) -> None:
    """Quarantined payloads quote customers: ``retention.days`` deletes them like old mention texts."""
    from datetime import timedelta

    from gripewatch.runtime.retention import purge

    settings = make_settings(
        tmp_path,
        db_url,
        [rec(1, "acme", "a", created_at="0001-01-01T00:00:00Z"), rec(2, "acme", "b", created_at="1900-01-01")],
        retention={"days": 30},
    )
    run_once(db, settings, quiet())
    with db.sessions() as s, s.begin():
        old = s.scalars(select(RejectedRecord).where(RejectedRecord.external_id == "t1")).one()
        old.last_seen_at = datetime.now(UTC) - timedelta(days=40)
    out = purge(db, settings.retention, datetime.now(UTC))
    assert out["rejected"] == 1
    with db.sessions() as s:
        assert s.scalars(select(RejectedRecord.external_id)).all() == ["t2"]


def test_retry_renormalises_through_a_network_collector(tmp_path: Path, db: Database, db_url: str) -> None:
    """A tweet quarantined by an X source (as stored: its author under includes) is retried offline."""
    from gripewatch.collectors.base import Rejected
    from gripewatch.quarantine import quarantine, retry_records

    tweet = {
        "id": "1850000000000000000",
        "text": "@AcmeHelp my order never arrived",
        "created_at": "2026-11-10T10:00:00.000Z",
        "author_id": "42",
        "includes": {"author": {"username": "dana", "name": "Dana", "public_metrics": {"followers_count": 7}}},
    }
    source = {"name": "x-acme", "type": "x", "bearer_token": "t", "brand": "Acme"}
    settings = make_settings(tmp_path, db_url, [], sources=[source])
    with db.sessions() as s, s.begin():
        row = quarantine(s, "x-acme", Rejected("a bug since fixed", tweet, tweet["id"]), datetime.now(UTC))
    result = retry_records(db, settings, [row.id])
    assert result.stored == [row.id], result.still
    with db.sessions() as s:
        m = s.scalars(select(Mention)).one()
        assert (m.source, m.external_id, m.author.handle, m.author.followers) == ("x-acme", tweet["id"], "dana", 7)
        assert m.is_complaint and s.scalar(select(func.count(RejectedRecord.id))) == 0
