"""Helpers for the digest and dashboard tests: the demo data in a database, settings with users."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.config import Settings, settings_from_dict
from gripewatch.db import Database
from gripewatch.runtime.jobs import run_once

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the Monday after the demo's last week (2026-W47)
SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"


def demo_data(db_url: str, **overrides: Any) -> Settings:
    """The bundled demo config on ``db_url`` (plus ``overrides`` sections)."""
    from importlib import resources

    import yaml

    data = yaml.safe_load(resources.files("gripewatch").joinpath("demo/config.yaml").read_text("utf-8"))
    data["database"] = {"url": db_url}
    data["sources"][0]["path"] = str(resources.files("gripewatch").joinpath("demo/mentions.jsonl"))
    data.update(overrides)
    return settings_from_dict(data, Path("/nonexistent/config.yaml"))


def load_demo(db: Database, settings: Settings) -> None:
    """Run the whole pipeline over the demo mentions (alerts printed nowhere)."""
    run_once(db, settings, ConsoleNotifier(Console(file=io.StringIO())))


def dashboard_section(password_hash: str, **extra: Any) -> dict[str, Any]:
    return {
        "secret_key": SECRET,
        "users": [
            {
                "username": "ana",
                "name": "Ana",
                "password_hash": password_hash,
                "role": "agent",
                "slack_id": "U0AGENT01",
            },
            {
                "username": "ben",
                "name": "Ben",
                "password_hash": password_hash,
                "role": "manager",
                "slack_id": "U0MANAGR1",
            },
        ],
        **extra,
    }
