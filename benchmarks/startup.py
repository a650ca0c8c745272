"""How fast the command line answers, against ``python -c "import click"`` measured in the same run.

    python benchmarks/startup.py [--repeat 7]

Cron runs ``gripewatch run-once`` every few minutes and staff type ``gripewatch cases list``: the
time before a command does any work is paid every time. This script builds a 1,000-case SQLite
database (and a config with an X and a Reddit source, as production has), byte-compiles the package as
``pip install`` would (``--no-compile`` skips it), then runs each command as a fresh process
``--repeat`` times, taking turns with the baseline, and prints the median wall time and its ratio.
Targets (issue "One installable package…"): ``--help`` and ``--version`` ≤ 5×, ``cases list`` ≤ 10×.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TARGETS = {"--help": 5.0, "--version": 5.0, "cases list": 10.0}


def build_database(folder: Path, n: int = 1000) -> Path:
    """A database at the current schema holding ``n`` open cases, each with its author and mention."""
    from gripewatch.db import open_database
    from gripewatch.models import Author, Case, Mention

    url = f"sqlite:///{folder / 'bench.db'}"
    db = open_database(url)
    now = datetime.now(UTC)
    with db.session() as s:
        for i in range(n):
            at = now - timedelta(minutes=7 * i)
            author = Author(platform="x", key=f"u{i}", handle=f"customer{i}", followers=i * 3)
            case = Case(
                brand="Acme",
                author=author,
                status=("new", "acknowledged", "waiting", "escalated")[i % 4],
                priority=("critical", "high", "normal", "low")[i % 4],
                summary=f"order {10_000 + i} still has not arrived, second week of waiting",
                opened_at=at,
                updated_at=at,
            )
            s.add(case)
            s.flush()
            s.add(
                Mention(
                    source="x",
                    platform="x",
                    external_id=str(10**15 + i),
                    brand="Acme",
                    author=author,
                    text=case.summary,
                    created_at=at,
                    is_complaint=True,
                    case_id=case.id,
                )
            )
    db.dispose()
    cfg = folder / "config.yaml"
    cfg.write_text(
        f"""database:
  url: {url}
brands:
  - name: Acme
    keywords: [acme]
sources:
  - name: x-acme
    type: x
    query: acme
    bearer_token: not-a-real-token
  - name: reddit-acme
    type: reddit
    subreddits: [acme]
    client_id: placeholder
    client_secret: placeholder
slack:
  mode: console
""",
        encoding="utf-8",
    )
    return cfg


def timed(cmds: dict[str, list[str]], repeat: int, env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Median wall seconds of each command over ``repeat`` fresh processes (after one warm-up run each).

    The commands take turns, round by round, so a burst of load elsewhere on the machine falls on
    the baseline and the commands alike instead of on whichever happened to run then.
    """
    runs: dict[str, list[float]] = {name: [] for name in cmds}
    for i in range(repeat + 1):
        for name, cmd in cmds.items():
            t = time.perf_counter()
            out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
            elapsed = time.perf_counter() - t
            if out.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
            if i:
                runs[name].append(elapsed)
    return {name: statistics.median(r) for name, r in runs.items()}


def compile_package() -> None:
    """Byte-compile gripewatch as ``pip install`` does for a wheel.

    An editable install run with PYTHONDONTWRITEBYTECODE=1 (as on the CI machines) would otherwise
    compile every gripewatch module from source in every process, which no installed copy does.
    """
    import compileall
    import importlib

    for name in (
        "gripewatch",
        "gripewatch.collectors",
        "gripewatch.analysis",
        "gripewatch.alerts",
        "gripewatch.dashboards",
    ):
        for folder in importlib.import_module(name).__path__:
            compileall.compile_dir(folder, quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--no-compile", action="store_true", help="do not byte-compile the package first")
    args = ap.parse_args()
    if not args.no_compile:
        compile_package()
    exe = shutil.which("gripewatch", path=str(Path(sys.executable).parent)) or shutil.which("gripewatch")
    if exe is None:
        raise SystemExit("the gripewatch command is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="gripewatch-startup-") as tmp:
        folder = Path(tmp)
        cfg = build_database(folder)
        env = {**os.environ, "GRIPEWATCH_CONFIG": str(cfg)}
        names = ("--help", "--version", "config check", "cases list", "cases list --json")
        cmds = {"baseline": [sys.executable, "-c", "import click"]} | {n: [exe, *n.split()] for n in names}
        times = timed(cmds, args.repeat, env, folder)
        base = times["baseline"]
        print(f"baseline  python -c 'import click'  {base * 1000:7.1f} ms")
        print(f"{'command':<28} {'median':>9} {'ratio':>7} {'target':>7}")
        worst = True
        for name in names:
            t = times[name]
            target = TARGETS.get(name)
            ok = target is None or t / base <= target
            worst = worst and ok
            mark = f"≤ {target:.0f}×" if target else ""
            print(f"gripewatch {name:<17} {t * 1000:7.1f} ms {t / base:6.1f}× {mark:>7}{'' if ok else '  MISSED'}")
    print("all targets met" if worst else "a target was missed")


if __name__ == "__main__":
    main()
