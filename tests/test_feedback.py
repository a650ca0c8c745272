"""Staff corrections are stored, a missed complaint gets a case, and retraining can use them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.cli import cli
from gripewatch.db import Database
from gripewatch.feedback import training_rows
from gripewatch.models import Case, Feedback, Mention
from tests.conftest import write_config


def config(tmp_path: Path, db_url: str, records: list[dict]) -> Path:
    data = tmp_path / "m.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    return write_config(
        tmp_path,
        {
            "database": {"url": db_url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "sources": [{"name": "r", "type": "replay", "path": str(data), "platform": "x"}],
        },
    )


def test_missed_complaint_opens_a_case_and_corrections_feed_training(tmp_path: Path, db: Database, db_url: str) -> None:
    cfg = config(
        tmp_path,
        db_url,
        [
            {"id": "1", "text": "acme hub arrived today", "author": "kim", "created_at": "2026-11-20T10:00:00Z"},
            {"id": "2", "text": "acme is the best thing ever", "author": "lou", "created_at": "2026-11-20T10:01:00Z"},
        ],
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["run-once", "--config", str(cfg)]).exit_code == 0
    with db.sessions() as s:
        quiet = s.scalars(select(Mention).where(Mention.external_id == "1")).one()
        assert quiet.case_id is None
    out = runner.invoke(cli, ["feedback", str(quiet.id), "complaint", "--as", "U0AGENT01", "--config", str(cfg)])
    assert out.exit_code == 0, out.output
    assert f"mention #{quiet.id} marked a complaint; case #" in out.output
    with db.sessions() as s:
        m = s.get(Mention, quiet.id)
        assert m.case_id is not None and s.get(Case, m.case_id).status != "closed"
        assert s.scalars(select(Feedback.actor)).all() == ["U0AGENT01"]
    # the same mention corrected twice: the newest label counts
    other = runner.invoke(cli, ["feedback", str(quiet.id), "not-complaint", "--config", str(cfg)])
    assert other.exit_code == 0 and "marked not a complaint" in other.output
    assert training_rows(db) == [("acme hub arrived today", 0)]
    missing = runner.invoke(cli, ["feedback", "999999", "complaint", "--config", str(cfg)])
    assert missing.exit_code == 1 and "no mention #999999" in missing.output


def test_model_train_include_feedback_reads_the_database(tmp_path: Path, db: Database, db_url: str) -> None:
    import csv

    pytest_sklearn = __import__("pytest").importorskip("sklearn")
    assert pytest_sklearn
    cfg = config(
        tmp_path,
        db_url,
        [
            {"id": "1", "text": "acme hub arrived today", "author": "kim", "created_at": "2026-11-20T10:00:00Z"},
        ],
    )
    runner = CliRunner()
    runner.invoke(cli, ["run-once", "--config", str(cfg)])
    with db.sessions() as s:
        mid = s.scalars(select(Mention.id)).one()
    runner.invoke(cli, ["feedback", str(mid), "complaint", "--config", str(cfg)])
    data = tmp_path / "labelled.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for i in range(40):
            w.writerow([f"my order {i} never arrived and support ignores me", 1])
            w.writerow([f"lovely sunny day number {i} at the beach", 0])
    out = tmp_path / "model"
    result = runner.invoke(
        cli,
        [
            "model",
            "train",
            "--data",
            str(data),
            "--include-feedback",
            "--config",
            str(cfg),
            "--out",
            str(out),
            "--folds",
            "3",
            "--no-lodo",
            "--force",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 staff corrections from the database added to training" in result.output
    assert (out / "complaint_model.npz").exists()
