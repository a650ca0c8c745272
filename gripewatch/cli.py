"""The ``gripewatch`` command line. Library errors become one-line messages here."""

from __future__ import annotations

import functools
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from gripewatch import __version__
from gripewatch.config import ENV_CONFIG, Settings, load_settings, settings_from_dict
from gripewatch.errors import ConfigError, GripewatchError

F = TypeVar("F", bound=Callable[..., Any])
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class CliError(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.message}", err=True)


def translate_errors(fn: F) -> F:
    """Turn library errors into a one-line message and an exit code (2 for config)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            raise CliError(str(e), exit_code=2) from None
        except GripewatchError as e:
            raise CliError(str(e), exit_code=1) from None

    return wrapper  # type: ignore[return-value]


def config_option(fn: F) -> F:
    """``--config PATH`` (default ./config.yaml or $GRIPEWATCH_CONFIG) and ``-v``."""
    fn = click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")(fn)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        envvar=ENV_CONFIG,
        show_envvar=True,
        help="Config file [default: ./config.yaml].",
    )(fn)


def setup(config_path: str | None, verbose: int = 0) -> Settings:
    settings = load_settings(config_path)
    _logging(settings, verbose)
    return settings


def _logging(settings: Settings, verbose: int) -> None:
    from gripewatch.logs import setup_logging

    sl = settings.slack
    secrets = [x.get_secret_value() for x in (sl.token, sl.app_token, sl.signing_secret) if x and x.get_secret_value()]
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    setup_logging(level, secrets, settings.logging.format)


def open_db(settings: Settings):  # type: ignore[no-untyped-def]
    from gripewatch.db import open_database

    d = settings.database
    db = open_database(d.url, **d.engine_options())
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(db.dispose)
    return db


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gripewatch")
def cli() -> None:
    """gripewatch: see every public complaint about your brand, and make sure a human answers it.

    Example: gripewatch demo
    """


# ------------------------------------------------------------------ run


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep the demo database here [default: a new temporary folder].",
)
@click.option("--quiet", is_flag=True, help="Print only the summary, not every alert.")
@translate_errors
def demo(directory: str | None, quiet: bool) -> None:
    """Run the whole pipeline over the bundled demo data on a fresh database.

    Mentions of the fictional brand Acme are collected, scored, turned into
    cases and alerted to the terminal; a summary follows.

    Example: gripewatch demo --dir /tmp/acme
    """
    from alerts.console import ConsoleNotifier
    from gripewatch.jobs import run_once
    from gripewatch.summary import summary_table

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gripewatch-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "gripewatch.db"
    if db_file.exists():
        raise CliError(f"{db_file} exists already; the demo needs a fresh database (choose another --dir)")
    settings = demo_settings(db_file)
    _logging(settings, 0)
    db = open_db(settings)
    notifier = ConsoleNotifier(Console(file=open("/dev/null", "w") if quiet else sys.stdout, highlight=False))
    report = run_once(db, settings, notifier)
    console.print(summary_table(db, report, title=f"gripewatch demo · database {db_file}"))


def demo_settings(db_file: Path) -> Settings:
    import yaml

    data = yaml.safe_load(resources.files("gripewatch").joinpath("demo/config.yaml").read_text("utf-8"))
    data["database"] = {"url": f"sqlite:///{db_file.resolve()}"}
    data["sources"][0]["path"] = str(resources.files("gripewatch").joinpath("demo/mentions.jsonl"))
    return settings_from_dict(data, "<bundled demo config>")


@cli.command("run-once")
@config_option
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option(
    "--wait",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for a source another process is working on, before skipping it.",
)
@translate_errors
def run_once_cmd(config_path: str | None, verbose: int, sources: tuple[str, ...], wait: float) -> None:
    """One pass over every enabled source, then deliver pending alerts (cron mode).

    Exits 0 when every source succeeded, 1 when any failed (the others still run).
    A source that another gripewatch process is working on is waited for, then skipped.

    Example (crontab): */5 * * * * cd /srv/gripewatch && gripewatch run-once
    """
    from gripewatch.jobs import make_notifier, run_once
    from gripewatch.summary import summary_table

    settings = setup(config_path, verbose)
    unknown = set(sources) - {s.name for s in settings.sources}
    if unknown:
        raise CliError(f"no source named {sorted(unknown)[0]!r} in {settings.config_path}", exit_code=2)
    db = open_db(settings)
    report = run_once(db, settings, make_notifier(settings), wait=wait, only=list(sources) or None)
    console.print(summary_table(db, report))
    for name in report.busy:
        err_console.print(f"skipped {name}: another gripewatch process is working on it")
    if report.failed:
        for r in report.failed:
            err_console.print(f"source {r.source} failed: {r.error}")
        sys.exit(1)


# ------------------------------------------------------------------ score


@cli.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV or JSON-lines file (by extension: .csv/.tsv, else JSON lines).",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--id-column", default="id", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
@config_option
@translate_errors
def score(
    input_path: str, text_column: str, id_column: str, output: str | None, config_path: str | None, verbose: int
) -> None:
    """Score a file of texts without touching the database.

    Writes one JSON line per input row, in input order: id, sentiment (VADER
    compound), complaint_probability, is_complaint, severity, topics, escalation
    and reasons — or id and error for a row that cannot be scored.

    Example: gripewatch score --input mentions.csv --output scores.jsonl
    """
    from gripewatch.scoring import score_file

    settings = _optional_settings(config_path)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        n, errors = score_file(Path(input_path), text_column, id_column, settings.analysis_settings(), out)
    finally:
        if output:
            out.close()
    err_console.print(f"scored {n} rows ({errors} with errors)")


def _optional_settings(config_path: str | None) -> Settings:
    """The config if one was named or ./config.yaml exists; defaults otherwise."""
    if config_path or Path("config.yaml").exists():
        return setup(config_path)
    return settings_from_dict({}, "<defaults>")


# ------------------------------------------------------------------ cases


@cli.group()
def cases() -> None:
    """List and inspect cases."""


@cases.command("list")
@click.option(
    "--status",
    default="open",
    show_default=True,
    help="open (every unresolved status), all, or one status: new, acknowledged, waiting, escalated, resolved, closed.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@click.option("--limit", type=int, default=200, show_default=True)
@config_option
@translate_errors
def cases_list(status: str, as_json: bool, limit: int, config_path: str | None, verbose: int) -> None:
    """List cases, newest first.

    Example: gripewatch cases list --status open --json
    """
    from gripewatch.summary import case_rows, cases_table

    db = open_db(setup(config_path, verbose))
    rows = case_rows(db, status, limit)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
    else:
        console.print(cases_table(rows))


@cases.command("show")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@config_option
@translate_errors
def cases_show(case_id: int, as_json: bool, config_path: str | None, verbose: int) -> None:
    """Show one case: its mentions and its audit trail.

    Example: gripewatch cases show 12
    """
    from gripewatch.summary import case_detail, print_case

    db = open_db(setup(config_path, verbose))
    detail = case_detail(db, case_id)
    if detail is None:
        raise CliError(f"no case #{case_id}")
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        print_case(console, detail)


@cli.command("feedback")
@click.argument("mention_id", type=int)
@click.argument("label", type=click.Choice(["complaint", "not-complaint"]))
@click.option("--as", "actor", default="cli", show_default=True, help="Who says so (a staff Slack id or name).")
@config_option
@translate_errors
def feedback_cmd(mention_id: int, label: str, actor: str, config_path: str | None, verbose: int) -> None:
    """Correct the complaint decision on one mention; the model learns from it at the next
    `gripewatch model train --include-feedback`. A missed complaint also opens a case (or joins the
    customer's open one), so it is answered.

    Example: gripewatch feedback 4711 complaint --as U0AGENT01
    """
    from gripewatch.feedback import LABELS, record
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    with db.session() as s:
        click.echo(record(s, settings, mention_id, LABELS[label], actor, utcnow()))
    from gripewatch.jobs import deliver, make_notifier
    from gripewatch.leases import holder_id

    deliver(db, settings, make_notifier(settings), holder_id(), wait=30)


# ------------------------------------------------------------------ admin


@cli.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@config_option
@translate_errors
def db_upgrade(config_path: str | None, verbose: int) -> None:
    """Apply pending migrations (they also run automatically on first use).

    Example: gripewatch db upgrade --config /etc/gripewatch/config.yaml
    """
    from gripewatch.db import make_engine, safe_url, upgrade

    settings = setup(config_path, verbose)
    engine = make_engine(settings.database.url, **settings.database.engine_options())
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    where = safe_url(settings.database.url)
    click.echo(
        f"{where}: already at {after}" if before == after else f"{where}: upgraded {before or 'empty'} → {after}"
    )


@cli.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check")
@config_option
@translate_errors
def config_check(config_path: str | None, verbose: int) -> None:
    """Validate the config file and say what it sets up (secrets are never printed).

    Example: GRIPEWATCH_CONFIG=prod.yaml gripewatch config check
    """
    from gripewatch.db import safe_url

    s = setup(config_path, verbose)
    click.echo(f"{s.config_path}: OK")
    click.echo(f"  database: {safe_url(s.database.url)}")
    click.echo(f"  brands: {', '.join(b.name for b in s.brands) or '(none)'}")
    for src in s.sources:
        click.echo(f"  source {src.name}: {src.type}{'' if src.enabled else ' (disabled)'}")
    click.echo(f"  slack: {s.slack.mode} → alerts {s.slack.channels.alerts}")


def _register_commands() -> None:
    """Add the commands that live beside their feature (they import this module's helpers)."""
    from alerts.cli import register as register_alerts
    from analysis.cli_model import model
    from collectors.cli import backfill_cmd, sources_cmd
    from dashboards.cli import register as register_dashboards
    from gripewatch.cli_ops import serve_cmd, status_cmd

    cli.add_command(model)  # model train, model eval
    register_alerts(cli)  # slack serve, customers link/import, cases act
    register_dashboards(cli)  # digest, dashboard, spikes
    cli.add_command(serve_cmd)
    cli.add_command(status_cmd)
    cli.add_command(sources_cmd)
    cli.add_command(backfill_cmd)


def main() -> None:
    cli(prog_name="gripewatch")


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy, so every command is registered once, on one group.
    from gripewatch.cli import main as _main

    _main()
else:
    _register_commands()
