"""Run mypy over the installed layout: gripewatch/ with the card's folders as its subpackages.

mypy resolves modules from folders, and setuptools' package-dir mapping (collectors/ →
gripewatch.collectors, …) exists only in the installed package. So this script lays the same
tree out with symlinks in a temporary folder and type-checks it there (settings in pyproject.toml:
strict for gripewatch.analysis, the defaults elsewhere). Usage: python .ci/typecheck.py
(tests/test_layout.py runs it, so the README's test command — and so .ci/run — type-checks too)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    with tempfile.TemporaryDirectory(prefix="gripewatch-mypy-") as tmp:
        stage = Path(tmp)
        # gripewatch/ itself cannot hold the mapped folders: give mypy a tree of links to its files.
        _link_tree(ROOT / "gripewatch", stage / "gripewatch")
        for package, folder in conf["package-dir"].items():
            (stage / Path(*package.split("."))).symlink_to(ROOT / folder, target_is_directory=True)
        cache = ROOT / ".mypy_cache"
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache)]
        cmd += ["-p", "gripewatch"]
        out = subprocess.run(cmd, cwd=stage, capture_output=True, text=True)
        print(out.stdout.replace(str(stage) + os.sep, ""), end="")
        print(out.stderr, end="", file=sys.stderr)
        return out.returncode


def _link_tree(src: Path, dst: Path) -> None:
    dst.mkdir()
    for item in src.iterdir():
        if item.name == "__pycache__":
            continue
        if item.is_dir():
            _link_tree(item, dst / item.name)
        else:
            (dst / item.name).symlink_to(item)


if __name__ == "__main__":
    sys.exit(main())
