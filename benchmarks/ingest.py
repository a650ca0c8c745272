"""Whole-pipeline ingest rate against raw VADER on the same texts, measured in the same run.

    python benchmarks/ingest.py [--mentions 100000] [--page-size 200] [--postgres URL] [--no-sqlite]

Writes a realistic replay stream to a temporary file, one line at a time (never held in memory):
several brands, about 35 % complaints (the bundled demo posts, each made unique so that no two are
copies), repeat contacts (a customer writing again while their case is open), a few copies of one
outage text from different customers (incidents), and the brands' own replies to customers. Runs the
real pipeline (replay → normalise → dedupe → analyse → cases → outbox, one transaction per page) into
a fresh SQLite database and, when ``GRIPEWATCH_TEST_POSTGRES_URL`` or ``--postgres`` is set, into a
schema of its own on PostgreSQL (created for the run and dropped after it; nothing else is touched).
Then times raw ``SentimentIntensityAnalyzer.polarity_scores`` on the same texts and prints both rates,
their ratio, SQL statements per mention and the process's peak RSS (targets: ≥ 0.25× VADER on SQLite,
≥ 0.15× on PostgreSQL, ≤ 400 MB at 1,000,000 mentions).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

BRANDS = [("Acme", "AcmeHelp"), ("Globex", "GlobexCare"), ("Initech", "InitechSupport"), ("Umbrella", "UmbrellaHelp")]
COMPLAINT_SHARE = 0.35
REPEAT_SHARE = 0.25  # of complaints: the customer already wrote recently
REPLY_SHARE = 0.06  # of all posts: a brand account answering a recent complaint
COPY_SHARE = 0.01  # of complaints: one outage text posted by many customers


def _demo() -> tuple[list[str], list[str]]:
    """The demo posts split into complaints and the rest (by the shipped model), brand name as ``{b}``."""
    from gripewatch.analysis import analyse_batch

    lines = resources.files("gripewatch").joinpath("demo/mentions.jsonl").read_text("utf-8").splitlines()
    texts = [json.loads(x)["text"] for x in lines]
    results = analyse_batch(texts)
    complaints: list[str] = []
    rest: list[str] = []
    for t, r in zip(texts, results, strict=True):
        if "cme" not in t:
            continue
        t = t.replace("Acme", "{B}").replace("acme", "{b}").replace("ACME", "{B}").replace("AcmeHelp", "{h}")
        (complaints if r.is_complaint else rest).append(t)
    return complaints, rest


def _tag(i: int) -> str:
    return "".join(chr(97 + int(d)) for d in str(i))


def records(n: int, now: datetime, seed: int = 1) -> Iterator[dict[str, Any]]:
    """``n`` replay records in posting order over the last few hours (customer time before ``now``)."""
    rng = random.Random(seed)
    complaints, rest = _demo()
    span = timedelta(hours=6).total_seconds()
    customers = max(50, n // 3)
    recent: list[tuple[str, str, int]] = []  # (author, brand, record index) of recent complaints
    for i in range(n):
        at = now - timedelta(seconds=span * (1 - i / n)) - timedelta(minutes=5)
        brand, handle = rng.choice(BRANDS)
        roll = rng.random()
        rec: dict[str, Any] = {"id": f"m{i}", "created_at": at.isoformat()}
        if roll < REPLY_SHARE and recent:
            author, brand, j = rng.choice(recent[-500:])
            handle = dict(BRANDS)[brand]
            text = f"@{author} sorry to hear that, the {brand} team is looking into it now ({_tag(i)})"
            rec.update(author=handle, text=text, in_reply_to=f"m{j}", conversation_id=f"m{j}")
        elif roll < REPLY_SHARE + COMPLAINT_SHARE:
            if recent and rng.random() < REPEAT_SHARE:
                author, brand, _ = rng.choice(recent[-2000:])
            else:
                author = f"cust{rng.randrange(customers)}"
            if rng.random() < COPY_SHARE:
                text = f"{brand} cloud is down again for everyone in my office and nobody from support answers"
            else:
                text = rng.choice(complaints).format(B=brand, b=brand.lower(), h=dict(BRANDS)[brand])
                text = f"{text} ({_tag(i)})"
            rec.update(author=author, text=text)
            recent.append((author, brand, i))
            if len(recent) > 4000:
                del recent[:2000]
        else:
            author = f"cust{rng.randrange(customers)}"
            text = rng.choice(rest).format(B=brand, b=brand.lower(), h=dict(BRANDS)[brand])
            rec.update(author=author, text=f"{text} ({_tag(i)})")
        rec["followers"] = rng.randrange(5000)
        rec["url"] = f"https://x.com/{rec['author']}/status/{i}"
        yield rec


def settings_for(url: str, data: Path, page_size: int, base: Path):  # type: ignore[no-untyped-def]
    from gripewatch.config import settings_from_dict

    return settings_from_dict(
        {
            "database": {"url": url},
            "brands": [{"name": b, "keywords": [b.lower()], "handles": {"x": h}} for b, h in BRANDS],
            "sources": [
                {"name": "bench", "type": "replay", "path": str(data), "platform": "x", "page_size": page_size}
            ],
        },
        base / "config.yaml",
    )


def ingest(url: str, data: Path, page_size: int, base: Path) -> dict[str, Any]:
    """Run the pipeline once over ``data`` into the (empty) database at ``url``."""
    from sqlalchemy import event

    from gripewatch.db import open_database
    from gripewatch.pipeline import run_source

    settings = settings_for(url, data, page_size, base)
    db = open_database(settings.database.url)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    run = run_source(db, settings, settings.sources[0])
    seconds = time.perf_counter() - t0
    again = time.perf_counter()
    run_source(db, settings, settings.sources[0])  # nothing new: the cost of an idle pass
    idle = time.perf_counter() - again
    db.dispose()
    if run.error:
        raise SystemExit(f"the pipeline failed: {run.error}")
    return {"run": run, "seconds": seconds, "statements": statements[0], "idle": idle}


def run_once_twice(base: Path, url: str, data: Path) -> str:
    """Wall time of ``gripewatch run-once`` (a process of its own, console mode) twice on the ingested database."""
    import subprocess
    import sys

    import yaml

    cfg = base / "run-once.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "database": {"url": url},
                "brands": [{"name": b, "keywords": [b.lower()], "handles": {"x": h}} for b, h in BRANDS],
                "sources": [{"name": "bench", "type": "replay", "path": str(data), "platform": "x"}],
            }
        ),
        encoding="utf-8",
    )
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gripewatch", "--config", str(cfg), "run-once"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
    return (
        f"run-once: {times[0]:.1f} s (delivers the backlog to the console, fires due SLA checks), "
        f"then {times[1]:.2f} s with nothing new (target ≤ 1 s)"
    )


def pg_schema(url: str) -> tuple[str, Any]:
    """A fresh schema of this run's own on the PostgreSQL server at ``url`` (the public schema is never touched)."""
    from sqlalchemy import create_engine, text

    schema = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", lambda: _drop(admin, schema)


