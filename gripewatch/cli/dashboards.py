"""``gripewatch digest``, ``gripewatch dashboard`` and ``gripewatch spikes`` (registered in gripewatch/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
@click.option(
    "--demo", is_flag=True, help="Serve the bundled demo data, with a one-time password printed here (no config)."
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="With --demo: keep the demo database here [default: a new temporary folder].",
)
@config_option
@click.pass_context
@translate_errors
def dashboard_cmd(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    hash_password: bool,
    demo: bool,
    directory: str | None,
    config_path: str | None,
    verbose: int,
) -> None:
    """Serve the web dashboard: case queue, case detail with actions, trends, digest.

    Login is required (dashboard.users with hashed passwords, or a trusted
    reverse-proxy header). It refuses to start without a strong
    dashboard.secret_key: set DASHBOARD_SECRET_KEY (32+ random characters).
    Create a password hash with --hash-password. To try it first, --demo
    serves the demo data with a generated key and a one-time password.
    `dashboard sessions` lists and ends signed-in sessions.

    Example: DASHBOARD_SECRET_KEY=... gripewatch dashboard --host 127.0.0.1 --port 8000
    """
    if ctx.invoked_subcommand is not None:
        return
    from gripewatch.dashboards.auth import hash_password as make_hash

    if hash_password:
        pw = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        click.echo(make_hash(pw))
        return
    if demo:
        serve_demo(directory, host, port, verbose)
        return
    from gripewatch.dashboards.web import check_settings, create_app
    from gripewatch.errors import ConfigError

    settings = setup(config_path, verbose)
    cfg = settings.dashboard
    bind = host or cfg.host
    try:
        check_settings(settings, bind)  # before the database is opened: a bad key is one line, nothing else
    except ConfigError as e:
        raise ConfigError(str(e) + _what_to_set(settings.config_path, str(e))) from None
    serve(create_app(settings, open_db(settings), host=bind), bind, port or cfg.port, verbose)


def serve(app: Any, host: str, port: int, verbose: int, login: str = "") -> None:
    """Print where the dashboard is (and how to sign in), then serve it until Ctrl-C."""
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    click.echo(f"gripewatch dashboard: http://{shown}:{port}/{login} (Ctrl-C stops it)")
    # proxy_headers off: the app itself trusts X-Forwarded-For only from dashboard.trusted_proxies
    uvicorn.run(app, host=host, port=port, log_level="warning" if not verbose else "info", proxy_headers=False)


def serve_demo(directory: str | None, host: str | None, port: int | None, verbose: int, run: bool = True) -> None:
    """The demo database (made fresh unless ``directory`` holds one) served with a generated secret key
    and a one-time password for user ``demo`` (staff member Priya), printed in the terminal."""
    import io
    import secrets
    import tempfile

    from rich.console import Console

    from gripewatch.alerts.console import ConsoleNotifier
    from gripewatch.cli.run import demo_settings, live_copy
    from gripewatch.dashboards.auth import hash_password as make_hash
    from gripewatch.dashboards.web import create_app
    from gripewatch.runtime.jobs import run_once

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="gripewatch-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "gripewatch.db"
    password = secrets.token_urlsafe(12)
    dashboard = {
        "secret_key": secrets.token_urlsafe(32),  # new each run: never a fixed key
        "users": [{"username": "demo", "name": "Demo", "password_hash": make_hash(password), "slack_id": "U0AGENT01"}],
    }
    fresh = not db_file.exists()
    with tempfile.TemporaryDirectory(prefix="gripewatch-demo-data-") as data:  # as `gripewatch demo`: live posts
        settings = demo_settings(db_file, live_copy(Path(data)), dashboard=dashboard)
        db = open_db(settings)
        if fresh and run:
            run_once(db, settings, ConsoleNotifier(Console(file=io.StringIO())))
    click.echo(f"demo database {db_file}; sign in as user demo, password {password} (valid for this run only)")
    serve(create_app(settings, db), host or "127.0.0.1", port or 8000, verbose)


def _what_to_set(config_path: object, message: str) -> str:
    """The environment variable the config file reads for the key a message names ("; set ANA_PASSWORD_HASH")."""
    import re

    key = "secret_key" if "dashboard.secret_key" in message else "password_hash" if "dashboard.users" in message else ""
    try:
        text = Path(str(config_path)).read_text("utf-8")
    except (OSError, ValueError):
        text = ""
    names = list(dict.fromkeys(re.findall(rf"^\s*-?\s*{key}:\s*\$\{{(\w+)", text, re.M))) if key else []
    if key == "secret_key":
        name = names[0] if names else "DASHBOARD_SECRET_KEY"
        return f"; set {name}, which {Path(str(config_path)).name} reads it from"
    if key == "password_hash":
        which = " or ".join(names) if names else "a user's dashboard.users[].password_hash"
        return (
            f"; set {which} to the output of `gripewatch dashboard --hash-password`"
            " (or try `gripewatch dashboard --demo`)"
        )
    return ""


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
