"""What every command shares: ``--config``/``-v``, error translation, consoles, settings and database.

Only click is imported at module level, so ``gripewatch --help`` stays fast; rich, pydantic and
SQLAlchemy load when a command first needs them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console
    from sqlalchemy.orm import Session

    from gripewatch.config import Settings
    from gripewatch.db import Database

F = TypeVar("F", bound=Callable[..., Any])
ENV_CONFIG = "GRIPEWATCH_CONFIG"  # also read by gripewatch.config (a test keeps the two equal)


class CliError(click.ClickException):
    """A one-line error for the user, with its exit code (1 by default, 2 for configuration)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.message}", err=True)


class _LazyConsole:
    """A rich Console made on first use (importing rich costs more than click itself)."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def rich(self) -> Console:
        """The real Console (for rich APIs that take one, such as Progress)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich, name)


console: Any = _LazyConsole(stderr=False)
err_console: Any = _LazyConsole(stderr=True)


def translate_errors(fn: F) -> F:
    """Turn library errors into a one-line message and an exit code (2 for config)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from gripewatch.errors import ConfigError, GripewatchError

        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            raise CliError(str(e), exit_code=2) from None
        except GripewatchError as e:
            raise CliError(str(e), exit_code=1) from None

    return wrapper  # type: ignore[return-value]


def _inherit(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """``--config`` and ``-v`` given before the subcommand (``gripewatch --config x.yaml status``)."""
    root = ctx.find_root()
    if root is ctx or param.name is None:
        return value
    outer = root.params.get(param.name)
    if param.name == "verbose":
        return (value or 0) + (outer or 0)
    return value if value is not None else outer


def config_option(fn: F) -> F:
    """``--config PATH`` (default ./config.yaml or $GRIPEWATCH_CONFIG) and ``-v``."""
    fn = click.option("-v", "--verbose", count=True, callback=_inherit, help="More log output (-vv for debug).")(fn)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        envvar=ENV_CONFIG,
        show_envvar=True,
        callback=_inherit,
        help="Config file [default: ./config.yaml].",
    )(fn)


def setup(config_path: str | None, verbose: int = 0) -> Settings:
    """Load the settings and set up logging (warnings by default, -v info, -vv debug)."""
    from gripewatch.config import load_settings

    settings = load_settings(config_path)
    setup_logging(settings, verbose, None, logging.WARNING)
    return settings


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings (Slack tokens, source credentials, the dashboard's key and
    password hashes): redacted from logs."""
    from pydantic import BaseModel, SecretStr

    sl = settings.slack
    found = [x.get_secret_value() for x in (sl.token, sl.app_token, sl.signing_secret) if x]
    dash = settings.dashboard
    found += [x.get_secret_value() for x in (dash.secret_key, *(u.password_hash for u in dash.users)) if x]
    for src in settings.sources:
        if isinstance(src.options, BaseModel):
            for value in src.options.__dict__.values():
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
    return [s for s in found if s]


def setup_logging(settings: Settings, verbose: int, log_format: str | None, base: int) -> None:
    """Log at ``base`` (-v one level more, -vv debug), secrets redacted, text or JSON lines."""
    from gripewatch.runtime.logs import setup_logging as _setup

    level = base if verbose == 0 else logging.DEBUG if verbose > 1 or base <= logging.INFO else logging.INFO
    _setup(level, secrets_of(settings), log_format or settings.logging.format)
    if verbose < 2:
        aps = logging.getLogger("apscheduler")
        aps.setLevel(logging.WARNING)
        if not any(isinstance(f, _NoBusyWarnings) for f in aps.filters):
            logging.getLogger("apscheduler.scheduler").addFilter(_NoBusyWarnings())


class _NoBusyWarnings(logging.Filter):
    """A job still running at its next tick is normal here (its lease and coalescing handle it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def run_action(
    config_path: str | None,
    verbose: int,
    action: Callable[[Session, Settings, datetime], str],
    refused: tuple[type[Exception], ...] = (),
) -> None:
    """Run ``action(session, settings, now)`` in one transaction and print the message it returns.

    The library refuses a case or incident action by raising (ActionRefused, IncidentRefused, …);
    an exception of ``refused`` (ActionRefused always) becomes the one-line error of the command.
    """
    from gripewatch.alerts.actions import ActionRefused
    from gripewatch.models import utcnow

    settings = setup(config_path, verbose)
    db = open_db(settings)
    caught: tuple[type[Exception], ...] = (ActionRefused, *refused)
    try:
        with db.sessions() as s, s.begin():
            message = action(s, settings, utcnow())
    except caught as e:
        raise CliError(str(e)) from None
    finally:
        db.dispose()
    click.echo(message)


def open_db(settings: Settings) -> Database:
    """The configured database, disposed when the command ends."""
    from gripewatch.db import open_database

    d = settings.database
    db = open_database(d.url, **d.engine_options())
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(db.dispose)
    return db
