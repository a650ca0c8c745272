"""``gripewatch serve`` and ``gripewatch status``: running unattended, and seeing how it goes.

Registered by ``gripewatch.cli`` once that module is complete (like every feature's commands).
"""

from __future__ import annotations

import json
import logging
import sys

import click
from pydantic import BaseModel, SecretStr

from gripewatch.cli import config_option, translate_errors
from gripewatch.config import Settings, load_settings

LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or JSON objects [default: logging.format from the config, else text].",
)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings (Slack token, source credentials): redacted from logs."""
    found = [settings.slack.token.get_secret_value()] if settings.slack.token else []
    for src in settings.sources:
        if isinstance(src.options, BaseModel):
            for value in src.options.__dict__.values():
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
    return found


def _logging(settings: Settings, verbose: int, log_format: str | None, base: int) -> None:
    from gripewatch.logs import setup_logging

    level = base if verbose == 0 else logging.DEBUG
    setup_logging(level, secrets_of(settings), log_format or settings.logging.format)
    if verbose < 2:
        aps = logging.getLogger("apscheduler")
        aps.setLevel(logging.WARNING)
        if not any(isinstance(f, _NoBusyWarnings) for f in aps.filters):
            logging.getLogger("apscheduler.scheduler").addFilter(_NoBusyWarnings())


class _NoBusyWarnings(logging.Filter):
    """A job still running at its next tick is normal here (its lease and coalescing handle it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


@click.command("serve")
@config_option
@LOG_FORMAT
@translate_errors
def serve_cmd(config_path: str | None, verbose: int, log_format: str | None) -> None:
    """Run the scheduler daemon until SIGTERM or Ctrl-C.

    Polls every source at the interval its rate-limit budget allows, delivers
    alerts within seconds, runs SLA checks every minute, sends the weekly
    digest and purges old texts daily. Any number of replicas (and cron
    run-once) may share one database: each job runs in one process at a time.
    Waits for the database when it is down; on SIGTERM finishes the work in
    hand, releases its leases and exits 0. Logs at info level (-v for debug).

    Example: gripewatch serve --config /etc/gripewatch/config.yaml --log-format json
    """
    from gripewatch.service import serve

    settings = load_settings(config_path)
    _logging(settings, verbose, log_format, logging.INFO)
    sys.exit(serve(settings))


@click.command("status")
@config_option
@LOG_FORMAT
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@translate_errors
def status_cmd(config_path: str | None, verbose: int, log_format: str | None, as_json: bool) -> None:
    """Show sources, leases, the outbox backlog, open cases by SLA state, jobs and the last digest.

    Example: gripewatch status --json | jq .outbox
    """
    from gripewatch.cli import console, open_db
    from gripewatch.models import utcnow
    from gripewatch.ops import render, snapshot

    settings = load_settings(config_path)
    _logging(settings, verbose, log_format, logging.WARNING)
    db = open_db(settings)
    try:
        snap = snapshot(db, settings, utcnow())
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(snap, ensure_ascii=False, indent=2))
    else:
        console.print(render(snap))
