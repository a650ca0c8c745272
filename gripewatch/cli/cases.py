"""``gripewatch cases list|show|act|reply|reassign|note``: the case queue from the terminal."""

from __future__ import annotations

import json
import shutil

import click

from gripewatch.alerts import ACTIONS
from gripewatch.cli.common import CliError, config_option, console, open_db, run_action, setup, translate_errors


@click.group()
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
    from gripewatch.cli.listing import STYLES, case_lines, case_rows

    db = open_db(setup(config_path, verbose))  # disposed when the command ends
    with db.engine.connect() as conn:
        rows = case_rows(conn, status, limit)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
    else:
        for line, style in case_lines(rows, shutil.get_terminal_size().columns):
            click.echo(click.style(line, **STYLES[style]) if style else line)  # plain when piped


@cases.command("show")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@config_option
@translate_errors
def cases_show(case_id: int, as_json: bool, config_path: str | None, verbose: int) -> None:
    """Show one case: its mentions and its audit trail.

    Example: gripewatch cases show 12
    """
    from gripewatch.cli.summary import case_detail, print_case
    from gripewatch.terminal import visible_all

    db = open_db(setup(config_path, verbose))
    detail = case_detail(db, case_id)
    if detail is None:
        raise CliError(f"no case #{case_id}")
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        print_case(console, visible_all(detail))


@cases.command("act")
@click.argument("case_id", type=int)
@click.argument("action", type=click.Choice(ACTIONS))
@click.option("--as", "actor", required=True, help="Slack user id of the person acting (e.g. U012ABC).")
@config_option
@translate_errors
def cases_act(case_id: int, action: str, actor: str, config_path: str | None, verbose: int) -> None:
    """Do what a Slack button does, from the terminal (the card is updated on the next delivery).

    Example: gripewatch cases act 12 resolve --as U012ABC
    """
    from gripewatch.alerts.actions import apply

    run_action(config_path, verbose, lambda s, settings, now: apply(s, settings, case_id, action, actor, now).message)


@cases.command("reply")
@click.argument("case_id", type=int)
@click.option("--text", required=True, help="The reply, as you wrote it.")
@click.option("--as", "writer", required=True, help="Your Slack user id (a staff member, e.g. U012ABC).")
@click.option(
    "--private", is_flag=True, help="A private message instead of a public reply (where the platform has one)."
)
@click.option("--send-anyway", is_flag=True, help="Post despite the promise guard's warnings (recorded on the case).")
@config_option
@translate_errors
def cases_reply(
    case_id: int, text: str, writer: str, private: bool, send_anyway: bool, config_path: str | None, verbose: int
) -> None:
    """Post your reply to a case's customer as the brand, with the same guards as the Slack modal.

    Needs reply.enabled and the platform's posting credentials. A customer detail in a public
    reply is refused (use --private); a promise the team does not keep is shown with the measured
    figure, and --send-anyway posts it as written.

    Example: gripewatch cases reply 12 --text "Hi Dana, sorry! Checking now." --as U012ABC
    """
    from gripewatch.alerts.answer import describe, post_now, submit
    from gripewatch.errors import ReplyRefused
    from gripewatch.models import Outbox, Reply, utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    try:
        try:
            with db.sessions() as s, s.begin():
                out = submit(s, settings, case_id, text, writer, not private, send_anyway, utcnow())
        except ReplyRefused as e:
            for line in describe(e.verdict)[1:]:
                click.echo(f"  {line}", err=True)
            hint = " (run again with --send-anyway to post it as written)" if e.confirmable else ""
            raise CliError(f"not posted: {e}{hint}") from None
        if out.status == "awaiting_approval":
            click.echo(f"{out.message} (gripewatch cases show {case_id})")
            return
        post_now(db, settings)
        with db.sessions() as s:
            reply = s.get(Reply, out.reply_id)
            row = s.query(Outbox).filter(Outbox.key == reply.key).one() if reply else None
        if reply is not None and reply.status == "posted":
            click.echo(f"posted on {reply.platform}: {reply.url or reply.external_id or 'private message sent'}")
        elif reply is not None and reply.status == "failed":
            raise CliError(f"not posted: {reply.error}")
        else:
            why = row.last_error if row is not None else None
            if why:
                click.echo(f"queued; the next run-once or serve retries it (last error: {why})")
            else:
                click.echo("queued; the running dispatcher (serve or run-once) posts it")
    finally:
        db.dispose()


@cases.command("reassign")
@click.argument("case_id", type=int)
@click.option("--to", "to", required=True, help="Slack user id of the colleague who takes the case (on staff[]).")
@click.option("--as", "actor", required=True, help="Slack user id of the person handing it over.")
@config_option
@translate_errors
def cases_reassign(case_id: int, to: str, actor: str, config_path: str | None, verbose: int) -> None:
    """Hand a case to a named colleague (their capacity applies); the card is updated on the next delivery.

    Example: gripewatch cases reassign 12 --to U0AGENT02 --as U0MANAGR1
    """
    from gripewatch.alerts.casework import reassign

    run_action(config_path, verbose, lambda s, settings, now: reassign(s, settings, case_id, to, actor, now).message)


@cases.command("note")
@click.argument("case_id", type=int)
@click.argument("text")
@click.option("--as", "actor", required=True, help="Slack user id of the person writing the note.")
@config_option
@translate_errors
def cases_note(case_id: int, text: str, actor: str, config_path: str | None, verbose: int) -> None:
    """Add an internal note to a case (shown in its audit trail, on the dashboard and in its Slack thread).

    Example: gripewatch cases note 12 "Called her back, refund issued" --as U0AGENT01
    """
    from gripewatch.alerts.casework import add_note

    run_action(config_path, verbose, lambda s, settings, now: add_note(s, settings, case_id, text, actor, now).message)
