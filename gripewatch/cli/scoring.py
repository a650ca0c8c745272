"""``gripewatch score``: score a CSV/JSONL file in batches, one JSON line out per row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from gripewatch.analysis import AnalysisSettings, analyse_batch
from gripewatch.records import read_records

BATCH = 1_000


def score_file(
    path: Path, text_column: str, id_column: str, settings: AnalysisSettings, out: TextIO
) -> tuple[int, int]:
    """Score every row of ``path`` into ``out``; return (rows, rows with errors)."""
    rows = errors = 0
    for batch in _batches(read_records(path)):
        good = []
        for _n, rec in batch:
            if isinstance(rec, ValueError):
                continue
            text = rec.get(text_column)
            if isinstance(text, str | int | float) and not isinstance(text, bool):
                good.append(str(text))
        results = iter(analyse_batch(good, settings))
        for n, rec in batch:
            rows += 1
            line = _line(n, rec, text_column, id_column, results)
            errors += "error" in line
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return rows, errors


def _line(
    n: int, rec: dict[str, Any] | ValueError, text_column: str, id_column: str, results: Iterator[Any]
) -> dict[str, Any]:
    if isinstance(rec, ValueError):
        return {"id": None, "row": n, "error": str(rec)}
    row_id = rec.get(id_column, n)
    text = rec.get(text_column)
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        what = "missing" if text is None else f"not text ({type(text).__name__})"
        return {"id": row_id, "row": n, "error": f"column {text_column!r} is {what}"}
    a = asdict(next(results))
    return {"id": row_id, **{k: list(v) if isinstance(v, tuple) else v for k, v in a.items()}}


def _batches(it: Iterator[Any]) -> Iterator[list[Any]]:
    batch = []
    for item in it:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
