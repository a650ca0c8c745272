"""The package's shape: one top-level package, imports that run downward only, a CLI that
loads only what a command uses."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _package_dirs() -> dict[str, Path]:
    """Dotted package name → folder, as setuptools installs them (package-dir mapping)."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    mapped = {name: ROOT / folder for name, folder in conf["package-dir"].items()}
    return {name: mapped.get(name, ROOT / Path(*name.split("."))) for name in conf["packages"]}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in _package_dirs().items():
        for f in folder.glob("*.py"):
            found[package if f.stem == "__init__" else f"{package}.{f.stem}"] = f
    return found


def _module_level_imports(path: Path, name: str, known: set[str]) -> set[str]:
    """gripewatch modules imported when ``name`` is imported (not inside functions or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text("utf-8"))
    is_package = path.stem == "__init__"
    out: set[str] = set()

    def add(target: str) -> None:
        # importing a.b.c runs a, a.b and a.b.c
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            mod = ".".join(parts[:i])
            # a module's own enclosing packages are already being imported: not an edge
            if mod in known and mod != name and not name.startswith(mod + "."):
                out.add(mod)

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        pkg = pkg.rpartition(".")[0]
                    base = f"{pkg}.{base}" if base else pkg
                add(base)
                for alias in node.names:
                    if f"{base}.{alias.name}" in known:
                        add(f"{base}.{alias.name}")
            elif isinstance(node, ast.If):
                test = node.test
                if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _module_level_imports(path, name, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = dfs(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = dfs(n)
            if found:
                return found
    return None


def test_the_import_graph_covers_every_package() -> None:
    graph = import_graph()
    expected = {"gripewatch.config", "gripewatch.collectors.twitter", "gripewatch.cli.run", "gripewatch.runtime.jobs"}
    assert expected <= set(graph)
    assert "gripewatch.models" in graph["gripewatch.pipeline"]  # the parser sees real imports


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_config_does_not_import_collectors_or_heavy_layers() -> None:
    graph = import_graph()
    deps = graph["gripewatch.config"]
    assert not {d for d in deps if d.startswith("gripewatch.collectors.")}, deps
    assert not {d for d in deps if d.startswith(("gripewatch.cli", "gripewatch.runtime", "gripewatch.alerts"))}


def test_the_domain_and_features_never_import_the_command_line() -> None:
    graph = import_graph()
    for name, deps in graph.items():
        if not name.startswith("gripewatch.cli") and name != "gripewatch.__main__":
            assert not {d for d in deps if d.startswith("gripewatch.cli")}, f"{name} imports {deps}"


def _imported_by(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return set(out.stdout.split())


HEAVY = {"numpy", "sqlalchemy", "slack_sdk", "matplotlib", "starlette", "atproto", "praw", "tweepy", "mastodon"}


def test_help_imports_no_heavy_library() -> None:
    loaded = _imported_by(
        "from gripewatch.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='gripewatch')\nexcept SystemExit:\n    pass"
    )
    assert not HEAVY & loaded, sorted(HEAVY & loaded)
    assert "rich" not in loaded and "pydantic" not in loaded


def test_reading_the_config_loads_no_platform_client() -> None:
    loaded = _imported_by(
        "from gripewatch.config import settings_from_dict\n"
        "settings_from_dict({'sources': [{'name': 'r', 'type': 'replay', 'path': 'x.jsonl'}]}, '/tmp/c.yaml')"
    )
    assert not {"numpy", "tweepy", "praw", "mastodon", "atproto", "slack_sdk", "sqlalchemy"} & loaded


def test_the_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
        + [str(ROOT)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.fail(out.stderr[-2000:])
    (wheel,) = tmp_path.glob("gripewatch-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top_level = next(n for n in names if n.endswith("top_level.txt"))
        assert z.read(top_level).decode().split() == ["gripewatch"]
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"gripewatch"}
    for must in (
        "gripewatch/collectors/twitter.py",
        "gripewatch/analysis/complaint_model.npz",
        "gripewatch/dashboards/templates/queue.html",
        "gripewatch/db/migrations/env.py",
        "gripewatch/demo/mentions.jsonl",
    ):
        assert must in names, must


def test_mypy_passes() -> None:
    """mypy over the installed layout: strict for gripewatch.analysis, the defaults elsewhere."""
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "typecheck.py")], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Success: no issues found" in out.stdout
