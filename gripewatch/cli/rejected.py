"""``gripewatch rejected list|show|retry``: the quarantine of records a source could not deliver."""

from __future__ import annotations

import json
from datetime import datetime

import click

from gripewatch.cli.common import CliError, config_option, console, open_db, setup, translate_errors
from gripewatch.terminal import visible


@click.group("rejected")
def rejected_group() -> None:
    """Records the pipeline quarantined: unreadable, out of bounds (dates, sizes) or refused by the
    database. Their page and their source went on without them.

    Example: gripewatch rejected list --source reddit-acme
    """


@rejected_group.command("list")
@click.option("--source", "source", default=None, help="Only this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@config_option
@translate_errors
def list_cmd(source: str | None, limit: int, as_json: bool, config_path: str | None, verbose: int) -> None:
    """Quarantined records, most recently seen first: id, source, external id, reason, times seen.

    Example: gripewatch rejected list
    """
    from rich.table import Table
    from rich.text import Text
    from sqlalchemy import select

    from gripewatch.models import RejectedRecord

    settings = setup(config_path, verbose)
    db = open_db(settings)
    with db.sessions() as s:
        q = select(RejectedRecord).order_by(RejectedRecord.last_seen_at.desc(), RejectedRecord.id.desc()).limit(limit)
        if source:
            q = q.where(RejectedRecord.source == source)
        rows = list(s.scalars(q))
    if as_json:
        for r in rows:
            click.echo(json.dumps(_summary(r), ensure_ascii=False))
        return
    if not rows:
        console.print("nothing in quarantine" + (f" for {source}" if source else ""))
        return
    t = Table(title="gripewatch rejected", show_header=True)
    for col in ("id", "source", "external id", "reason", "seen", "last seen"):
        t.add_column(col, justify="right" if col in ("id", "seen") else "left")
    for r in rows:  # customer text: plain Text, never markup
        t.add_row(
            str(r.id),
            Text(r.source),
            Text(visible(r.external_id or "—")),
            Text(visible(r.reason[:120])),
            str(r.count),
            _at(r.last_seen_at),
        )
    console.print(t)


@rejected_group.command("show")
@click.argument("record_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@config_option
@translate_errors
def show_cmd(record_id: int, as_json: bool, config_path: str | None, verbose: int) -> None:
    """One quarantined record: its reason, when it was seen, and its raw payload.

    Example: gripewatch rejected show 12
    """
    from gripewatch.models import RejectedRecord

    settings = setup(config_path, verbose)
    db = open_db(settings)
    with db.sessions() as s:
        r = s.get(RejectedRecord, record_id) if -(2**63) <= record_id < 2**63 else None
        if r is None:
            raise CliError(f"no rejected record {record_id}")
        d = _summary(r)
    try:
        payload = json.loads(r.raw)
    except ValueError:
        payload = r.raw
    if as_json:
        click.echo(json.dumps({**d, "raw": payload, "raw_truncated": r.raw_truncated}, ensure_ascii=False))
        return
    for k in ("id", "source", "external_id", "reason", "count", "first_seen_at", "last_seen_at"):
        click.echo(f"{k:14} {visible(str(d[k]))}")
    cut = " (cut at the quarantine's size limit)" if r.raw_truncated else ""
    click.echo(f"raw payload{cut}:")
    click.echo(json.dumps(payload, indent=2, ensure_ascii=True) if not r.raw_truncated else visible(r.raw))


@rejected_group.command("retry")
@click.argument("record_id", type=int, required=False)
@click.option("--source", "source", default=None, help="Every quarantined record of this source.")
@config_option
@translate_errors
def retry_cmd(record_id: int | None, source: str | None, config_path: str | None, verbose: int) -> None:
    """Put quarantined records through their collector and the pipeline again (after a fix).

    A record that now passes is stored (with its analysis, case and alert; alerts go out with
    the next run-once or serve) and leaves the quarantine; one that still fails stays, with its
    new reason. A second version of a post (a duplicate id) is applied as an edit of it.
    Exit code 1 when any record is still rejected.

    Example: gripewatch rejected retry --source replay
    """
    from gripewatch.quarantine import retry_records

    if record_id is None and not source:
        raise CliError("give a record ID or --source NAME", exit_code=2)
    settings = setup(config_path, verbose)
    if source and source not in {s.name for s in settings.sources}:
        raise CliError(f"no source named {source!r} in {settings.config_path}", exit_code=2)
    db = open_db(settings)
    ids = [record_id] if record_id is not None and -(2**63) <= record_id < 2**63 else None
    if record_id is not None and ids is None:
        raise CliError(f"no rejected record {record_id}")
    result = retry_records(db, settings, ids, source)
    if record_id is not None and not result.stored and not result.still:
        raise CliError(f"no rejected record {record_id}")
    for rid, why in sorted(result.still.items()):
        click.echo(f"#{rid} still rejected: {why}")
    click.echo(f"{len(result.stored)} stored, {len(result.still)} still rejected")
    if result.still:
        raise SystemExit(1)


def _summary(r) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {
        "id": r.id,
        "source": r.source,
        "external_id": r.external_id,
        "reason": r.reason,
        "count": r.count,
        "first_seen_at": r.first_seen_at.isoformat(),
        "last_seen_at": r.last_seen_at.isoformat(),
    }


def _at(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}Z"
