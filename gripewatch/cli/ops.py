"""``gripewatch serve`` and ``gripewatch status``: running unattended, and seeing how it goes."""

from __future__ import annotations

import json
import logging
import sys

import click

from gripewatch.cli.common import config_option, setup_logging, translate_errors

LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or JSON objects [default: logging.format from the config, else text].",
)


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
    from gripewatch.config import load_settings
    from gripewatch.runtime.service import serve

    settings = load_settings(config_path)
    setup_logging(settings, verbose, log_format, logging.INFO)
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
    from gripewatch.cli.common import console, open_db
    from gripewatch.config import load_settings
    from gripewatch.models import utcnow
    from gripewatch.runtime.ops import render, snapshot

    settings = load_settings(config_path)
    setup_logging(settings, verbose, log_format, logging.WARNING)
    db = open_db(settings)
    try:
        snap = snapshot(db, settings, utcnow())
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(snap, ensure_ascii=False, indent=2))
    else:
        console.print(render(snap))
