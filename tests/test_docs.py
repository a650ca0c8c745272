"""The README documents every command, every config key and every collector."""

from __future__ import annotations

import dataclasses
import re

import pytest
from pydantic import BaseModel

from gripewatch.analysis import AnalysisSettings
from gripewatch.collectors import REGISTRY
from gripewatch.config import Settings
from tests.conftest import ROOT
from tests.test_cli import all_commands

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG = (ROOT / "config.yaml").read_text(encoding="utf-8")


def setting_keys(model: type[BaseModel] = Settings, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if name in ("config_path", "options", "analysis"):
            continue
        ann = field.annotation
        inner = getattr(ann, "__args__", (ann,))
        sub = next((t for t in inner if isinstance(t, type) and issubclass(t, BaseModel)), None)
        full = f"{prefix}{name}"
        if sub is not None and str(ann).startswith("dict"):
            keys += setting_keys(sub, f"{full}.KEY.")  # a mapping of sections: documented as a.b.NAME.c
        elif sub is not None:
            keys += setting_keys(sub, f"{full}[]." if "tuple" in str(ann) else f"{full}.")
        else:
            keys.append(full)
    return keys


ALL_KEYS = setting_keys() + [f"analysis.{f.name}" for f in dataclasses.fields(AnalysisSettings)]


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_setting_is_in_the_readme(key: str) -> None:
    pattern = re.escape(f"`{key}`").replace("KEY", "[A-Z_]+")
    assert re.search(pattern, README), f"README's configuration table lacks `{key}`"


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_setting_is_in_config_yaml(key: str) -> None:
    leaf = key.rsplit(".", 1)[-1]
    assert re.search(rf"(^\s*#?\s*-?\s*|[{{,]\s*){re.escape(leaf)}:", CONFIG, re.M), f"config.yaml does not show {key}"


@pytest.mark.parametrize("name", [n for n, _ in all_commands()])
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"`gripewatch {name}" in README, f"README does not document `gripewatch {name}`"


@pytest.mark.parametrize("source_type", sorted(REGISTRY))
def test_every_collector_is_in_the_readme(source_type: str) -> None:
    assert f"| `{source_type}` |" in README
    for key in REGISTRY[source_type].Options.model_fields:
        assert f"`{key}`" in README, f"README does not document the {source_type} key {key}"
