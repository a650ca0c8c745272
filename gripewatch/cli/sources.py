"""``gripewatch sources`` (health table) and ``gripewatch backfill`` (resumable, with a progress bar)."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta

import click

from gripewatch.cli.common import CliError, config_option, console, open_db, setup, translate_errors
from gripewatch.terminal import visible

_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``30m``, ``2w`` or an ISO date → an aware UTC datetime."""
    m = _SINCE.match(value.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    from gripewatch.collectors.base import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use e.g. 7d, 12h, 30m or an ISO date") from None


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "—"
    secs = (now - at).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(secs) >= size:
            return f"{secs / size:.0f}{unit} ago"
    return f"{secs:.0f}s ago"


@click.command("sources")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@config_option
@translate_errors
def sources_cmd(as_json: bool, config_path: str | None, verbose: int) -> None:
    """Health of every configured source: last success, last error, failures in a row,
    mentions in the last hour vs. the usual hourly rate, records in quarantine
    (a column when there are any; see gripewatch rejected list), and a status
    (ok, failing, silent, rate-limited, never run, disabled).

    Example: gripewatch sources
    """
    from rich.table import Table
    from rich.text import Text

    from gripewatch.collectors.health import source_health
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    now = utcnow()
    try:
        with db.sessions() as s:
            rows = source_health(s, settings, now)
    finally:
        db.dispose()
    if as_json:
        for h in rows:
            d = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(h).items() if k != "at"}
            click.echo(json.dumps(d, ensure_ascii=False))
        return
    colours = {"ok": "green", "failing": "red", "silent": "yellow", "rate-limited": "yellow"}
    t = Table(title="gripewatch sources", show_header=True)
    quarantined = sum(h.rejected for h in rows)
    numbers = ("fails", "last hour", "usual/h") + (("rejected",) if quarantined else ())
    for col in ("source", "type", "status", "last success", "last error", *numbers):
        t.add_column(col, justify="right" if col in numbers else "left")
    for h in rows:
        status = h.status + (f" until {h.rate_limited_until:%H:%M}Z" if h.rate_limited_until else "")
        err = f"{_ago(h.last_error_at, now)}: {(h.last_error or '')[:60]}" if h.last_error else "—"
        cells: list[Text | str] = [
            Text(h.source),
            h.type,
            Text(status, style=colours.get(h.status, "white")),
            _ago(h.last_success_at, now),
            Text(visible(err)),  # the platform's error may quote anything: never read as rich markup
            str(h.consecutive_failures),
            str(h.last_hour),
            f"{h.usual_per_hour:.1f}",
        ]
        if quarantined:
            cells.append(Text(str(h.rejected), style="yellow" if h.rejected else ""))
        t.add_row(*cells)
    if quarantined:
        t.caption = f"{quarantined} record(s) in quarantine: gripewatch rejected list"
    console.print(t)


@click.command("backfill")
@click.option("--source", "name", required=True, help="The source to backfill (its name in config.yaml).")
@click.option("--since", "since", default="7d", show_default=True, help="How far back: 7d, 12h, 30m, 2w or a date.")
@click.option("--restart", is_flag=True, help="Forget an unfinished backfill of this source and start again.")
@config_option
@translate_errors
def backfill_cmd(name: str, since: str, restart: bool, config_path: str | None, verbose: int) -> None:
    """Collect a source's older posts, from --since until now, with a progress bar.

    Mentions go through the whole pipeline (cases, alerts); ones already stored
    are skipped. The backfill keeps its own cursor, separate from the live one:
    an interrupted backfill continues where it stopped when run again.

    Example: gripewatch backfill --source reddit-acme --since 7d
    """
    from gripewatch.models import utcnow
    from gripewatch.pipeline import build_collector

    settings = setup(config_path, verbose)
    source = next((s for s in settings.sources if s.name == name), None)
    if source is None:
        raise CliError(f"no source named {name!r} in {settings.config_path}", exit_code=2)
    now = utcnow()
    start = parse_since(since, now)
    collector = build_collector(source, settings)
    if not hasattr(collector, "backfill_cursor"):
        raise CliError(f"source {name!r} ({source.type}) cannot backfill: it reads everything on every run")
    db = open_db(settings)
    try:
        _backfill(db, settings, source, collector, name, start, now, restart)
    finally:
        db.dispose()


def _backfill(db, settings, source, collector, name, start, now, restart) -> None:  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from sqlalchemy import func, select

    from gripewatch.models import Mention, SourceState
    from gripewatch.pipeline import run_source
    from gripewatch.runtime import leases

    key = f"{name}#backfill"[:64]
    with db.sessions() as s, s.begin():
        state = s.get(SourceState, key)
        if state is not None and (restart or not state.cursor):
            s.delete(state)
            state = None
        if state is None:
            s.add(SourceState(source=key, cursor=collector.backfill_cursor(start), updated_at=now))
        else:
            console.print(f"resuming the unfinished backfill of {name}")
    span = max((now - start).total_seconds(), 1.0)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[n]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console.rich, transient=not sys.stdout.isatty()) as bar:
        task = bar.add_task(f"backfill {name}", total=100, n="0 stored")

        oldest_first = getattr(collector, "backfill_order", "newest_first") == "oldest_first"

        def page_done(run) -> None:  # type: ignore[no-untyped-def]
            # newest-first APIs page back from now; oldest-first ones forward from --since
            agg = func.max if oldest_first else func.min
            with db.sessions() as s:
                edge = s.scalar(
                    select(agg(Mention.created_at)).where(Mention.source == name, Mention.collected_at >= now)
                )
            if edge is not None:
                covered = (edge - start) if oldest_first else (now - edge)
                done = 100 * max(0.0, min(1.0, covered.total_seconds() / span))
                bar.update(task, completed=max(done, bar.tasks[0].completed))
            bar.update(task, n=f"{run.stored} stored, {run.duplicates} already there")

        with leases.held(db.engine, f"source:{name}:backfill", leases.holder_id(), settings.pipeline.lease_seconds, 0):
            run = run_source(db, settings, source, collector=collector, on_page=page_done, state_key=key)
        if not run.error and run.deferred_until is None:
            bar.update(task, completed=100)
    if run.error:
        raise CliError(f"backfill of {name} stopped: {run.error} (run the same command again to continue)")
    if run.deferred_until is not None:
        console.print(f"rate limited until {run.deferred_until:%H:%M}Z: run the same command again after that")
        return
    with db.sessions() as s, s.begin():
        state = s.get(SourceState, key)
        if state is not None:
            state.cursor = {}  # finished: the next backfill starts afresh
    console.print(
        f"backfill of {name} done: {run.stored} stored, {run.duplicates} already there, "
        f"{len(run.skipped)} rejected (gripewatch rejected list)"
    )
