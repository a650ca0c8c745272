"""``gripewatch db upgrade`` and ``gripewatch config check``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gripewatch.cli.common import config_option, setup, translate_errors

if TYPE_CHECKING:
    pass


@click.group("db")
def db_group() -> None:
    """Database maintenance."""


@db_group.command("upgrade")
@config_option
@translate_errors
def db_upgrade(config_path: str | None, verbose: int) -> None:
    """Apply pending migrations (they also run automatically on first use).

    Example: gripewatch db upgrade --config /etc/gripewatch/config.yaml
    """
    from gripewatch.db import make_engine, safe_url, upgrade

    settings = setup(config_path, verbose)
    engine = make_engine(settings.database.url, **settings.database.engine_options())
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    where = safe_url(settings.database.url)
    click.echo(
        f"{where}: already at {after}" if before == after else f"{where}: upgraded {before or 'empty'} → {after}"
    )


@click.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check")
@config_option
@translate_errors
def config_check(config_path: str | None, verbose: int) -> None:
    """Validate the config file and say what it sets up (secrets are never printed).

    Example: GRIPEWATCH_CONFIG=prod.yaml gripewatch config check
    """
    from gripewatch.collectors.posting import can_reply
    from gripewatch.db import safe_url

    s = setup(config_path, verbose)
    click.echo(f"{s.config_path}: OK")
    click.echo(f"  database: {safe_url(s.database.url)}")
    click.echo(f"  brands: {', '.join(b.name for b in s.brands) or '(none)'}")
    for src in s.sources:
        click.echo(f"  source {src.name}: {src.type}{'' if src.enabled else ' (disabled)'}")
    click.echo(f"  slack: {s.slack.mode} → alerts {s.slack.channels.alerts}")
    for platform, why in can_reply(s.reply).items():
        click.echo(f"  reply on {platform}: {'yes' if why is None else 'no (' + why + ')'}")
