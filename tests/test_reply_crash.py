"""SIGKILL between posting a reply and recording it: after the restart the post exists exactly once.

The real CLI runs in a subprocess against a loopback fake of the platform. The fake keeps the
post, then holds its answer; the test kills the process while it waits (the post has landed, the
database does not know), then runs ``gripewatch run-once``, which finds the reply in doubt and
looks it up before posting again. Posts are counted at the fake.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import write_config
from tests.fakes.answer import PostingBluesky, PostingMastodon

COMPLAINT = "@AcmeHelp my Acme Hub order never arrived, still waiting two weeks later. Where is my refund?"
AGENT = "UAGENT1"
ENV = {"GW_CRASH_MASTODON": "mastodon-token", "GW_CRASH_BSKY": "app-pass-1234"}


def setup(tmp_path: Path, platform: str, fake_url: str) -> tuple[Path, str]:
    ext = "1001" if platform == "mastodon" else "at://did:plc:dana/app.bsky.feed.post/3kabc"
    rec = {"id": ext, "text": COMPLAINT, "author": "dana", "created_at": "2026-11-10T09:00:00Z"}
    (tmp_path / "m.jsonl").write_text(json.dumps(rec) + "\n")
    url = f"sqlite:///{tmp_path / 'g.db'}"
    reply = {
        "mastodon": {"mastodon": {"api_base_url": fake_url, "access_token": "${GW_CRASH_MASTODON}"}},
        "bluesky": {
            "bluesky": {
                "handle": "acme.bsky.social",
                "app_password": "${GW_CRASH_BSKY}",
                "base_url": fake_url + "/xrpc",
            }
        },
    }[platform]
    cfg = write_config(
        tmp_path,
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {platform: "AcmeHelp"}}],
            "sources": [{"name": "replay", "type": "replay", "path": "m.jsonl", "platform": platform}],
            "staff": [{"slack_id": AGENT, "name": "Ann"}],
            "reply": {"enabled": True, **reply},
        },
    )
    return cfg, url


def cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gripewatch", *args],
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def state(url: str) -> dict[str, object]:
    eng = create_engine(url)
    with eng.connect() as c:
        reply = c.execute(text("SELECT status, external_id FROM replies")).one()
        row = c.execute(text("SELECT attempts, sent_at IS NOT NULL FROM outbox WHERE kind = 'reply'")).one()
        first = c.execute(text("SELECT first_response_at IS NOT NULL FROM cases")).scalar()
        events = c.execute(text("SELECT count(*) FROM case_events WHERE kind = 'reply_posted'")).scalar()
    eng.dispose()
    return {"reply": tuple(reply), "outbox": tuple(row), "first_response": bool(first), "posted_events": events}


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_sigkill_between_posting_and_recording_gives_exactly_one_post(tmp_path: Path, platform: str) -> None:
    fake = (PostingMastodon() if platform == "mastodon" else PostingBluesky()).start()
    try:
        cfg, url = setup(tmp_path, platform, fake.base_url)
        ingest = cli("run-once", "--config", str(cfg))
        _, err = ingest.communicate(timeout=120)
        assert ingest.returncode == 0, err.decode()

        fake.hold = True
        proc = cli(
            "cases", "reply", "1", "--text", "Hi Dana, sorry! Checking it now.", "--as", AGENT, "--config", str(cfg)
        )
        deadline = time.monotonic() + 60
        while not fake.created and time.monotonic() < deadline:  # the post has landed; its answer is held
            assert proc.poll() is None, proc.communicate()[1].decode()
            time.sleep(0.02)
        assert len(fake.created) == 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        fake.hold = False
        fake.release.set()
        assert state(url) == {
            "reply": ("queued", None),
            "outbox": (1, False),
            "first_response": False,
            "posted_events": 0,
        }

        again = cli("run-once", "--config", str(cfg))
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()
        assert len(fake.created) == 1, "the reply was posted twice"
        after = state(url)
        assert after["reply"][0] == "posted" and after["reply"][1]  # type: ignore[index]
        assert after["outbox"] == (2, True) and after["first_response"] and after["posted_events"] == 1
        if platform == "bluesky":  # looked up in the account's records, not posted again
            assert any(p.endswith("com.atproto.repo.listRecords") for _, p, _ in fake.requests)
        else:  # posted again with the same Idempotency-Key: the server answered with the first status
            posts = [r for r in fake.requests if r[:2] == ("POST", "/api/v1/statuses")]
            assert len(posts) == 2 and len(fake.keys) == 1  # type: ignore[attr-defined]
    finally:
        fake.release.set()
        fake.stop()
