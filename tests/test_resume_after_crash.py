"""Finding 13: a source run whose holder was killed is run again as soon as its lease is free.

The killed ``serve`` left its ``job_runs`` row open and (maybe) its lease. The restarted daemon
must not plan the next poll from that run's start (300 s later by default): a dead local holder
(same host, pid gone) or an expired lease means the run was interrupted — collect now.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.db import Database
from gripewatch.models import JobRun, Lease, Mention, utcnow
from gripewatch.runtime.scheduler import Daemon
from tests.conftest import make_settings
from tests.test_pipeline import COMPLAINT, rec


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def killed_run(db: Database, holder: str, started_ago: float, lease_left: float) -> None:
    """What SIGKILL leaves behind: an open run of source:replay and the holder's lease."""
    now = utcnow()
    with db.engine.begin() as c:
        c.execute(
            insert(JobRun).values(
                job="source:replay", holder=holder, started_at=now - timedelta(seconds=started_ago), detail={}
            )
        )
        c.execute(
            insert(Lease).values(name="source:replay", holder=holder, expires_at=now + timedelta(seconds=lease_left))
        )


def restarted(tmp_path: Path, db: Database, db_url: str) -> Daemon:
    settings = make_settings(tmp_path, db_url, [rec(1, COMPLAINT), rec(2, "acme cloud is down", "kim")])
    assert settings.sources[0].interval_seconds == 300
    return Daemon(settings, db, ConsoleNotifier(), holder=f"{socket.gethostname()}:1:new")


def stored(db: Database) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count(Mention.id))) or 0


def test_a_dead_local_holders_run_is_resumed_at_once(tmp_path: Path, db: Database, db_url: str) -> None:
    dead = f"{socket.gethostname()}:{dead_pid()}:killed"
    killed_run(db, dead, started_ago=5, lease_left=55)
    restarted(tmp_path, db, db_url).poll("replay")
    assert stored(db) == 2
    with db.sessions() as s:
        runs = s.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.holder == dead, r.outcome) for r in runs] == [(True, "interrupted"), (False, "ok")]


def test_an_expired_lease_of_another_host_is_resumed_at_once(tmp_path: Path, db: Database, db_url: str) -> None:
    killed_run(db, "elsewhere:4242:gone", started_ago=90, lease_left=-1)
    restarted(tmp_path, db, db_url).poll("replay")
    assert stored(db) == 2


def test_a_live_holder_elsewhere_is_left_alone(tmp_path: Path, db: Database, db_url: str) -> None:
    killed_run(db, "elsewhere:4242:busy", started_ago=5, lease_left=55)
    restarted(tmp_path, db, db_url).poll("replay")
    assert stored(db) == 0
    with db.sessions() as s:
        (run,) = s.scalars(select(JobRun)).all()
    assert run.outcome is None  # still running as far as anyone knows


def test_a_finished_run_still_spaces_the_next_poll(tmp_path: Path, db: Database, db_url: str) -> None:
    d = restarted(tmp_path, db, db_url)
    d.poll("replay")
    with (tmp_path / "mentions.jsonl").open("a") as fh:
        fh.write('{"id": "t3", "text": "acme again", "author": "z", "created_at": "2026-11-10T10:00:00Z"}\n')
    d.poll("replay")  # within the interval: not due
    assert stored(db) == 2
