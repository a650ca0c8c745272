"""SIGKILL in the middle of a batch loses nothing and duplicates nothing.

The real CLI runs in a subprocess against a fake Slack on 127.0.0.1; it is
killed again and again while it ingests and alerts, then allowed to finish.
The database and the Slack messages must equal those of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

from tests.conftest import word, write_config
from tests.fakes.slack import FakeSlack

N = 1500


def records() -> list[dict]:
    """1,500 live posts of the last few minutes (SLA clocks count from the post; older ones are a backlog)."""
    rng = random.Random(7)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    out = []
    for i in range(N):
        author = f"cust{rng.randrange(400)}"
        kind = rng.random()
        tag = word(i)  # a word of its own, so no two posts are copies
        if kind < 0.5:
            t = f"@AcmeHelp acme cloud sync failed again for project {tag}, still not working. Refund me!"
        elif kind < 0.8:
            t = f"acme cloud backup of {tag} done, lovely"
        else:
            t = f"anyone tried acme hub with {tag}?"
        out.append(
            {
                "id": f"c{i}",
                "text": t,
                "author": author,
                "created_at": (base + timedelta(milliseconds=100 * i)).isoformat(),
                "url": f"https://x.com/{author}/status/{i}",
            }
        )
    return out


def setup_run(tmp_path: Path, name: str, fake: FakeSlack, recs: list[dict]) -> tuple[Path, str]:
    import json

    folder = tmp_path / name
    folder.mkdir()
    fake.add_channel(f"#{name}")
    fake.add_channel(f"#{name}-esc")
    (folder / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    url = f"sqlite:///{folder / 'g.db'}"
    cfg = write_config(
        folder,
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "sources": [{"name": "replay", "type": "replay", "path": "m.jsonl", "page_size": 25}],
            "slack": {
                "mode": "api",
                "token": "${GW_CRASH_TOKEN}",
                "base_url": fake.base_url,
                "channels": {"alerts": f"#{name}", "escalations": f"#{name}-esc"},
            },
            "outbox": {"per_channel_per_second": 0},  # Slack pacing is test_outbox_pacing's; here: crashes
        },
    )
    return cfg, url


def run_cli(cfg: Path) -> subprocess.Popen:
    env = {**os.environ, "GW_CRASH_TOKEN": "xoxb-crash-test"}
    return subprocess.Popen(
        [sys.executable, "-m", "gripewatch", "run-once", "--config", str(cfg), "--wait", "60"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def snapshot(url: str) -> dict:
    eng = create_engine(url)
    with eng.connect() as c:
        mentions = sorted(c.execute(text("SELECT external_id, is_complaint, case_id IS NOT NULL FROM mentions")).all())
        cases = sorted(
            c.execute(
                text("SELECT a.key, c.mention_count, c.status FROM cases c JOIN authors a ON a.id = c.author_id")
            ).all()
        )
        outbox = sorted(c.execute(text("SELECT key, kind, sent_at IS NOT NULL, dead FROM outbox")).all())
    eng.dispose()
    return {"mentions": mentions, "cases": cases, "outbox": outbox}


def assert_same_as_uninterrupted(url: str, url_ref: str, fake: FakeSlack, min_alerts: int) -> None:
    """The killed run's database and Slack messages (#killed) equal the uninterrupted run's (#ref)."""
    got, want = snapshot(url), snapshot(url_ref)
    for part in want:
        assert set(got[part]) ^ set(want[part]) == set(), part
    assert got == want
    ref_keys, got_keys = sent_keys(fake, "#ref"), sent_keys(fake, "#killed")
    assert max(got_keys.values()) == 1, "an alert was posted twice"
    assert set(got_keys) == set(ref_keys) and len(got_keys) > min_alerts


def progress(url: str) -> int:
    """Mentions stored plus alerts delivered so far (0 before the schema exists)."""
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return (
                c.execute(
                    text(
                        "SELECT (SELECT count(*) FROM mentions) + "
                        "(SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL)"
                    )
                ).scalar()
                or 0
            )
    except Exception:
        return 0
    finally:
        eng.dispose()


def sent_keys(fake: FakeSlack, channel_prefix: str) -> Counter:
    return Counter(
        m["metadata"]["event_payload"]["key"] for m in fake.posted() if m["channel"].startswith(channel_prefix)
    )


def test_sigkill_during_ingest_and_alerting_loses_and_duplicates_nothing(tmp_path: Path, fake_slack: FakeSlack) -> None:
    recs = records()
    cfg_ref, url_ref = setup_run(tmp_path, "ref", fake_slack, recs)
    ref = run_cli(cfg_ref)
    _, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err.decode()

    cfg, url = setup_run(tmp_path, "killed", fake_slack, recs)
    rng = random.Random(11)
    kills = 0
    seen = 0
    while kills < 10:
        proc = run_cli(cfg)
        while proc.poll() is None and progress(url) <= seen:  # wait until it has done some new work
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.25))  # then kill it somewhere inside a page or a delivery
        if proc.poll() is not None:
            proc.communicate()
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        kills += 1
        seen = progress(url)
    final = run_cli(cfg)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert kills >= 5, f"the runs finished before they could be killed {kills} times"

    assert_same_as_uninterrupted(url, url_ref, fake_slack, min_alerts=100)
    eng = create_engine(url)
    with eng.connect() as c:
        assert (
            c.execute(select(text("count(*)")).select_from(text("outbox")).where(text("sent_at IS NULL"))).scalar() == 0
        )
    eng.dispose()


def test_two_concurrent_run_once_never_double_process(tmp_path: Path, fake_slack: FakeSlack) -> None:
    recs = records()[:600]
    cfg_ref, url_ref = setup_run(tmp_path, "solo", fake_slack, recs)
    solo = run_cli(cfg_ref)
    _, err = solo.communicate(timeout=300)
    assert solo.returncode == 0, err.decode()

    cfg, url = setup_run(tmp_path, "pair", fake_slack, recs)
    a, b = run_cli(cfg), run_cli(cfg)
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert snapshot(url) == snapshot(url_ref)
    got = sent_keys(fake_slack, "#pair")
    assert max(got.values()) == 1 and set(got) == set(sent_keys(fake_slack, "#solo"))
