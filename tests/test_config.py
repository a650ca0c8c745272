"""Broken config gives one line naming the file and the key, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gripewatch.cli import cli
from gripewatch.config import load_settings
from tests.conftest import ROOT, write_config

GOOD = {
    "brands": [{"name": "Acme", "keywords": ["acme"]}],
    "sources": [{"name": "demo", "type": "replay", "path": "m.jsonl"}],
}


def check(tmp_path: Path, data: dict, env: dict | None = None) -> tuple[int, str]:
    path = write_config(tmp_path, data)
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)], env=env or {})
    return result.exit_code, result.output


def test_the_shipped_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.yaml")
    assert settings.brands[0].name == "Acme"
    assert settings.sources[0].options.path.is_file()  # relative to the config file


def test_good_config_is_summarised(tmp_path: Path) -> None:
    code, out = check(tmp_path, GOOD)
    assert code == 0, out
    assert "source demo: replay" in out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**GOOD, "colour": "blue"}, "colour: unknown key"),
        ({**GOOD, "slack": {"mode": "console", "chanels": {}}}, "slack.chanels: unknown key"),
        ({**GOOD, "slack": {"mode": "pigeon"}}, "slack.mode: Input should be 'console' or 'api'"),
        ({**GOOD, "database": {"url": "sqlite:///x.db", "pool_size": "lots"}}, "database.pool_size: "),
        (
            {**GOOD, "sources": [{"name": "demo", "type": "replay", "path": "m.jsonl", "pth": 1}]},
            "sources[0].pth: unknown key",
        ),
        ({**GOOD, "sources": [{"name": "demo", "type": "carrier-pigeon"}]}, "sources[0].type: unknown source type"),
        ({**GOOD, "sources": [{"name": "demo", "type": "replay"}]}, "sources[0].path: required key is missing"),
        (
            {**GOOD, "sources": [{"name": "demo", "type": "replay", "path": "m.jsonl", "brand": "Nope"}]},
            "sources[0].brand: no brand named 'Nope'",
        ),
        ({**GOOD, "analysis": {"complaint_treshold": 0.3}}, "analysis.complaint_treshold: unknown key"),
        ({**GOOD, "brands": [{"keywords": ["x"]}]}, "brands[0].name: required key is missing"),
    ],
)
def test_broken_config_names_the_key(tmp_path: Path, data: dict, expected: str) -> None:
    code, out = check(tmp_path, data)
    assert code == 2
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert "config.yaml" in lines[0] and expected in lines[0]
    assert "Traceback" not in out


def test_missing_env_var_is_named_when_needed(tmp_path: Path) -> None:
    data = {**GOOD, "slack": {"mode": "api", "token": "${GW_TEST_TOKEN}"}}
    code, out = check(tmp_path, data)
    assert code == 2
    assert "slack.token: environment variable GW_TEST_TOKEN is not set" in out


def test_missing_env_var_is_fine_when_unused(tmp_path: Path) -> None:
    code, out = check(tmp_path, {**GOOD, "slack": {"mode": "console", "token": "${GW_TEST_TOKEN}"}})
    assert code == 0, out


def test_env_vars_are_substituted_and_never_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_TEST_TOKEN", "xoxb-very-secret-value")
    data = {**GOOD, "slack": {"mode": "api", "token": "${GW_TEST_TOKEN}", "channels": {"alerts": "${GW_CH:-#care}"}}}
    code, out = check(tmp_path, data)
    assert code == 0, out
    assert "#care" in out
    assert "very-secret" not in out
    settings = load_settings(tmp_path / "config.yaml")
    assert settings.slack.token.get_secret_value() == "xoxb-very-secret-value"
    assert "very-secret" not in repr(settings)


def test_a_bad_secret_value_is_not_echoed(tmp_path: Path) -> None:
    code, out = check(tmp_path, {**GOOD, "slack": {"mode": "api", "token": ["xoxb-leaky-secret"]}})
    assert code == 2
    assert "slack.token" in out and "leaky" not in out


@pytest.mark.parametrize("content", ["brands: [unclosed", "- just\n- a list\n", "\t\tbad: tabs"])
def test_unreadable_yaml_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(content)
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and str(path) in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "config file not found" in result.output


def test_config_from_environment_variable(tmp_path: Path) -> None:
    path = write_config(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["config", "check"], env={"GRIPEWATCH_CONFIG": str(path)})
    assert result.exit_code == 0 and str(path) in result.output


def test_relative_sqlite_url_is_relative_to_the_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, {**GOOD, "database": {"url": "sqlite:///data.db"}})
    assert load_settings(path).database.url == f"sqlite:///{tmp_path.resolve() / 'data.db'}"
