"""Outbox delivery rate: queued alerts delivered to the fake Slack with the real slack_sdk client, pacing off.

    python benchmarks/delivery.py [--alerts 10000] [--postgres URL]

Queues ``--alerts`` alerts (half new cases, half updates in their threads, with the card payloads the
pipeline writes) in a fresh SQLite database -- and, when ``GRIPEWATCH_TEST_POSTGRES_URL`` or
``--postgres`` is set, in a schema of its own on PostgreSQL, dropped after the run -- then runs
``alerts.outbox.dispatch`` with ``SlackNotifier`` (``slack_sdk.WebClient``) against the fake Slack server
of the tests, started in a process of its own on 127.0.0.1 so that its work is not ours. Prints the
wall-clock rate, the time spent inside the Slack client (request, loopback HTTP, the fake's answer) and
the rate of our own work (wall time minus that), with SQL statements per alert. Target: ≥ 1,000
alerts/s of our own work.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import pg_schema  # noqa: E402

FAKE = """
import sys, time
from tests.fakes.slack import FakeSlack
fake = FakeSlack().start()
fake.add_channel("#care"); fake.add_channel("#esc")
print(fake.base_url, flush=True)
sys.stdin.read()
"""


def settings_for(url: str, base_url: str, data: Path):  # type: ignore[no-untyped-def]
    from gripewatch.config import settings_from_dict

    return settings_from_dict(
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "sources": [{"name": "bench", "type": "replay", "path": str(data), "platform": "x"}],
            "slack": {
                "mode": "api",
                "token": "xoxb-bench",
                "base_url": base_url,
                "channels": {"alerts": "#care", "escalations": "#esc"},
            },
            "outbox": {"per_channel_per_second": 0},
            "incidents": {"enabled": False},
        },
        data.parent / "config.yaml",
    )


def queue(db: Any, settings: Any, data: Path, n: int) -> None:
    """``n`` queued alerts: the pipeline's payloads for one case, copied to ``n // 2`` cases."""
    import json

    from sqlalchemy import delete, insert, select

    from gripewatch.models import Case, Outbox
    from gripewatch.pipeline import run_source

    at = datetime.now(UTC) - timedelta(minutes=5)
    posts = [
        {"id": "p1", "text": "@AcmeHelp my acme hub order never arrived, two weeks now. Refund me!", "author": "ana"},
        {
            "id": "p2",
            "text": "@AcmeHelp still nothing about my acme order, this is really bad service",
            "author": "ana",
        },
    ]
    data.write_text("".join(json.dumps({**p, "created_at": at.isoformat()}) + "\n" for p in posts), encoding="utf-8")
    run_source(db, settings, settings.sources[0])
    with db.sessions() as s, s.begin():
        case = s.scalars(select(Case)).one()
        template = {r.kind: r for r in s.scalars(select(Outbox).where(Outbox.case_id == case.id))}
        cols = {c.name: getattr(case, c.key) for c in Case.__table__.columns if c.name != "id"}
        s.execute(delete(Outbox))
        for start in range(0, n // 2, 1000):
            ids = list(
                s.scalars(insert(Case).returning(Case.id), [cols for _ in range(start, min(n // 2, start + 1000))])
            )
            rows = [
                {
                    "key": f"{kind}:bench:{cid}",
                    "kind": kind,
                    "channel": template[kind].channel,
                    "payload": {**template[kind].payload, "case_id": cid},
                    "case_id": cid,
                    "created_at": at,
                    "next_attempt_at": at,
                }
                for cid in ids
                for kind in ("new_case", "case_update")
            ]
            s.execute(insert(Outbox), rows)


def deliver(url: str, base_url: str, tmp: Path, n: int) -> dict[str, Any]:
    from sqlalchemy import event, func, select

    from gripewatch.alerts.outbox import dispatch
    from gripewatch.alerts.slack import SlackNotifier
    from gripewatch.db import open_database
    from gripewatch.models import Outbox

    settings = settings_for(url, base_url, tmp / "posts.jsonl")
    db = open_database(url)
    queue(db, settings, tmp / "posts.jsonl", n)
    notifier = SlackNotifier.from_config(settings)
    in_client = [0.0]
    api_call = notifier.client.api_call

    def timed(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return api_call(*a, **kw)
        finally:
            in_client[0] += time.perf_counter() - t0

    notifier.client.api_call = timed  # type: ignore[method-assign]
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    result = dispatch(db.sessions, notifier, settings.outbox)
    wall = time.perf_counter() - t0
    with db.sessions() as s:
        left = s.scalar(select(func.count(Outbox.id)).where(Outbox.sent_at.is_(None)))
    db.dispose()
    return {"result": result, "wall": wall, "client": in_client[0], "statements": statements[0], "left": left}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--postgres", default=os.environ.get("GRIPEWATCH_TEST_POSTGRES_URL"))
    args = ap.parse_args()
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip()
        print(f"alerts: {args.alerts:,}; fake Slack at {base_url} (own process); load average {os.getloadavg()[0]:.1f}")
        with tempfile.TemporaryDirectory() as tmp:
            targets = [("SQLite", f"sqlite:///{tmp}/bench.db", None)]
            if args.postgres:
                url, drop = pg_schema(args.postgres)
                targets.append(("PostgreSQL", url, drop))
            for name, url, drop in targets:
                try:
                    out = deliver(url, base_url, Path(tmp), args.alerts)
                finally:
                    if drop is not None:
                        drop()
                r, wall, client = out["result"], out["wall"], out["client"]
                ours = wall - client
                print(
                    f"{name}: sent {r.sent:,} (failed {r.failed}, left {out['left']}) in {wall:.2f} s = "
                    f"{r.sent / wall:,.0f} alerts/s end to end; {client:.2f} s inside the Slack client; "
                    f"our own work {ours:.2f} s = {r.sent / ours:,.0f} alerts/s (target ≥ 1,000); "
                    f"{out['statements'] / max(1, r.sent):.2f} SQL statements per alert"
                )
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(10)


if __name__ == "__main__":
    main()
