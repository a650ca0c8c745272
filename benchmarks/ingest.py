"""Whole-pipeline ingest rate against raw VADER on the same texts, measured in the same run.

    python benchmarks/ingest.py [--mentions 5000] [--page-size 200]

Builds a replay file of mention-like posts (the bundled demo posts, varied so
that no two are copies), runs the real pipeline (replay → normalise → dedupe →
analyse → cases → outbox, one transaction per page) into a fresh SQLite
database, then times raw ``SentimentIntensityAnalyzer.polarity_scores`` on the
same texts. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from importlib import resources
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from gripewatch.config import settings_from_dict
from gripewatch.db import open_database
from gripewatch.pipeline import run_source


def make_records(n: int) -> list[dict]:
    demo = resources.files("gripewatch").joinpath("demo/mentions.jsonl").read_text("utf-8").splitlines()
    base = [json.loads(x) for x in demo]
    rng = random.Random(1)
    out = []
    for i in range(n):
        r = dict(rng.choice(base))
        tag = "".join(chr(97 + int(d)) for d in str(i))
        r.update(id=f"b{i}", author=f"{r['author']}{i % 997}", text=f"{r['text']} ({tag})")
        out.append(r)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mentions", type=int, default=5000)
    ap.add_argument("--page-size", type=int, default=200)
    args = ap.parse_args()

    records = make_records(args.mentions)
    texts = [r["text"] for r in records]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "m.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        settings = settings_from_dict(
            {
                "database": {"url": f"sqlite:///{tmp}/bench.db"},
                "brands": [{"name": "Acme", "keywords": ["acme", "acme cloud"], "handles": {"x": "AcmeHelp"}}],
                "sources": [
                    {"name": "bench", "type": "replay", "path": str(data), "platform": "x", "page_size": args.page_size}
                ],
            },
            Path(tmp) / "config.yaml",
        )
        db = open_database(settings.database.url)
        from gripewatch.analysis import analyse

        analyse("warm-up: load the model once")
        t0 = time.perf_counter()
        run = run_source(db, settings, settings.sources[0])
        pipeline_s = time.perf_counter() - t0
        db.dispose()

    sia = SentimentIntensityAnalyzer()
    t0 = time.perf_counter()
    for t in texts:
        sia.polarity_scores(t)
    vader_s = time.perf_counter() - t0

    n = len(texts)
    pipe_rate, vader_rate = run.stored / pipeline_s, n / vader_s
    print(f"mentions: {n} (stored {run.stored}, cases opened {run.cases_opened}, updated {run.cases_updated})")
    print(f"pipeline (replay → store → analyse → cases → outbox, SQLite): {pipe_rate:,.0f} mentions/s")
    print(f"raw VADER polarity_scores on the same texts:               {vader_rate:,.0f} texts/s")
    print(f"ratio pipeline / raw VADER: {pipe_rate / vader_rate:.3f}")


if __name__ == "__main__":
    main()
