"""``gripewatch digest``, ``gripewatch dashboard`` and ``gripewatch spikes`` (registered in gripewatch/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from gripewatch.cli.common import config_option, open_db, setup, translate_errors


@click.command("digest")
@click.option(
    "--period",
    default="last-week",
    show_default=True,
    help="last-week, this-week, an ISO week (2026-W47) or dates FROM..TO (2026-11-01..2026-11-30).",
)
@click.option(
    "--to",
    "to",
    type=click.Choice(["slack", "email", "file"]),
    default="file",
    show_default=True,
    help="slack: post to slack.channels.digest with the chart; email: SMTP to digest.email.recipients; "
    "file: standalone HTML.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write with --to file [default: digest-PERIOD.html]; '-' prints plain text.",
)
@config_option
@translate_errors
def digest_cmd(period: str, to: str, output: str | None, config_path: str | None, verbose: int) -> None:
    """Build the manager's digest for a period and send it to Slack, e-mail or a file.

    Example: gripewatch digest --period 2026-W47 --to file --output digest.html
    """
    from gripewatch.dashboards import send
    from gripewatch.dashboards.load import make_digest
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    digest, chart = make_digest(db, settings, period, utcnow())
    if to == "slack":
        channel = settings.slack.channels.digest
        ts = send.send_slack(digest, chart, send.slack_client(settings), channel)
        click.echo(f"digest {digest.period.label} posted to {channel} (ts {ts})")
    elif to == "email":
        sent = send.send_email(digest, chart, settings.digest.email)
        click.echo(f"digest {digest.period.label} e-mailed to {', '.join(sent)}")
    elif output == "-":
        from gripewatch.dashboards.render import render_text

        click.echo(render_text(digest))
    else:
        path = Path(output or f"digest-{digest.period.start:%Y-%m-%d}.html")
        send.write_file(digest, chart, path)
        click.echo(f"digest {digest.period.label} written to {path}")


@click.command("spikes")
@config_option
@translate_errors
def spikes_cmd(config_path: str | None, verbose: int) -> None:
    """Check complaint volume per brand and topic for spikes now; queue one alert per new spike.

    Run it every few minutes (cron or the scheduler); the cooldown makes one
    incident one alert. Alerts go out with the next `run-once`.

    Example: */10 * * * * gripewatch spikes
    """
    from gripewatch.dashboards.spikes import check_spikes
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    found = check_spikes(open_db(settings), settings, utcnow())
    for s in found:
        click.echo(
            f"spike: {s.brand} {s.topic}: {s.count} complaints ({s.expected:.0f} usual) from {s.start:%H:%M} UTC"
        )
    if not found:
        click.echo("no new spike")


@click.group("dashboard", invoke_without_command=True)
@click.option("--host", default=None, help="Interface to listen on [default: dashboard.host, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: dashboard.port, 8000].")
@click.option("--hash-password", is_flag=True, help="Prompt for a password and print its hash for dashboard.users.")
@config_option
@click.pass_context
@translate_errors
def dashboard_cmd(
    ctx: click.Context, host: str | None, port: int | None, hash_password: bool, config_path: str | None, verbose: int
) -> None:
    """Serve the web dashboard: case queue, case detail with actions, trends.

    Login is required (dashboard.users with hashed passwords, or a trusted
    reverse-proxy header). Create a password hash with --hash-password. It
    refuses to start without a strong dashboard.secret_key (32+ random
    characters). `dashboard sessions` lists and ends signed-in sessions.

    Example: DASHBOARD_SECRET_KEY=... gripewatch dashboard --host 127.0.0.1 --port 8000
    """
    if ctx.invoked_subcommand is not None:
        return
    from gripewatch.dashboards.auth import hash_password as make_hash

    if hash_password:
        pw = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        click.echo(make_hash(pw))
        return
    import uvicorn

    from gripewatch.dashboards.web import check_settings, create_app

    settings = setup(config_path, verbose)
    cfg = settings.dashboard
    bind = host or cfg.host
    check_settings(settings, bind)  # before the database is opened: a bad key is one line, nothing else
    app = create_app(settings, open_db(settings), host=bind)
    # proxy_headers off: the app itself trusts X-Forwarded-For only from dashboard.trusted_proxies
    uvicorn.run(
        app, host=bind, port=port or cfg.port, log_level="warning" if not verbose else "info", proxy_headers=False
    )


@dashboard_cmd.group("sessions")
def sessions_group() -> None:
    """Signed-in dashboard sessions (server-side; logout and idleness end them too).

    Example: gripewatch dashboard sessions revoke ana
    """


@sessions_group.command("list")
@config_option
@translate_errors
def sessions_list(config_path: str | None, verbose: int) -> None:
    """List the active dashboard sessions: user, signed in, last request (UTC).

    Example: gripewatch dashboard sessions list
    """
    from gripewatch.dashboards import sessions
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    found = sessions.active(open_db(settings), settings.dashboard, utcnow())
    for s in found:
        click.echo(f"{s.username}\tsigned in {s.created_at:%Y-%m-%d %H:%M}\tlast seen {s.last_seen_at:%Y-%m-%d %H:%M}")
    if not found:
        click.echo("no active session")


@sessions_group.command("revoke")
@click.argument("user")
@config_option
@translate_errors
def sessions_revoke(user: str, config_path: str | None, verbose: int) -> None:
    """End every session of dashboard user USER at once (its cookies stop working).

    Example: gripewatch dashboard sessions revoke ana
    """
    from gripewatch.dashboards import sessions
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    n = sessions.revoke_user(open_db(settings), settings.dashboard, user, utcnow())
    click.echo(f"revoked {n} session{'' if n == 1 else 's'} of {user}" if n else f"no active session of {user}")


def register(group: click.Group) -> None:
    """Add ``digest``, ``dashboard`` and ``spikes`` to the main command group."""
    for cmd in (digest_cmd, dashboard_cmd, spikes_cmd):
        group.add_command(cmd)
