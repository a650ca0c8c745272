"""Several processes on one database: every mention stored once, every alert sent once, no job overlap.

Two ``serve`` replicas on one PostgreSQL schema; one ``serve`` plus concurrent
cron ``run-once`` runs on one SQLite file. The replay file grows while they
run, so every replica has work to contend for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes.slack import FakeSlack
from tests.serve_helpers import (
    TOKEN_ENV,
    Serve,
    append_records,
    assert_no_overlap,
    done,
    query,
    serve_config,
    wait_until,
)
from tests.test_crash import records

N = 600
CHUNKS = 4


def stored(url: str) -> int:
    rows = query(url, "SELECT count(*) FROM mentions")
    return rows[0][0] if rows else 0


def check_once(url: str, fake: FakeSlack, channel: str) -> None:
    """Every record stored once; every alert posted exactly once and recorded as sent."""
    assert query(url, "SELECT count(*), count(DISTINCT external_id) FROM mentions") == [(N, N)]
    posted = Counter(
        m["metadata"]["event_payload"]["key"] for m in fake.posted() if m["channel"].startswith(f"#{channel}")
    )
    assert posted and max(posted.values()) == 1, "an alert was posted twice"
    # card updates edit the case's message in place (chat.update); every other alert is a message of its own
    sent = {k for (k,) in query(url, "SELECT key FROM outbox WHERE sent_at IS NOT NULL AND kind <> 'card_update'")}
    assert set(posted) == sent
    assert query(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_serve_replicas_on_postgresql(tmp_path: Path, fake_slack: FakeSlack, db_url: str) -> None:
    recs = records()[:N]
    step = N // CHUNKS
    cfg, url = serve_config(tmp_path, "pg2", fake_slack, recs[:step], url=db_url)
    replicas = [Serve(cfg), Serve(cfg)]
    try:
        for i in range(1, CHUNKS + 1):
            wait_until(lambda i=i: stored(url) >= i * step, 40, f"{i * step} mentions", *replicas)
            if i < CHUNKS:
                append_records(cfg, recs[i * step : (i + 1) * step])
        wait_until(lambda: done(url, N), 40, "every alert delivered", *replicas)
    finally:
        codes = [r.terminate() for r in replicas]
    assert codes == [0, 0], "\n---\n".join(r.log()[-2000:] for r in replicas)
    check_once(url, fake_slack, "pg2")
    runs = assert_no_overlap(url)
    assert len({holder for _j, _s, _e, holder, _o in runs}) == 2, "only one replica ever ran a job"
    assert all(end is not None for _j, _s, end, _h, _o in runs), "a run was left open by a clean stop"
    assert query(url, "SELECT count(*) FROM leases") == [(0,)], "a lease survived a clean stop"


def test_serve_and_cron_run_once_on_sqlite(tmp_path: Path, fake_slack: FakeSlack) -> None:
    recs = records()[:N]
    step = N // CHUNKS
    cfg, url = serve_config(tmp_path, "lite", fake_slack, recs[:step])
    daemon = Serve(cfg)
    env = {**os.environ, **TOKEN_ENV}
    cron = [sys.executable, "-m", "gripewatch", "run-once", "--config", str(cfg), "--wait", "0"]
    try:
        for i in range(1, CHUNKS + 1):
            result = subprocess.run(cron, env=env, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            wait_until(lambda i=i: stored(url) >= i * step, 40, f"{i * step} mentions", daemon)
            if i < CHUNKS:
                append_records(cfg, recs[i * step : (i + 1) * step])
        wait_until(lambda: done(url, N), 40, "every alert delivered", daemon)
    finally:
        code = daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    check_once(url, fake_slack, "lite")
    runs = assert_no_overlap(url)
    assert len({holder for _j, _s, _e, holder, _o in runs}) >= 2, "cron never ran a job beside the daemon"
