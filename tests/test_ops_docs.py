"""Every operations setting and command is documented (docs/configuration.md, config.yaml, deployment guide)."""

from __future__ import annotations

import pytest

from gripewatch.config import DatabaseConfig, LoggingConfig, MetricsConfig, RetentionConfig, SchedulerConfig
from tests.conftest import ROOT

SECTIONS = {
    "database": DatabaseConfig,
    "scheduler": SchedulerConfig,
    "retention": RetentionConfig,
    "metrics": MetricsConfig,
    "logging": LoggingConfig,
}
KEYS = [f"{section}.{key}" for section, model in SECTIONS.items() for key in model.model_fields]


@pytest.mark.parametrize("key", KEYS)
def test_every_ops_key_is_documented(key: str) -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    config = (ROOT / "config.yaml").read_text()
    assert f"| `{key}` |" in reference, f"{key} is missing from docs/configuration.md"
    assert f"  {key.split('.', 1)[1]}:" in config, f"{key} is missing from config.yaml"


def test_commands_and_deployment_guide_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    guide = (ROOT / "docs" / "deployment.md").read_text()
    for command in ("gripewatch serve", "gripewatch status"):
        assert f"`{command}" in readme
    assert "(docs/deployment.md)" in readme
    for topic in ("run-once", "[Service]", "GRIPEWATCH_CONFIG", "replicas", "db upgrade", "/metrics", "/healthz"):
        assert topic in guide
