"""Helpers for tests (and benchmarks) that run the real ``gripewatch serve`` in subprocesses.

Builds on tests/test_crash.py (records, config, snapshots): a serve config is
that config plus fast scheduler settings. Everything waits by polling for
progress, never by fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from gripewatch.runtime.runlog import overlaps
from tests.fakes.slack import FakeSlack
from tests.test_crash import setup_run

TOKEN_ENV = {"GW_CRASH_TOKEN": "xoxb-crash-test"}
FAST = {
    "outbox_seconds": 0.3,
    "sla_seconds": 5,
    "misfire_grace_seconds": 5,
    "db_retry_max_seconds": 1,
    "shutdown_timeout_seconds": 20,
}


def serve_config(
    tmp_path: Path, name: str, fake: FakeSlack, recs: list[dict], url: str | None = None, **extra: Any
) -> tuple[Path, str]:
    """test_crash's config (replay file + fake Slack in api mode), with a 1 s poll and fast jobs."""
    cfg, sqlite_url = setup_run(tmp_path, name, fake, recs)
    data = yaml.safe_load(cfg.read_text())
    if url is not None:
        data["database"]["url"] = url
    data["sources"][0]["interval_seconds"] = 1
    data["scheduler"] = {**FAST, **extra.pop("scheduler", {})}
    data.update(extra)
    cfg.write_text(yaml.safe_dump(data))
    return cfg, url or sqlite_url


def append_records(cfg: Path, recs: list[dict]) -> None:
    path = cfg.parent / "m.jsonl"
    with path.open("a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in recs))


class Serve:
    """A ``gripewatch serve`` subprocess whose log lines are collected as they come."""

    def __init__(self, cfg: Path, *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gripewatch", "serve", "--config", str(cfg), *args],
            env={**os.environ, **TOKEN_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, needle: str) -> int:
        return sum(needle in line for line in list(self.lines))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, wait for the exit; the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        self.proc.stderr.close()  # type: ignore[union-attr]
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)
        self.proc.stderr.close()  # type: ignore[union-attr]


def wait_until(check: Callable[[], bool], timeout: float, what: str, *procs: Serve) -> None:
    """Poll ``check`` every 50 ms; fail with the processes' logs after ``timeout`` or if one died."""
    deadline = time.monotonic() + timeout
    while not check():
        dead = [p for p in procs if not p.alive()]
        if dead or time.monotonic() > deadline:
            logs = "\n---\n".join(p.log()[-3000:] for p in procs)
            raise AssertionError(f"{'a serve process exited' if dead else 'timed out'} waiting for {what}\n{logs}")
        time.sleep(0.05)


def query(url: str, sql: str) -> list[tuple]:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql)).all()]
    except Exception:
        return []
    finally:
        eng.dispose()


def done(url: str, n: int) -> bool:
    """Every one of ``n`` records consumed, and no alert left to deliver."""
    rows = query(
        url,
        "SELECT (SELECT count(*) FROM mentions), "
        "(SELECT count(*) FROM outbox WHERE sent_at IS NULL AND dead = false), (SELECT count(*) FROM outbox)",
    )
    return bool(rows) and rows[0][0] == n and rows[0][1] == 0 and rows[0][2] > 0


def job_runs(url: str) -> list[tuple]:
    return query(url, "SELECT job, started_at, finished_at, holder, outcome FROM job_runs ORDER BY id")


def assert_no_overlap(url: str) -> list[tuple]:
    """Runs of each job never overlap; returns the runs."""
    from datetime import datetime

    runs = job_runs(url)

    def t(v: Any) -> datetime | None:
        return v if v is None or isinstance(v, datetime) else datetime.fromisoformat(str(v))

    assert runs, "no job runs were recorded"
    bad = overlaps([(job, t(start), t(end)) for job, start, end, _h, _o in runs])
    assert bad == [], f"overlapping runs: {bad[:5]}"
    return runs
