"""Alert latency under the daemon: a burst of complaints, from being stored to reaching Slack.

Starts the real ``gripewatch serve`` (subprocess, SQLite, replay source polled
every second, Slack in api mode against the fake Slack server of the tests),
waits until it runs, appends a burst of 100 complaints from 100 customers to
the replay file, and waits for the 100 alerts. Latency per alert = when the
fake Slack received chat.postMessage minus the mention's ``collected_at``
(set before the page is analysed and committed, so this slightly
over-states it). Prints p50/p95/max; the target is p95 <= 1 s.

    python benchmarks/latency.py [--burst 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import word  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.serve_helpers import Serve, append_records, query, serve_config, wait_until  # noqa: E402


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each alert (by idempotency key) arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def handle(self, method: str, args: dict[str, Any], auth: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        out = super().handle(method, args, auth)
        if method == "chat.postMessage" and out[1].get("ok"):
            key = ((args.get("metadata") or {}).get("event_payload") or {}).get("key")
            self.arrived.setdefault(key, time.time())
        return out


def burst(round_no: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"b{round_no}-{i}",
            "text": (
                f"@AcmeHelp acme cloud has been down for hours, ticket {word(round_no * 1000 + i)}, "
                "nobody answers. Fix it!"  # a word of its own per post: they are not copies of one another
            ),
            "author": f"burst{round_no}_{i}",
            "created_at": datetime.now(UTC).isoformat(),
        }
        for i in range(n)
    ]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    slack = TimedSlack().start()
    tmp = Path(tempfile.mkdtemp(prefix="gripewatch-latency-"))
    cfg, url = serve_config(tmp, "lat", slack, [])
    daemon = Serve(cfg)
    latencies: list[float] = []
    try:
        wait_until(lambda: daemon.count("scheduler running") > 0, 30, "the daemon to start", daemon)
        wait_until(lambda: bool(query(url, "SELECT 1 FROM job_runs WHERE outcome = 'ok'")), 30, "a first run", daemon)
        for r in range(args.rounds):
            before = len(slack.arrived)
            append_records(cfg, burst(r, args.burst))
            want = before + args.burst
            wait_until(lambda want=want: len(slack.arrived) >= want, 60, f"{args.burst} alerts", daemon)
            rows = query(
                url,
                "SELECT o.key, min(m.collected_at) FROM outbox o JOIN mentions m ON m.case_id = o.case_id "
                f"WHERE o.kind = 'new_case' AND m.external_id LIKE 'b{r}-%' GROUP BY o.key",
            )
            for key, stored in rows:
                at = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
                latencies.append(slack.arrived[key] - at.replace(tzinfo=at.tzinfo or UTC).timestamp())
    finally:
        code = daemon.terminate()
        slack.stop()
    if code != 0:
        print(daemon.log()[-2000:], file=sys.stderr)
    n = len(latencies)
    p50, p95, worst = statistics.median(latencies), pct(latencies, 95), max(latencies)
    print(f"alerts: {n} ({args.rounds} bursts of {args.burst} complaints), daemon exit code {code}")
    print(f"stored -> Slack latency: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    print(f"target p95 <= 1000 ms: {'PASS' if p95 <= 1.0 else 'FAIL'}")
    return 0 if p95 <= 1.0 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
