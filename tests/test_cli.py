"""The commands a user runs, as the user sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gripewatch.cli import cli
from tests.conftest import write_config


def all_commands(group: click.Group = cli, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            out += all_commands(cmd, full + " ")
        else:
            out.append((full, cmd))
    return out


@pytest.mark.parametrize(("name", "cmd"), all_commands(), ids=[n for n, _ in all_commands()])
def test_every_command_has_help_with_an_example(name: str, cmd: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"`gripewatch {name} --help` has no example"


def test_demo_prints_alerts_and_a_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gripewatch", "demo", "--dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "NEW CASE #1" in out
    assert "customer wrote again" in out  # the repeat customer's follow-ups go to their case
    summary = out[out.rindex("gripewatch demo") :]
    assert "300 mentions" in summary
    n_cases = int(summary.split(" cases (")[0].rsplit(" ", 1)[1])
    assert n_cases >= 10
    # nothing but the database (and its WAL files) is left behind, here or in the demo's folder
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if not p.name.startswith("gripewatch.db")) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    again = subprocess.run(
        [sys.executable, "-m", "gripewatch", "demo", "--dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert again.returncode == 1 and "exists already" in again.stderr


@pytest.fixture
def demo_config(tmp_path: Path, db_url: str) -> Path:
    from importlib import resources

    data = resources.files("gripewatch").joinpath("demo/mentions.jsonl")
    return write_config(
        tmp_path,
        {
            "database": {"url": db_url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "sources": [{"name": "demo", "type": "replay", "path": str(data), "platform": "x", "brand": "Acme"}],
        },
    )


def test_run_once_then_cases_list_and_show(demo_config: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["run-once", "--config", str(demo_config)])
    assert first.exit_code == 0, first.output
    listed = runner.invoke(cli, ["cases", "list", "--json", "--config", str(demo_config)])
    rows = [json.loads(x) for x in listed.output.splitlines()]
    assert rows and all(r["status"] in ("new", "acknowledged", "waiting", "escalated") for r in rows)
    multi = max(rows, key=lambda r: r["mentions"])
    assert multi["mentions"] >= 2
    shown = runner.invoke(cli, ["cases", "show", str(multi["id"]), "--config", str(demo_config)])
    assert shown.exit_code == 0
    assert f"Case #{multi['id']}" in shown.output and "Audit trail" in shown.output and "opened" in shown.output
    table = runner.invoke(cli, ["cases", "list", "--config", str(demo_config)])
    assert f"@{multi['author']}" in table.output
    missing = runner.invoke(cli, ["cases", "show", "999999", "--config", str(demo_config)])
    assert missing.exit_code == 1 and "no case #999999" in missing.output
    second = runner.invoke(cli, ["run-once", "--config", str(demo_config)])
    assert second.exit_code == 0
    again = [
        json.loads(x)
        for x in runner.invoke(
            cli, ["cases", "list", "--json", "--status", "all", "--config", str(demo_config)]
        ).output.splitlines()
    ]
    assert len(again) == len(rows)


def test_db_upgrade_reports_the_revision(demo_config: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade", "--config", str(demo_config)])
    assert result.exit_code == 0 and "upgraded empty →" in result.output
    result = runner.invoke(cli, ["db", "upgrade", "--config", str(demo_config)])
    assert "already at" in result.output


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"database": {"url": "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x"}})
    result = CliRunner().invoke(cli, ["db", "upgrade", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output and "hunter2" not in result.output


def test_run_once_unknown_source(demo_config: Path) -> None:
    result = CliRunner().invoke(cli, ["run-once", "--source", "nope", "--config", str(demo_config)])
    assert result.exit_code == 2 and "no source named 'nope'" in result.output


def test_config_and_verbose_also_work_before_the_subcommand(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    cfg = tmp_path / "x.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{db}\nslack:\n  mode: console\n", encoding="utf-8")
    before = CliRunner().invoke(cli, ["--config", str(cfg), "config", "check"])
    assert before.exit_code == 0, before.output
    assert f"{cfg}: OK" in before.output
    after = CliRunner().invoke(cli, ["config", "check", "--config", str(cfg)])
    assert after.output == before.output
    missing = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.yaml"), "cases", "list"])
    assert missing.exit_code == 2 and "nope.yaml: config file not found" in missing.output


def test_the_version_and_help_answer_without_a_config(tmp_path: Path) -> None:
    from gripewatch import __version__

    version = subprocess.run(
        [sys.executable, "-m", "gripewatch", "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert version.returncode == 0 and version.stdout.strip() == f"gripewatch, version {__version__}"
    help_ = CliRunner().invoke(cli, ["--help"])
    assert help_.exit_code == 0
    for name in ("demo", "run-once", "cases", "serve", "status", "digest", "dashboard", "model", "sources"):
        assert f"  {name} " in help_.output


def test_migration_head_read_from_files_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    from gripewatch.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config(None)).get_current_head()
