"""``gripewatch cases list``: what staff see at any terminal width, and nothing a post can do to their terminal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from gripewatch.cli import cli
from gripewatch.cli.listing import AUTHORS, CASES, case_lines
from gripewatch.db import Database
from gripewatch.models import Author, Case, Mention
from gripewatch.terminal import one_line, visible
from tests.conftest import write_config

ESC_SUMMARY = "refund \x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ \u202eeciovni\u202c never came\r\x07"


def add_case(db: Database, handle: str, summary: str, priority: str = "normal", minutes: int = 0) -> int:
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    with db.session() as s:
        author = Author(platform="x", key=handle.lower(), handle=handle, followers=10)
        case = Case(brand="Acme", author=author, priority=priority, summary=summary, opened_at=at, updated_at=at)
        s.add(case)
        s.flush()
        s.add(
            Mention(
                source="x",
                platform="x",
                external_id=f"{handle}-{minutes}",
                brand="Acme",
                author=author,
                text=summary,
                created_at=at,
                is_complaint=True,
                case_id=case.id,
            )
        )
        return case.id


def listed(db: Database, tmp_path: Path, *args: str) -> str:
    cfg = write_config(tmp_path, {"database": {"url": db.engine.url.render_as_string(hide_password=False)}})
    r = CliRunner().invoke(cli, ["cases", "list", *args, "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    return r.output


def test_the_core_tables_name_real_model_columns() -> None:
    for core, model in ((CASES, Case), (AUTHORS, Author)):
        assert core.name == model.__tablename__
        assert {c.name for c in core.c} <= {c.name for c in model.__table__.c}


def test_escape_sequences_and_bidi_overrides_never_reach_the_terminal(db: Database, tmp_path: Path) -> None:
    case_id = add_case(db, "eve\x1b[31m", ESC_SUMMARY)
    out = listed(db, tmp_path)
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "␛[2J" in out and "@eve␛[31m" in out  # shown as written, inert
    cfg = tmp_path / "config.yaml"
    shown = CliRunner().invoke(cli, ["cases", "show", str(case_id), "--config", str(cfg)])
    assert shown.exit_code == 0 and "\x1b" not in shown.output and "␛[2J" in shown.output
    rows = [json.loads(line) for line in listed(db, tmp_path, "--json").splitlines()]
    assert rows[0]["summary"] == ESC_SUMMARY  # JSON keeps the text exactly (escaped by JSON itself)


def test_visible_maps_every_control_character_and_keeps_text() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible("\x00\x1b\x7f\x85\u202e") == "␀␛␡\ufffd\ufffd"
    assert one_line("  two\n\nlines\there ") == "two lines here"
    assert visible("Ça coûte 10 € — 退款 🙂 שלום") == "Ça coûte 10 € — 退款 🙂 שלום"


def test_a_wide_terminal_shows_one_case_per_line_newest_first(db: Database, tmp_path: Path) -> None:
    add_case(db, "dana", "my parcel is lost", minutes=0)
    add_case(db, "omar", "charged twice for one order", priority="critical", minutes=5)
    lines = shown_lines(_rows(db), 140)
    assert lines[0].split() == ["#", "status", "priority", "author", "mentions", "opened", "summary"]
    assert "@omar" in lines[1] and lines[1].endswith("charged twice for one order")
    assert "@dana" in lines[2] and lines[2].endswith("my parcel is lost")
    assert len(lines) == 3


def test_a_narrow_terminal_puts_the_summary_under_the_case_and_keeps_every_word(db: Database) -> None:
    text = "the app logs me out every time I open the settings page and support never answers my emails at all"
    add_case(db, "dana", text)
    for width in (40, 60, 80, 100, 200):
        shown = "\n".join(shown_lines(_rows(db), width))
        assert " ".join(shown.split()).endswith(text), width  # wrapped, never cut
        summary_lines = [line for line in shown.splitlines()[2:] if line.strip()]
        assert all(cell_len(line) <= width for line in summary_lines), width


def test_wide_characters_keep_the_columns_aligned(db: Database) -> None:
    add_case(db, "山田太郎", "荷物が届きません。返金してください", minutes=0)
    add_case(db, "ann", "where is my order", minutes=1)
    lines = shown_lines(_rows(db), 160)
    starts = [cell_len(line[: line.index(s)]) for line, s in zip(lines[1:], ("where", "荷物"), strict=True)]
    assert starts[0] == starts[1]


def test_an_empty_queue_says_so(db: Database, tmp_path: Path) -> None:
    assert "no cases" in listed(db, tmp_path)


def test_cases_list_loads_no_orm(db: Database, tmp_path: Path) -> None:
    add_case(db, "dana", "my parcel is lost")
    cfg = write_config(tmp_path, {"database": {"url": db.engine.url.render_as_string(hide_password=False)}})
    code = (
        "import sys\nfrom gripewatch.cli import main\n"
        "try:\n    main(['cases', 'list'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('ORM' if 'sqlalchemy.orm' in sys.modules else 'CORE')"
    )
    env = {**os.environ, "GRIPEWATCH_CONFIG": str(cfg)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "@dana" in out.stdout and out.stdout.strip().endswith("CORE")


def shown_lines(rows: list[dict[str, object]], width: int) -> list[str]:
    return [line for line, _ in case_lines(rows, width)]


def _rows(db: Database) -> list[dict[str, object]]:
    from gripewatch.cli.listing import case_rows

    with db.engine.connect() as conn:
        return case_rows(conn, "open", 200)


def test_the_console_notifier_never_sends_escape_sequences() -> None:
    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.alerts.notify import Alert

    out = io.StringIO()
    n = ConsoleNotifier(Console(file=out, width=200, highlight=False, force_terminal=False, color_system=None))
    payload = {"text": ESC_SUMMARY, "author": {"handle": "eve\x1b[8m"}, "brand": "Acme", "priority": "high"}
    n.send(Alert("opened:1", "new_case", "#care", payload, case_id=1))
    n.send(Alert("note:1", "note", "#care", {"title": "\x1b]0;owned\x07", "text": "x"}, case_id=1))
    shown = out.getvalue()
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "␛[2J" in shown and "eve␛[8m" in shown and "␛]0;owned␇" in shown
