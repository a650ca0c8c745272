"""``gripewatch incidents list|show|ack|update|resolve|follow-up``: incidents from the terminal."""

from __future__ import annotations

import json

import click

from gripewatch.cli.common import CliError, config_option, console, open_db, run_action, setup, translate_errors
from gripewatch.terminal import visible_all


@click.group()
def incidents() -> None:
    """List incidents (a brand's cases sharing one problem) and act on all their cases at once."""


@incidents.command("list")
@click.option("--status", default="live", show_default=True, help="live (open or acknowledged), all, or a status.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@config_option
@translate_errors
def incidents_list(status: str, as_json: bool, config_path: str | None, verbose: int) -> None:
    """List incidents, newest first, with their number of cases.

    Example: gripewatch incidents list --status all
    """
    from rich.table import Table

    from gripewatch.alerts.incidents import listing

    db = open_db(setup(config_path, verbose))
    with db.sessions() as s:
        rows = listing(s, status)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    table = Table()
    for col in ("#", "brand", "status", "cases", "since (customer)", "what"):
        table.add_column(col)
    for r in rows:
        since = r["customer_since"][:16].replace("T", " ")
        table.add_row(str(r["id"]), r["brand"] or "", r["status"], str(r["cases"]), since, r["title"][:80])
    console.print(table)


@incidents.command("show")
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@config_option
@translate_errors
def incidents_show(incident_id: int, as_json: bool, config_path: str | None, verbose: int) -> None:
    """Show one incident: counts, topics, quotes, updates and its cases.

    Example: gripewatch incidents show 3
    """
    from gripewatch.alerts.incidents import members, summary
    from gripewatch.models import Incident, utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    with db.sessions() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise CliError(f"no incident #{incident_id}")
        data = summary(s, inc, settings, utcnow())
        data["case_ids"] = [c.id for c in members(s, inc.id)]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    data = visible_all(data)  # quotes are customer text: never sent to the terminal as control codes
    click.echo(f"incident #{data['incident_id']} · {data['brand']} · {data['status']} · {data['cases']} cases")
    click.echo(f"  {data['title']}")
    click.echo(f"  by status: {', '.join(f'{k} {v}' for k, v in data['by_status'].items())}")
    click.echo(f"  topics: {', '.join(data['topics']) or '-'}")
    for q in data["quotes"]:
        click.echo(f"  “{q['text'][:160]}” — @{q['handle']}")
    for u in data["updates"]:
        click.echo(f"  update {u['at'][:16]} by {u['actor']}: {u['text']}")
    click.echo(f"  cases: {', '.join(f'#{c}' for c in data['case_ids'])}")


def _act(incident_id: int, action: str, actor: str, config_path: str | None, verbose: int, text: str = "") -> None:
    from gripewatch.alerts.incidents import IncidentRefused, act

    run_action(
        config_path,
        verbose,
        lambda s, settings, now: act(s, settings, incident_id, action, actor, now, text=text),
        (IncidentRefused,),
    )


_AS = click.option("--as", "actor", required=True, help="Slack user id of the person acting (e.g. U012ABC).")


@incidents.command("ack")
@click.argument("incident_id", type=int)
@_AS
@config_option
@translate_errors
def incidents_ack(incident_id: int, actor: str, config_path: str | None, verbose: int) -> None:
    """Acknowledge the incident and every new case in it.

    Example: gripewatch incidents ack 3 --as U012ABC
    """
    _act(incident_id, "acknowledge", actor, config_path, verbose)


@incidents.command("update")
@click.argument("incident_id", type=int)
@click.argument("text")
@_AS
@config_option
@translate_errors
def incidents_update(incident_id: int, text: str, actor: str, config_path: str | None, verbose: int) -> None:
    """Post a status update into every member case's thread and the incident's.

    Example: gripewatch incidents update 3 "Fix deployed, syncing again within the hour" --as U012ABC
    """
    _act(incident_id, "update", actor, config_path, verbose, text=text)


@incidents.command("resolve")
@click.argument("incident_id", type=int)
@_AS
@config_option
@translate_errors
def incidents_resolve(incident_id: int, actor: str, config_path: str | None, verbose: int) -> None:
    """Resolve the incident and every open case in it (each gets its follow-up as usual).

    Example: gripewatch incidents resolve 3 --as U012ABC
    """
    _act(incident_id, "resolve", actor, config_path, verbose)


@incidents.command("follow-up")
@click.argument("incident_id", type=int)
@_AS
@config_option
@translate_errors
def incidents_follow_up(incident_id: int, actor: str, config_path: str | None, verbose: int) -> None:
    """Schedule every member case's follow-up (``cases.follow_up_days`` from now).

    Example: gripewatch incidents follow-up 3 --as U012ABC
    """
    _act(incident_id, "follow_up", actor, config_path, verbose)
