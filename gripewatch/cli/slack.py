"""``gripewatch slack serve``: the Slack app staff work cases in."""

from __future__ import annotations

import click

from gripewatch.cli.common import config_option, open_db, setup, translate_errors


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
    from gripewatch.alerts.bolt_app import serve

    settings = setup(config_path, max(verbose, 1))
    serve(settings, open_db(settings), http=http, port=port)
