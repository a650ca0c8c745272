"""The docs document every command, every config key and every collector, and their tables parse."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from gripewatch.analysis import AnalysisSettings
from gripewatch.collectors import REGISTRY
from gripewatch.config import Settings
from tests.conftest import ROOT
from tests.test_cli import all_commands

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
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


def documented_keys() -> list[str]:
    """The first cell of every row of docs/configuration.md's tables."""
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", CONFIG_DOC, re.M)]


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_setting_is_in_the_configuration_reference(key: str) -> None:
    pattern = "^\\| " + re.escape(f"`{key}`").replace("KEY", "[A-Z_]+") + " \\|"
    assert re.search(pattern, CONFIG_DOC, re.M), f"docs/configuration.md has no row for `{key}`"


def test_every_documented_setting_exists_once() -> None:
    declared = [re.compile(re.escape(k).replace("KEY", "[A-Z_]+") + "$") for k in ALL_KEYS]
    keys = documented_keys()
    assert len(keys) > 50
    unknown = [k for k in keys if not any(p.match(k) for p in declared)]
    assert not unknown, f"docs/configuration.md documents keys that do not exist: {unknown}"
    twice = sorted({k for k in keys if keys.count(k) > 1})
    assert not twice, f"documented more than once: {twice}"


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


MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def _cells(line: str) -> int:
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return len(re.split(r"(?<!\\)\|", body))


def table_problems(text: str) -> list[str]:
    """Rows whose cell count differs from their header's, and tables split by a blank line."""
    problems, header, lines = [], 0, text.splitlines()
    in_code = False
    for n, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("|"):
            if not line.startswith("|") and header and n < len(lines) and lines[n : n + 1] and lines[n].startswith("|"):
                if not line.strip() and not re.match(r"^\|[-| :]+\|$", lines[n + 1] if n + 1 < len(lines) else ""):
                    problems.append(f"line {n + 1}: table rows after a blank line (the table is split)")
            if not line.startswith("|"):
                header = 0
            continue
        if not header:
            header = _cells(line)
        elif _cells(line) != header:
            problems.append(f"line {n}: {_cells(line)} cells, header has {header}")
    return problems


@pytest.mark.parametrize("path", MARKDOWN, ids=[p.name for p in MARKDOWN])
def test_every_markdown_table_parses(path: Path) -> None:
    assert table_problems(path.read_text(encoding="utf-8")) == []


def test_the_table_check_finds_broken_tables() -> None:
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 |\n") == []
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n") == ["line 3: 3 cells, header has 2"]
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n")
    assert table_problems("| a \\| b | c |\n|---|---|\n") == []
