"""``gripewatch customers link|import|erase``: customer identities and value, and forgetting one."""

from __future__ import annotations

from pathlib import Path

import click

from gripewatch.cli.common import config_option, open_db, setup, translate_errors


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
    from gripewatch.alerts.customers import link

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
    from gripewatch.alerts.customers import import_csv

    db = open_db(setup(config_path, verbose))
    try:
        with db.sessions() as s, s.begin():
            r = import_csv(s, file)
    finally:
        db.dispose()
    click.echo(f"imported {r.rows} customers ({r.created} not seen before)")


@customers_group.command("erase")
@click.argument("identity")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--as", "actor", default="operator", show_default=True, help="Who asked for it (recorded).")
@config_option
@translate_errors
def customers_erase(identity: str, yes: bool, actor: str, config_path: str | None, verbose: int) -> None:
    """Forget one customer on request: their posts, handles and names, case summaries and details.

    Their authors get a stable pseudonym (erased-…), linked identities included; their Slack
    cards and thread quotes are rewritten to "[erased on request]" on the next delivery. Counts
    and scores stay. An audit record says that an erasure happened, not what was erased.

    Example: gripewatch customers erase x:alice --yes
    """
    from gripewatch.alerts.erasure import compact, erase
    from gripewatch.models import utcnow

    if not yes:
        click.confirm(f"Erase everything about {identity}? This cannot be undone", abort=True, err=True)
    settings = setup(config_path, verbose)
    db = open_db(settings)
    try:
        with db.sessions() as s, s.begin():
            out = erase(s, settings, identity, actor, utcnow())
        compact(db)
    finally:
        db.dispose()
    click.echo(out.message)
