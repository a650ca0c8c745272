"""Operability: ``gripewatch status``, /healthz and /metrics, JSON logs without secrets, retention, config."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.cli import cli
from gripewatch.db import Database
from gripewatch.models import Case, JobRun, Mention, Outbox, utcnow
from gripewatch.runtime.jobs import run_once
from gripewatch.runtime.metrics import HttpEndpoint, Metrics
from gripewatch.runtime.retention import purge
from tests.conftest import BRAND, make_settings, recent, word, write_config


def recs() -> list[dict]:
    """Ten live posts (collected as they come in: SLA clocks count from the post)."""
    return [
        {
            "id": f"m{i}",
            "text": f"@AcmeHelp acme cloud is broken again, order {word(i)}" if i % 2 else f"acme hub {i} is lovely",
            "author": f"user{i}",
            "created_at": recent(),
        }
        for i in range(10)
    ]


def url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def test_status_shows_sources_outbox_cases_and_jobs(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, url_of(db), recs())
    run_once(db, settings, _quiet())
    cfg = write_config(
        tmp_path,
        {
            "database": {"url": url_of(db)},
            "brands": [BRAND],
            "sources": [{"name": "replay", "type": "replay", "path": "mentions.jsonl", "platform": "x"}],
        },
    )
    result = CliRunner().invoke(cli, ["status", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    snap = json.loads(result.output)
    assert snap["sources"][0]["name"] == "replay" and snap["sources"][0]["last_success_at"]
    assert snap["outbox"]["pending"] == 0 and snap["outbox"]["dead"] == 0
    assert snap["open_cases"]["by_status"]["new"] == 5
    assert snap["open_cases"]["first_response"]["waiting <1h"] == 5
    assert {j["job"]: j["outcome"] for j in snap["jobs"]} == {"source:replay": "ok", "outbox": "ok"}
    assert snap["last_digest"] is None
    table = CliRunner().invoke(cli, ["status", "--config", str(cfg)])
    assert table.exit_code == 0 and "source:replay" in table.output and "last digest" in table.output


def _quiet() -> ConsoleNotifier:
    import io

    from rich.console import Console

    return ConsoleNotifier(Console(file=io.StringIO()))


def test_healthz_and_metrics(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, url_of(db), recs())
    run_once(db, settings, _quiet())
    metrics = Metrics(db, settings)
    metrics.observe("source:replay", "ok", 0.2)
    state = {"problem": None}
    endpoint = HttpEndpoint(metrics, db, lambda: state["problem"], "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{endpoint.port}"
    try:
        with urllib.request.urlopen(f"{base}/healthz") as r:
            assert r.status == 200 and json.load(r) == {"status": "ok"}
        with urllib.request.urlopen(f"{base}/metrics") as r:
            body = r.read().decode()
        assert "gripewatch_database_up 1.0" in body
        assert "gripewatch_outbox_pending 0.0" in body
        assert 'gripewatch_open_cases{status="new"} 5.0' in body
        assert 'gripewatch_job_runs_total{job="source:replay",outcome="ok"} 1.0' in body
        state["problem"] = "scheduler not running"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{base}/healthz")
        assert e.value.code == 503 and json.load(e.value)["reason"] == "scheduler not running"
        e.value.close()
    finally:
        endpoint.stop()


def test_json_logs_redact_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gripewatch.cli.common import setup_logging

    settings = make_settings(
        tmp_path,
        "sqlite://",
        recs(),
        slack={"mode": "api", "token": "xoxb-very-secret-1234"},
        logging={"format": "json"},
    )
    setup_logging(settings, 0, None, logging.INFO)
    logging.getLogger("gripewatch.test").warning("token is %s", "xoxb-very-secret-1234")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    line = json.loads(err)
    assert line["level"] == "WARNING" and line["message"] == "token is ***"
    assert "very-secret" not in err
    logging.getLogger().handlers.clear()


def test_retention_purges_old_texts_and_keeps_cases(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, url_of(db), recs(), retention={"days": 30})
    old = datetime.now(UTC) - timedelta(days=40)
    run_once(db, settings, _quiet())
    with db.session() as s:
        for m in s.scalars(select(Mention)).all():
            m.collected_at = old
        for o in s.scalars(select(Outbox)).all():
            o.sent_at = old
        s.add(JobRun(job="outbox", holder="h", started_at=old, finished_at=old, outcome="ok", detail={}))
        first = s.scalars(select(Case).order_by(Case.id)).first()
        first.status = "resolved"
        first_id = first.id
    out = purge(db, settings.retention, utcnow())
    with db.sessions() as s:
        mentions = s.scalars(select(Mention)).all()
        purged = {m.external_id for m in mentions if m.text == "" and m.raw == {}}
        kept = {m.external_id for m in mentions if m.text}
        n_cases = len(s.scalars(select(Case)).all())
        closed_case_mentions = {m.external_id for m in mentions if m.case_id == first_id}
    assert len(mentions) == 10 and n_cases == 5  # rows, scores and cases stay
    assert kept == {m.external_id for m in mentions if m.case_id is not None} - closed_case_mentions
    assert purged == {m.external_id for m in mentions} - kept
    assert out["mentions"] == len(purged) and out["outbox"] >= 5 and out["job_runs"] == 1
    assert purge(db, settings.retention, utcnow())["mentions"] == 0  # idempotent


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"scheduler": {"spikes_seconds": 0}}, "scheduler.spikes_seconds: Input should be greater than 0"),
        ({"digest": {"timezone": "Mars/Olympus"}}, "digest.timezone: Value error, unknown time zone"),
        ({"logging": {"format": "xml"}}, "logging.format: Input should be 'text' or 'json'"),
        ({"metrics": {"port": 70000}}, "metrics.port: Input should be less than or equal to 65535"),
        ({"retention": {"dayz": 3}}, "retention.dayz: unknown key"),
    ],
)
def test_ops_config_errors_name_the_key(tmp_path: Path, section: dict, expected: str) -> None:
    cfg = write_config(tmp_path, {"brands": [BRAND], **section})
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 2
    assert expected in result.output, result.output


def test_text_logs_cannot_be_forged_or_drive_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from gripewatch.runtime.logs import setup_logging

    setup_logging(logging.INFO)
    hostile = "HTTP 400 from platform: bad\nERROR gripewatch.pipeline: all data deleted\x1b[2K\x1b[1A"
    logging.getLogger("gripewatch.test").warning("source x failed: %s", hostile)
    lines = capsys.readouterr().err.splitlines()[-2:]
    logging.getLogger().handlers.clear()
    assert lines[0] == "WARNING gripewatch.test: source x failed: HTTP 400 from platform: bad"
    assert lines[1] == "    ERROR gripewatch.pipeline: all data deleted␛[2K␛[1A"  # indented: not a line of its own
