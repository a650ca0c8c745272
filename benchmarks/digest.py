"""Digest and dashboard at scale: 1,000,000 mentions in SQLite.

Generates a year-like history (26 weeks, a weekly rhythm, ~10 % complaints,
cases for complaints, resolved except the last fortnight) with bulk
``executemany`` inserts, then measures:

* building the weekly digest (load + build + chart): target ≤ 5 s;
* the dashboard's case queue page (logged in, HTTP through the real app), p95
  over repeated requests with and without filters: target ≤ 200 ms; free-text
  searches are timed and printed apart (no text index yet: not in the target);
* the case page's p95 over HTTP to a real uvicorn server, idle and while other
  requests render the web digest back to back: target ≤ 100 ms while a digest
  renders (handlers run in Starlette's threadpool, never on the event loop).

Run: python benchmarks/digest.py [--mentions 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gripewatch.config import settings_from_dict  # noqa: E402
from gripewatch.dashboards.auth import hash_password  # noqa: E402
from gripewatch.dashboards.load import make_digest  # noqa: E402
from gripewatch.dashboards.web import create_app  # noqa: E402
from gripewatch.db import open_database  # noqa: E402

TOPICS = ["billing", "outage", "delivery", "login", "app crash", "refund", "support"]
TEXTS = {
    "billing": "charged twice for my subscription again, fix it",
    "outage": "service is down again, nothing loads",
    "delivery": "my order never arrived and tracking shows nothing",
    "login": "cannot log in since the update",
    "app crash": "the app keeps crashing when I open settings",
    "refund": "still waiting on my refund after three weeks",
    "support": "nobody answers in the support chat",
}
PRAISE = ["love the new update", "great service today", "anyone tried the new hub?", "just ordered the new model"]
AGENTS = ["ana", "ben", "chen", "dara", "eli"]
END = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday: the digest covers the week before


def ts(d: datetime) -> str:
    return d.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def generate(db_file: Path, n: int, weeks: int = 26, seed: int = 7) -> tuple[int, int]:
    rnd = random.Random(seed)
    con = sqlite3.connect(db_file)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    n_authors = max(1000, n // 20)
    start = END - timedelta(weeks=weeks)
    with con:
        con.executemany(
            "INSERT INTO authors (id, platform, key, handle, display_name, followers, tier, first_seen_at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                (i, "x", f"u{i}", f"user{i}", f"User {i}", int(rnd.paretovariate(1.2) * 50),
                 "vip" if i % 997 == 0 else None, ts(start))
                for i in range(1, n_authors + 1)
            ),
        )  # fmt: skip
    span = (END - start).total_seconds()
    mentions, cases, events = [], [], []
    case_id = 0
    for i in range(1, n + 1):
        # weekly rhythm: weekdays busier, office hours busier
        while True:
            at = start + timedelta(seconds=rnd.random() * span)
            if rnd.random() < (0.9 if at.weekday() < 5 else 0.5) * (1.0 if 8 <= at.hour < 20 else 0.4):
                break
        author = rnd.randint(1, n_authors)
        complaint = rnd.random() < 0.10
        topic = rnd.choice(TOPICS) if complaint else None
        text = f"@AcmeHelp {TEXTS[topic]} #{i}" if topic else f"{rnd.choice(PRAISE)} acme #{i}"
        cid = None
        if complaint:
            case_id += 1
            cid = case_id
            opened = at + timedelta(minutes=rnd.randint(1, 10))
            recent = at > END - timedelta(days=14)
            fr = None if recent and rnd.random() < 0.6 else opened + timedelta(minutes=rnd.expovariate(1 / 45))
            resolved = None if recent else opened + timedelta(hours=rnd.expovariate(1 / 20))
            prio = rnd.choices(["critical", "high", "normal", "low"], [1, 5, 60, 34])[0]
            cases.append(
                (cid, "Acme", author, "new" if recent and not fr else ("acknowledged" if recent else "resolved"),
                 prio, 0.0, "medium", text[:280], rnd.choice(AGENTS) if fr else None, ts(opened), ts(opened),
                 ts(fr) if fr else None, ts(resolved) if resolved else None, 1)
            )  # fmt: skip
            events.append((cid, ts(opened), "gripewatch", "opened", "{}"))
            if resolved:
                events.append((cid, ts(resolved), rnd.choice(AGENTS), "resolved", "{}"))
        analysis = json.dumps({"topics": [topic] if topic else [], "escalation": [], "reasons": []})
        mentions.append(
            (i, "x-search", "x", str(i), "Acme", author, f"https://x.com/u/status/{i}", text, "en", ts(at), ts(at),
             0, 0, "{}", "{}", rnd.uniform(-0.9, -0.2) if complaint else rnd.uniform(-0.2, 0.9),
             0.9 if complaint else 0.1, int(complaint), "medium" if complaint else "low", analysis, cid)
        )  # fmt: skip
        if len(mentions) >= 50_000:
            _flush(con, mentions, cases, events)
    _flush(con, mentions, cases, events)
    con.execute("ANALYZE")
    con.close()
    return n, case_id


def _flush(con: sqlite3.Connection, mentions: list, cases: list, events: list) -> None:  # type: ignore[type-arg]
    with con:
        con.executemany(
            "INSERT INTO cases (id, brand, author_id, status, priority, priority_score, severity, summary, assignee,"
            " opened_at, updated_at, first_response_at, resolved_at, mention_count)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            cases,
        )
        con.executemany(
            "INSERT INTO mentions (id, source, platform, external_id, brand, author_id, url, text, lang, created_at,"
            " collected_at, is_repost, is_own, raw, provenance, sentiment, complaint_probability, is_complaint,"
            " severity, analysis, case_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            mentions,
        )
        con.executemany("INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?,?,?,?,?)", events)
    mentions.clear()
    cases.clear()
    events.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="Keep the database in this folder.")
    ap.add_argument("--requests", type=int, default=60)
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="gripewatch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "bench.db"
    url = f"sqlite:///{db_file}"
    pw = "bench-password"
    settings = settings_from_dict(
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "sources": [{"name": "x-search", "type": "replay", "path": str(ROOT / "gripewatch/demo/mentions.jsonl")}],
            "dashboard": {
                "secret_key": secrets.token_urlsafe(32),
                "users": [{"username": "ana", "password_hash": hash_password(pw)}],
            },
        },
        folder / "config.yaml",
    )
    if not db_file.exists():
        db = open_database(url)  # creates the schema (migrations, indexes)
        db.dispose()
        t = time.perf_counter()
        n, n_cases = generate(db_file, args.mentions)
        print(f"generated {n:,} mentions and {n_cases:,} cases in {time.perf_counter() - t:.1f} s ({db_file})")
    db = open_database(url)

    now = END + timedelta(hours=8)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        digest, chart = make_digest(db, settings, "last-week", now)
        runs.append(time.perf_counter() - t)
    print(
        f"weekly digest ({digest.total.mentions:,} mentions, {digest.total.complaints:,} complaints in the week, "
        f"{len(digest.problems)} problems, {len(digest.spikes)} spikes, chart {len(chart) // 1024} KiB): "
        f"best {min(runs):.2f} s, worst {max(runs):.2f} s (target ≤ 5 s) {'OK' if max(runs) <= 5 else 'TOO SLOW'}"
    )

    from starlette.testclient import TestClient

    with TestClient(create_app(settings, db, now=lambda: now), base_url="http://127.0.0.1") as c:
        import re

        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"username": "ana", "password": pw, "csrf": token})
        queries = ["", "?priority=high", "?sla=breached", "?assignee=none", "?topic=billing", "?status=all",
                   "?status=all&page=200", "?source=x-search&priority=critical"]  # fmt: skip
        times: dict[str, list[float]] = {q: [] for q in queries}
        for i in range(args.requests):
            q = queries[i % len(queries)]
            t = time.perf_counter()
            r = c.get(f"/cases{q}")
            times[q].append(time.perf_counter() - t)
            assert r.status_code == 200 and 'id="total"' in r.text, r.status_code
        # free-text search reads post text no index covers: measured apart, not part of the target above
        searches = ["?q=refund", "?status=all&q=refund", "?status=all&q=user4242"]
        searched: dict[str, list[float]] = {q: [] for q in searches}
        for i in range(3 * len(searches)):
            q = searches[i % len(searches)]
            t = time.perf_counter()
            r = c.get(f"/cases{q}")
            searched[q].append(time.perf_counter() - t)
            assert r.status_code == 200 and 'id="total"' in r.text, r.status_code
    every = sorted(x for v in times.values() for x in v)
    p95 = every[int(0.95 * (len(every) - 1))]
    print(f"queue page over {len(every)} requests: median {statistics.median(every) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms (target ≤ 200 ms) {'OK' if p95 <= 0.2 else 'TOO SLOW'}")  # fmt: skip
    for q, v in times.items():
        print(f"  /cases{q or ''}: median {statistics.median(v) * 1000:.0f} ms, max {max(v) * 1000:.0f} ms")
    print("queue search (no text index yet; not in the target):")
    for q, v in searched.items():
        print(f"  /cases{q}: median {statistics.median(v) * 1000:.0f} ms, max {max(v) * 1000:.0f} ms")
    case_page_under_digest(settings, db, now, pw, args.requests)
    db.dispose()


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[int(0.95 * (len(xs) - 1))]


def case_page_under_digest(settings, db, now: datetime, pw: str, n: int) -> None:  # type: ignore[no-untyped-def]
    """The case page's p95 on a real server: idle, then while the web digest renders again and again."""
    import re
    import socket
    import threading

    import httpx
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db, now=lambda: now), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"

    def client() -> httpx.Client:
        c = httpx.Client(base_url=base, timeout=120)
        token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"username": "ana", "password": pw, "csrf": token})
        return c

    reader, digester = client(), client()
    case_id = 1

    def measure() -> list[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            r = reader.get(f"/cases/{case_id}")
            out.append(time.perf_counter() - t)
            assert r.status_code == 200 and "Conversation" in r.text, r.status_code
            time.sleep(0.01)
        return out

    idle = measure()
    stop, digests = threading.Event(), [0]

    def render_digests() -> None:
        while not stop.is_set():
            assert digester.get("/digest?period=last-week").status_code == 200
            digests[0] += 1

    worker = threading.Thread(target=render_digests, daemon=True)
    worker.start()
    time.sleep(0.3)  # a digest is under way
    busy = measure()
    stop.set()
    worker.join(120)
    server.should_exit = True
    p_idle, p_busy = _p95(idle), _p95(busy)
    print(
        f"case page p95 over {n} requests: idle {p_idle * 1000:.0f} ms, while the web digest renders "
        f"({digests[0]} digests meanwhile) {p_busy * 1000:.0f} ms (target ≤ 100 ms) "
        f"{'OK' if p_busy <= 0.1 else 'TOO SLOW'}"
    )


if __name__ == "__main__":
    main()
