"""The database is unavailable at start or goes away mid-run: a clear error, retries with
back-off, no exit (so no crash loop), and once it is back nothing is lost or sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.fakes.slack import FakeSlack
from tests.fakes.tcpproxy import TcpProxy
from tests.serve_helpers import Serve, assert_no_overlap, done, query, serve_config, wait_until
from tests.test_crash import progress, records, sent_keys

N = 300


def assert_complete(url: str, fake: FakeSlack, channel: str) -> None:
    assert query(url, "SELECT count(*), count(DISTINCT external_id) FROM mentions") == [(N, N)]
    keys = sent_keys(fake, f"#{channel}")
    assert keys and max(keys.values()) == 1, "an alert was posted twice"
    # card updates edit the case's message in place (chat.update); every other alert is a message of its own
    sent = query(url, "SELECT key FROM outbox WHERE sent_at IS NOT NULL AND kind <> 'card_update'")
    assert set(keys) == {k for (k,) in sent}
    assert_no_overlap(url)


def test_sqlite_database_unavailable_at_start(tmp_path: Path, fake_slack: FakeSlack) -> None:
    folder = tmp_path / "not-mounted-yet"
    cfg, _ = serve_config(tmp_path, "lite", fake_slack, records()[:N], url=f"sqlite:///{folder / 'g.db'}")
    url = f"sqlite:///{folder / 'g.db'}"
    proc = Serve(cfg)
    try:
        wait_until(lambda: proc.count("retrying in") >= 3, 20, "three announced retries", proc)
        assert "cannot reach the database" in proc.log()
        assert proc.alive()
        folder.mkdir()  # the volume appears
        wait_until(lambda: done(url, N), 40, "ingest and delivery once the database is there", proc)
    finally:
        code = proc.terminate()
    assert code == 0, proc.log()[-3000:]
    assert "Traceback" not in proc.log()
    assert_complete(url, fake_slack, "lite")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_unavailable_at_start_and_mid_run(tmp_path: Path, fake_slack: FakeSlack, db_url: str) -> None:
    real = make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    via_proxy = db_url.replace(f"{real.host}:{real.port}", f"127.0.0.1:{proxy.port}")
    cfg, _ = serve_config(
        tmp_path,
        "pgdown",
        fake_slack,
        records()[:N],
        url=via_proxy,
        database={"url": via_proxy, "connect_timeout_seconds": 2},
    )
    proc = Serve(cfg)
    try:
        # at start: nothing listens where the database should be
        wait_until(lambda: proc.count("retrying in") >= 2, 20, "announced retries at start", proc)
        assert "cannot reach the database" in proc.log()
        proxy.start()
        wait_until(lambda: progress(db_url) > 0, 30, "work once the database is up", proc)
        # mid-run: every connection is cut and new ones are refused
        proxy.cut()
        before = proc.count("database unavailable")
        wait_until(lambda: proc.count("database unavailable") > before, 20, "the outage noticed", proc)
        wait_until(lambda: proc.count("database unavailable") > before + 1, 20, "a retry during the outage", proc)
        assert proc.alive()
        proxy.restore()
        wait_until(lambda: done(db_url, N), 40, "the rest of the work after the outage", proc)
    finally:
        code = proc.terminate()
        proxy.stop()
    assert code == 0, proc.log()[-3000:]
    assert "database is reachable again" in proc.log()
    assert_complete(db_url, fake_slack, "pgdown")
