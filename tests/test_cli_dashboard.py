"""`gripewatch dashboard` for a newcomer (issue 17): `--demo` serves the demo data with a one-time
password, the URL is always printed, and a missing key or password hash names the variable to set."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gripewatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run records what it was asked to serve instead of serving it."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_help_names_the_environment_variable_and_the_demo() -> None:
    out = CliRunner().invoke(cli, ["dashboard", "--help"]).output
    assert (
        "DASHBOARD_SECRET_KEY" in out
        and "--demo" in out
        and "SECRET_KEY=..." not in out.replace("DASHBOARD_SECRET_KEY=...", "")
    )


def test_a_missing_key_or_password_names_the_variable_to_set(tmp_path: Path, monkeypatch, served) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    monkeypatch.delenv("DASHBOARD_SECRET_KEY", raising=False)
    monkeypatch.delenv("ANA_PASSWORD_HASH", raising=False)
    r = CliRunner().invoke(cli, ["--config", str(config), "dashboard"])
    assert r.exit_code == 2 and "set DASHBOARD_SECRET_KEY" in r.output, r.output
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "k7Hq2pX9vR4mZ8wT1nB6yC3dF5gJ0sLaQeUi")
    r = CliRunner().invoke(cli, ["--config", str(config), "dashboard"])
    assert r.exit_code == 2 and "set ANA_PASSWORD_HASH" in r.output and "--hash-password" in r.output, r.output
    assert "gripewatch dashboard --demo" in r.output and not served


def test_the_url_is_always_printed(tmp_path: Path, monkeypatch, served) -> None:  # type: ignore[no-untyped-def]
    from gripewatch.dashboards.auth import hash_password

    config = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", config)
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "k7Hq2pX9vR4mZ8wT1nB6yC3dF5gJ0sLaQeUi")
    monkeypatch.setenv("ANA_PASSWORD_HASH", hash_password("pw-for-the-test"))
    r = CliRunner().invoke(cli, ["--config", str(config), "dashboard", "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert "http://127.0.0.1:8123/" in r.output and served[0]["port"] == 8123


def test_demo_serves_the_demo_data_with_a_one_time_password(tmp_path: Path, served) -> None:  # type: ignore[no-untyped-def]
    runs = [CliRunner().invoke(cli, ["dashboard", "--demo", "--dir", str(tmp_path / f"d{i}")]) for i in (1, 2)]
    for r in runs:
        assert r.exit_code == 0, r.output
        assert "http://127.0.0.1:8000/" in r.output
    passwords = [re.search(r"password (\S+)", r.output).group(1) for r in runs]  # type: ignore[union-attr]
    assert passwords[0] != passwords[1] and len(passwords[0]) >= 12
    with TestClient(served[0]["app"], base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"username": "demo", "password": passwords[0], "csrf": token, "next": "/cases"})
        assert r.status_code == 200 and "Case queue" in r.text and "@" in r.text  # the demo's cases
    assert served[0]["host"] == "127.0.0.1"


def test_demo_dashboard_from_the_demo_command(tmp_path: Path, served) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(cli, ["demo", "--quiet", "--dashboard", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "http://127.0.0.1:8000/" in r.output and "password" in r.output and served
