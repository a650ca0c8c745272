"""CLI commands of the Slack side: ``slack serve``, ``customers link|import``, ``cases act``.

``register(cli)`` adds them to the main group; the commands are built inside it
because they use the main CLI's helpers (and gripewatch.cli imports this module).
"""

from __future__ import annotations

from pathlib import Path

import click

from alerts.card import ACTIONS


def register(cli: click.Group) -> None:
    """Add ``slack``, ``customers`` and ``cases act`` to ``cli``."""
    from gripewatch.cli import CliError, config_option, open_db, setup, translate_errors

    @click.group("slack")
    def slack_group() -> None:
        """The Slack app staff work cases in."""

    @slack_group.command("serve")
    @click.option("--http", "http", is_flag=True, help="HTTP mode at /slack/events instead of Socket Mode.")
    @click.option("--port", type=int, default=3000, show_default=True, help="Port of HTTP mode.")
    @config_option
    @translate_errors
    def slack_serve(http: bool, port: int, config_path: str | None, verbose: int) -> None:
        """Run the Slack app: buttons on case messages change the case and update the message.

        Socket Mode by default (needs slack.app_token, no public URL); --http serves
        /slack/events and verifies slack.signing_secret. Refuses to start when a
        configured channel is public, unless slack.allow_public_channels is true.

        Example: SLACK_APP_TOKEN=xapp-… gripewatch slack serve
        """
        from alerts.bolt_app import serve

        settings = setup(config_path, max(verbose, 1))
        serve(settings, open_db(settings), http=http, port=port)

    @click.group("customers")
    def customers_group() -> None:
        """Customer identities and value."""

    @customers_group.command("link")
    @click.argument("identities", nargs=-1, required=True)
    @config_option
    @translate_errors
    def customers_link(identities: tuple[str, ...], config_path: str | None, verbose: int) -> None:
        """Link one customer's accounts across platforms so they share one open case.

        Example: gripewatch customers link x:dana_whitlock reddit:dana_w
        """
        from alerts.customers import link

        db = open_db(setup(config_path, verbose))
        try:
            with db.sessions() as s, s.begin():
                key = link(s, list(identities))
        finally:
            db.dispose()
        click.echo(f"linked {len(identities)} identities as customer {key}")

    @customers_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @config_option
    @translate_errors
    def customers_import(file: Path, config_path: str | None, verbose: int) -> None:
        """Import customer value from a CSV: handle,tier,lifetime_value[,platform] (platform defaults to x).

        Tier (e.g. vip, gold) and lifetime value weigh into case priority. Nothing is
        stored unless every row is valid.

        Example: gripewatch customers import crm-export.csv
        """
        from alerts.customers import import_csv

        db = open_db(setup(config_path, verbose))
        try:
            with db.sessions() as s, s.begin():
                r = import_csv(s, file)
        finally:
            db.dispose()
        click.echo(f"imported {r.rows} customers ({r.created} not seen before)")

    @click.command("act")
    @click.argument("case_id", type=int)
    @click.argument("action", type=click.Choice(list(ACTIONS)))
    @click.option("--as", "actor", required=True, help="Slack user id of the person acting (e.g. U012ABC).")
    @config_option
    @translate_errors
    def cases_act(case_id: int, action: str, actor: str, config_path: str | None, verbose: int) -> None:
        """Do what a Slack button does, from the terminal (the card is updated on the next delivery).

        Example: gripewatch cases act 12 resolve --as U012ABC
        """
        from alerts.actions import ActionRefused, apply
        from gripewatch.models import utcnow

        settings = setup(config_path, verbose)
        db = open_db(settings)
        try:
            with db.sessions() as s, s.begin():
                out = apply(s, settings, case_id, action, actor, utcnow())
        except ActionRefused as e:
            raise CliError(str(e)) from None
        finally:
            db.dispose()
        click.echo(out.message)

    cli.add_command(slack_group)
    cli.add_command(customers_group)
    cases = cli.commands.get("cases")
    if isinstance(cases, click.Group):
        cases.add_command(cases_act)
