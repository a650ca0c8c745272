"""The ``gripewatch`` command line: one module per command group, registered here.

``COMMANDS`` maps each top-level command to the module that defines it; a module is imported
only when its command runs or ``--help`` lists it, and each imports the heavy libraries
(SQLAlchemy, numpy, rich, the platform clients) inside its functions. Library errors become
one-line messages and exit codes in :mod:`gripewatch.cli.common`, nowhere else.

Modules: ``run`` (demo, run-once, score, feedback), ``cases``, ``incidents``, ``customers``, ``slack``,
``sources`` (sources, backfill), ``rejected`` (the quarantine), ``dashboards`` (digest, dashboard, spikes), ``model``,
``ops`` (serve, status), ``admin`` (db, config); ``summary`` and ``scoring`` format their output.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from gripewatch import __version__
from gripewatch.cli.common import ENV_CONFIG

COMMANDS = {
    "demo": "gripewatch.cli.run:demo",
    "run-once": "gripewatch.cli.run:run_once_cmd",
    "score": "gripewatch.cli.run:score",
    "feedback": "gripewatch.cli.run:feedback_cmd",
    "cases": "gripewatch.cli.cases:cases",
    "incidents": "gripewatch.cli.incidents:incidents",
    "customers": "gripewatch.cli.customers:customers_group",
    "slack": "gripewatch.cli.slack:slack_group",
    "sources": "gripewatch.cli.sources:sources_cmd",
    "backfill": "gripewatch.cli.sources:backfill_cmd",
    "rejected": "gripewatch.cli.rejected:rejected_group",
    "digest": "gripewatch.cli.dashboards:digest_cmd",
    "dashboard": "gripewatch.cli.dashboards:dashboard_cmd",
    "spikes": "gripewatch.cli.dashboards:spikes_cmd",
    "model": "gripewatch.cli.model:model",
    "serve": "gripewatch.cli.ops:serve_cmd",
    "status": "gripewatch.cli.ops:status_cmd",
    "db": "gripewatch.cli.admin:db_group",
    "config": "gripewatch.cli.admin:config_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported from ``COMMANDS`` when first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, _, attr = COMMANDS[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gripewatch")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar=ENV_CONFIG,
    show_envvar=True,
    help="Config file for the command that follows [default: ./config.yaml].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(config_path: str | None, verbose: int) -> None:
    """gripewatch: see every public complaint about your brand, and make sure a human answers it.

    Example: gripewatch demo

    Shell completion: eval "$(_GRIPEWATCH_COMPLETE=bash_source gripewatch)" (zsh_source, fish_source).
    """


def main(args: Any = None) -> None:
    # gripewatch uses no pydantic plugins; looking for them scans every installed distribution's
    # entry points (~25 ms of each command's start). PYDANTIC_DISABLE_PLUGINS= (empty) turns it back on.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    cli(args=args, prog_name="gripewatch")
