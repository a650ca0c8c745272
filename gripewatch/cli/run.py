"""``gripewatch demo``, ``run-once``, ``score`` and ``feedback``: the pipeline from the command line."""

from __future__ import annotations

import io
import logging
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gripewatch.cli.common import (
    CliError,
    config_option,
    console,
    err_console,
    open_db,
    setup,
    setup_logging,
    translate_errors,
)
from gripewatch.terminal import visible

if TYPE_CHECKING:
    from gripewatch.config import Settings


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep the demo database here [default: a new temporary folder].",
)
@click.option("--quiet", is_flag=True, help="Print only the summary, not every alert.")
@click.option(
    "--dashboard",
    "dashboard",
    is_flag=True,
    help="Then serve the web dashboard on it (a one-time password is printed).",
)
@click.option("--port", type=int, default=8000, show_default=True, help="With --dashboard: the port.")
@translate_errors
def demo(directory: str | None, quiet: bool, dashboard: bool, port: int) -> None:
    """Run the whole pipeline over the bundled demo data on a fresh database.

    Mentions of the fictional brand Acme are collected, scored, turned into
    cases and alerted to the terminal; a summary follows. The demo's posts
    (13 days of them) are replayed as if they had come in over the last
    12 hours, so each is a live complaint on the customer's clock.

    With --dashboard the web dashboard then serves the demo database.

    Example: gripewatch demo --dir /tmp/acme
    """
    from rich.console import Console

    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.cli.summary import summary_table
    from gripewatch.runtime.jobs import run_once

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gripewatch-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "gripewatch.db"
    if db_file.exists():
        raise CliError(f"{db_file} exists already; the demo needs a fresh database (choose another --dir)")
    with tempfile.TemporaryDirectory(prefix="gripewatch-demo-data-") as data:  # nothing left behind
        settings = demo_settings(db_file, live_copy(Path(data)))
        setup_logging(settings, 0, None, logging.WARNING)
        db = open_db(settings)
        notifier = ConsoleNotifier(Console(file=io.StringIO() if quiet else sys.stdout, highlight=False))
        report = run_once(db, settings, notifier)
    console.print(summary_table(db, report, title=f"gripewatch demo · database {db_file}"))
    if dashboard:
        from gripewatch.cli.dashboards import serve_demo

        db.dispose()
        serve_demo(str(folder), None, port, 0, run=False)


def demo_settings(db_file: Path, mentions: Path | None = None, **sections: object) -> Settings:
    import yaml

    from gripewatch.config import settings_from_dict

    data = yaml.safe_load(resources.files("gripewatch").joinpath("demo/config.yaml").read_text("utf-8"))
    data["database"] = {"url": f"sqlite:///{db_file.resolve()}"}
    data["sources"][0]["path"] = str(mentions or resources.files("gripewatch").joinpath("demo/mentions.jsonl"))
    data.update(sections)
    return settings_from_dict(data, "<bundled demo config>")


def live_copy(folder: Path, hours: float = 12.0) -> Path:
    """The demo data with its posts moved (in order, spacing scaled) into the last ``hours``, written to
    ``folder``: the demo's complaints are live ones, not a backlog (``cases.backfill_after_hours``)."""
    import json
    from datetime import UTC, datetime, timedelta

    text = resources.files("gripewatch").joinpath("demo/mentions.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    times = [datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) for r in rows]
    first, last = min(times), max(times)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    scale = timedelta(hours=hours) / max(last - first, timedelta(seconds=1))
    out = folder / "demo-mentions.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for r, t in zip(rows, times, strict=True):
            at = now - (last - t) * scale
            f.write(json.dumps({**r, "created_at": at.isoformat().replace("+00:00", "Z")}, ensure_ascii=False) + "\n")
    return out


@click.command("run-once")
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

    Exits 0 when every source succeeded, 1 when any failed (the others still run), 2 when Slack
    refused the alerts for a configuration reason (a public channel, a refused token, the bot not in
    the channel): they wait in the outbox, reaching nobody, until the configuration is fixed.
    A source that another gripewatch process is working on is waited for, then skipped.

    Example (crontab): */5 * * * * cd /srv/gripewatch && gripewatch run-once
    """
    from gripewatch.cli.summary import summary_table
    from gripewatch.runtime.jobs import make_notifier, run_once

    settings = setup(config_path, verbose)
    unknown = set(sources) - {s.name for s in settings.sources}
    if unknown:
        raise CliError(f"no source named {sorted(unknown)[0]!r} in {settings.config_path}", exit_code=2)
    db = open_db(settings)
    report = run_once(db, settings, make_notifier(settings), wait=wait, only=list(sources) or None)
    console.print(summary_table(db, report))
    for name in report.busy:
        err_console.print(f"skipped {name}: another gripewatch process is working on it")
    for r in report.failed:
        click.echo(f"source {r.source} failed: {visible(r.error or '')}", err=True)  # one line, as written
    if report.refused:  # alerts reach nobody until the configuration is fixed: cron must hear of it
        from gripewatch.alerts.outbox import backlog

        with db.sessions() as s:
            n = backlog(s)[0]
        for why in report.refused:
            click.echo(f"alerts not delivered ({n} alert{'s' if n != 1 else ''} waiting): {why}", err=True)
        sys.exit(2)
    if report.failed:
        sys.exit(1)


# ------------------------------------------------------------------ score


@click.command()
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
    from gripewatch.cli.scoring import score_file

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
    from gripewatch.config import settings_from_dict

    if config_path or Path("config.yaml").exists():
        return setup(config_path)
    return settings_from_dict({}, "<defaults>")


@click.command("feedback")
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
    from gripewatch.runtime.jobs import deliver, make_notifier
    from gripewatch.runtime.leases import holder_id

    deliver(db, settings, make_notifier(settings), holder_id(), wait=30)
