"""Hostile text and broken input at the command line: shown as written, or one clear error line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import update

from gripewatch.cli import cli
from gripewatch.db import open_database
from gripewatch.models import SourceState
from tests.conftest import BRAND, write_config
from tests.fakes.slack import FakeSlack

MARKUP = (
    "acme cloud lost all my photos [/b] still waiting [bold red]3 days[/bold red] for a refund. Worst service ever!"
)


def config(tmp_path: Path, db_url: str, records: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
    data_file = tmp_path / "mentions.jsonl"
    data_file.write_text("".join(json.dumps(r) + "\n" for r in records or []), encoding="utf-8")
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "brands": [BRAND],
        "sources": [{"name": "replay", "type": "replay", "path": str(data_file), "platform": "x"}],
        **extra,
    }
    return write_config(tmp_path, data)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_rich_markup_in_customer_text_is_shown_as_written(tmp_path: Path, db_url: str) -> None:
    rec = {"id": "1", "text": "@AcmeHelp " + MARKUP, "author": "[bold red]eve", "created_at": "2026-11-20T08:01:00Z"}
    cfg = config(tmp_path, db_url, [rec])
    r = run("run-once", "--config", str(cfg))
    assert r.exit_code == 0, r.output
    r = run("cases", "list", "--config", str(cfg))
    assert r.exit_code == 0, r.output  # was: MarkupError traceback on "[/b]"
    flat = " ".join(r.output.split())
    assert "[/b]" in flat and "[bold red]" in flat and "@[bold red]eve" in flat
    r = run("cases", "show", "1", "--config", str(cfg))
    assert r.exit_code == 0 and "@[bold red]eve" in r.output and "[/b]" in r.output


def test_rich_markup_in_a_source_error_is_shown_as_written(tmp_path: Path, db_url: str) -> None:
    cfg = config(tmp_path, db_url, [])
    assert run("run-once", "--config", str(cfg)).exit_code == 0
    db = open_database(db_url)
    with db.session() as s:
        s.execute(update(SourceState).values(last_error="HTTP 400 [/b] [bold red]bad query[/]", consecutive_failures=1))
    db.dispose()
    for cmd in ("sources", "status"):
        r = run(cmd, "--config", str(cfg))
        assert r.exit_code == 0, (cmd, r.output)
        cells = "".join(c for c in r.output if c not in " \n│┃")  # the narrow table wraps the error
        assert "[/b]" in cells and "[boldred]badquery[/]" in cells, cmd


def test_console_notifier_shows_markup_literally() -> None:
    import io

    from rich.console import Console

    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.alerts.notify import Alert

    out = io.StringIO()
    n = ConsoleNotifier(Console(file=out, width=200, highlight=False))
    n.send(Alert("ops:1", "ops", "#ops", {"title": "Source [/b] is failing", "text": "[bold red]x[/]"}))
    payload = {"text": MARKUP, "author": {"handle": "[/i]eve"}, "brand": "[/u]Acme", "priority": "high"}
    n.send(Alert("opened:1", "new_case", "#care", payload, case_id=1))
    text = out.getvalue()
    assert "Source [/b] is failing" in text and "[bold red]x[/]" in text and "[/u]Acme" in text


# ------------------------------------------------------------ run-once: alerts that reach nobody

COMPLAINT = "@AcmeHelp acme cloud lost all my photos, still waiting 3 days for a refund. Worst service ever!"


def slack_config(tmp_path: Path, db_url: str, fake: FakeSlack, token: str = "xoxb-test") -> Path:
    rec = {"id": "1", "text": COMPLAINT, "author": "ann", "created_at": "2026-11-20T08:01:00Z"}
    slack = {
        "mode": "api",
        "token": token,
        "base_url": fake.base_url,
        "channels": {"alerts": "#care", "escalations": "#esc"},
    }
    return config(tmp_path, db_url, [rec], slack=slack)


def test_run_once_exits_2_when_a_configured_channel_is_public(
    tmp_path: Path, db_url: str, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("#care", private=False)
    fake_slack.add_channel("#esc")
    r = run("run-once", "--config", str(slack_config(tmp_path, db_url, fake_slack)))
    assert r.exit_code == 2, r.output
    lines = [x for x in r.stderr.splitlines() if x.startswith("alerts not delivered")]
    assert len(lines) == 1 and "#care is public" in lines[0] and "1 alert" in lines[0]
    assert fake_slack.posted() == []


def test_run_once_exits_2_when_the_token_is_refused(tmp_path: Path, db_url: str, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("#care")
    fake_slack.add_channel("#esc")
    r = run("run-once", "--config", str(slack_config(tmp_path, db_url, fake_slack, token="xoxp-wrong-kind")))
    assert r.exit_code == 2, r.output
    assert "not_authed" in r.stderr and "slack.token" in r.stderr and "xoxp-wrong-kind" not in r.output + r.stderr
    # the alert is kept (not given up) for when the token is fixed
    r = run("status", "--json", "--config", str(slack_config(tmp_path, db_url, fake_slack)))
    assert json.loads(r.output)["outbox"]["dead"] == 0


def test_run_once_exits_2_when_the_bot_is_not_in_the_channel(
    tmp_path: Path, db_url: str, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("#care")
    fake_slack.add_channel("#esc")
    cfg = slack_config(tmp_path, db_url, fake_slack)
    orig = fake_slack.handle  # the channel checks pass; the post itself is refused

    def refuse_posts(method: str, args: dict[str, Any], auth: str):  # type: ignore[no-untyped-def]
        if method == "chat.postMessage":
            return 200, {"ok": False, "error": "not_in_channel"}, {}
        return orig(method, args, auth)

    fake_slack.handle = refuse_posts  # type: ignore[method-assign]
    r = run("run-once", "--config", str(cfg))
    assert r.exit_code == 2, r.output
    assert "not_in_channel" in r.stderr and "#care" in r.stderr


def test_run_once_exits_0_when_alerts_are_delivered(tmp_path: Path, db_url: str, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("#care")
    fake_slack.add_channel("#esc")
    r = run("run-once", "--config", str(slack_config(tmp_path, db_url, fake_slack)))
    assert r.exit_code == 0, r.output + r.stderr
    assert len(fake_slack.posted()) == 1


# ------------------------------------------------------------ one clear line instead of a traceback


def one_line(r: Result, code: int) -> str:
    assert r.exit_code == code, (r.exit_code, r.output, r.exception)
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    return lines[0]


def test_an_id_out_of_range_is_no_such_case(tmp_path: Path, db_url: str) -> None:
    cfg = str(config(tmp_path, db_url))
    big = "99999999999999999999999"
    assert one_line(run("cases", "show", big, "--config", cfg), 1) == f"Error: no case #{big}"
    assert one_line(run("cases", "act", big, "resolve", "--as", "U1", "--config", cfg), 1) == f"Error: no case #{big}"
    assert one_line(run("feedback", big, "complaint", "--config", cfg), 1) == f"Error: no mention #{big}"


def test_a_locked_sqlite_database_is_one_line_after_the_busy_timeout(tmp_path: Path) -> None:
    import sqlite3
    import time

    url = f"sqlite:///{tmp_path / 'gw.db'}"
    cfg = str(config(tmp_path, url, database={"url": url, "busy_timeout_seconds": 1}))
    assert run("run-once", "--config", cfg).exit_code == 0  # creates the database
    holder = sqlite3.connect(tmp_path / "gw.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing
    try:
        t0 = time.monotonic()
        line = one_line(run("run-once", "--config", cfg), 1)
        took = time.monotonic() - t0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "database is locked by another process" in line and "gw.db" in line and "1 s" in line
    assert took < 10


def test_slack_serve_when_slack_is_unreachable(tmp_path: Path, db_url: str) -> None:
    slack = {
        "mode": "api",
        "token": "xoxb-secret-token-1",
        "signing_secret": "s" * 32,
        "base_url": "http://127.0.0.1:9/api/",
        "timeout_seconds": 2,
    }
    r = run("slack", "serve", "--http", "--port", "0", "--config", str(config(tmp_path, db_url, slack=slack)))
    assert r.exit_code == 1, (r.output, r.exception)
    errors = [x for x in r.stderr.splitlines() if x.startswith("Error: ")]
    assert len(errors) == 1 and "127.0.0.1:9" in errors[0] and "unreachable" in errors[0]
    assert "Traceback" not in r.stderr and "xoxb-secret-token-1" not in r.output + r.stderr


def test_config_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("database:\n  url: not a url\n")
    line = one_line(run("config", "check", "--config", str(cfg)), 2)
    assert str(cfg) in line and "database.url" in line and "not a url" not in line.split("database.url")[0]
    cfg.write_text("slack:\n  mode: console\nbrands: []\nslack:\n  mode: api\n")
    line = one_line(run("config", "check", "--config", str(cfg)), 2)
    assert str(cfg) in line and "line 4" in line and "duplicate key 'slack'" in line
    cfg.write_text("slack:\n  channels:\n    alerts: '#a'\n    alerts: '#b'\n")
    assert "line 4" in one_line(run("config", "check", "--config", str(cfg)), 2)
    cfg.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    line = one_line(run("config", "check", "--config", str(cfg)), 2)
    assert str(cfg) in line and "not a UTF-8 text file" in line and "UnicodeDecodeError" not in line


def test_an_empty_config_puts_the_database_beside_it(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "cwd").mkdir()
    cfg = tmp_path / "etc" / "config.yaml"
    cfg.write_text("# nothing yet\n")
    monkeypatch.chdir(tmp_path / "cwd")
    r = run("db", "upgrade", "--config", str(cfg))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "etc" / "gripewatch.db").exists() and not (tmp_path / "cwd" / "gripewatch.db").exists()