def _drop(admin: Any, schema: str) -> None:
    from sqlalchemy import text

    with admin.begin() as c:
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def vader(data: Path, chunk: int = 10_000) -> float:
    """Texts/s of raw VADER over the file's texts (read in chunks; only the scoring is timed)."""
    sia = SentimentIntensityAnalyzer()
    n, seconds = 0, 0.0
    with data.open(encoding="utf-8") as fh:
        while texts := [json.loads(line)["text"] for _, line in zip(range(chunk), fh, strict=False)]:
            t0 = time.perf_counter()
            for t in texts:
                sia.polarity_scores(t)
            seconds += time.perf_counter() - t0
            n += len(texts)
    return n / seconds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, default=100_000)
    ap.add_argument("--page-size", type=int, default=200)
    ap.add_argument("--postgres", default=os.environ.get("GRIPEWATCH_TEST_POSTGRES_URL"))
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument(
        "--run-once",
        action="store_true",
        help="then time `gripewatch run-once` on the SQLite database twice (the second has nothing new)",
    )
    args = ap.parse_args()

    from gripewatch.analysis import analyse

    analyse("warm-up: load the model once")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data = base / "m.jsonl"
        now = datetime.now(UTC)
        with data.open("w", encoding="utf-8") as fh:
            for r in records(args.mentions, now):
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"mentions: {args.mentions:,} (page size {args.page_size}); load average {os.getloadavg()[0]:.1f}")
        rates: dict[str, float] = {}
        targets = [] if args.no_sqlite else [("SQLite", f"sqlite:///{tmp}/bench.db", None)]
        if args.postgres:
            url, drop = pg_schema(args.postgres)
            targets.append(("PostgreSQL", url, drop))
        for name, url, drop in targets:
            try:
                out = ingest(url, data, args.page_size, base)
            finally:
                if drop is not None:
                    drop()
            run = out["run"]
            if args.run_once and name == "SQLite":
                print(run_once_twice(base, url, data))
            rates[name] = run.stored / out["seconds"]
            print(
                f"{name}: stored {run.stored:,} in {out['seconds']:.1f} s = {rates[name]:,.0f} mentions/s; "
                f"cases opened {run.cases_opened:,}, joined {run.cases_updated:,}, complaints {run.complaints:,}, "
                f"quarantined {len(run.skipped)}; {out['statements'] / max(1, run.stored):.2f} SQL statements "
                f"per mention; a second pass with nothing new {out['idle']:.2f} s; peak RSS so far "
                f"{peak_rss_mb():.0f} MB"
            )

        vader_rate = vader(data)
    print(f"raw VADER polarity_scores on the same texts: {vader_rate:,.0f} texts/s")
    for name, rate in rates.items():
        target = 0.25 if name == "SQLite" else 0.15
        print(f"ratio pipeline / raw VADER, {name}: {rate / vader_rate:.3f} (target ≥ {target})")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (target ≤ 400 MB at 1,000,000 mentions)")


if __name__ == "__main__":
    main()
