"""SIGKILL ``serve`` again and again while it ingests and alerts: nothing lost, nothing twice.

The run-once version is tests/test_crash.py; this reuses its records, config,
snapshot and Slack helpers, with the daemon in place of run-once. The result
must equal an uninterrupted run's: same database, same set of Slack messages.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from tests.fakes.slack import FakeSlack
from tests.serve_helpers import Serve, assert_no_overlap, done, serve_config, wait_until
from tests.test_crash import assert_same_as_uninterrupted, progress, records, run_cli, setup_run

N = 600


def test_sigkill_serve_during_ingest_and_alerting_loses_and_duplicates_nothing(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    recs = records()[:N]
    cfg_ref, url_ref = setup_run(tmp_path, "ref", fake_slack, recs)
    ref = run_cli(cfg_ref)
    _, err = ref.communicate(timeout=60)
    assert ref.returncode == 0, err.decode()

    cfg, url = serve_config(tmp_path, "killed", fake_slack, recs)
    rng = random.Random(5)
    kills, seen = 0, 0
    while kills < 6 and not done(url, N):
        proc = Serve(cfg)
        wait_until(lambda seen=seen: progress(url) > seen or done(url, N), 30, "new work after a restart", proc)
        time.sleep(rng.uniform(0, 0.2))  # kill it somewhere inside a page or a delivery
        proc.kill()
        kills += 1
        seen = progress(url)
    final = Serve(cfg)
    try:
        wait_until(lambda: done(url, N), 40, "the rest of the work", final)
    finally:
        code = final.terminate()
    assert code == 0, final.log()[-3000:]
    assert kills >= 4, f"the daemon finished before it could be killed {kills} times"

    assert_same_as_uninterrupted(url, url_ref, fake_slack, min_alerts=50)
    assert_no_overlap(url)
