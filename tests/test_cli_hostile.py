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

    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.alerts.notify import Alert
    from rich.console import Console

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
    fake_slack.fail_next(200, error="not_in_channel")
    # (conversations.list and .info answer first; the refusal is for the post)
    fake_slack.failures.clear()
    orig = fake_slack.handle

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
