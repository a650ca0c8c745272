"""Labelled rows for training and evaluation, read from CSV or JSON lines."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gripewatch.analysis.text import normalise


class DataError(ValueError):
    """A labelled file cannot be read: missing column, bad JSON line, no rows."""


@dataclass(frozen=True)
class Row:
    """One labelled text. ``label`` is 1 for a complaint; ``domain`` is optional grouping."""

    text: str
    label: int
    domain: str = ""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        first = fh.read(1)
        fh.seek(0)
        if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} or first == "{":
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise DataError(f"{path}:{n}: not a JSON object: {exc}") from None
        else:
            yield from csv.DictReader(fh)


def _is_positive(value: object, positive: str) -> bool:
    s = str(value).strip().lower()
    pos = str(positive).strip().lower()
    return s == pos or (pos in {"1", "true"} and s in {"1", "true", "1.0", "yes"})


def load_rows(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    positive: str = "1",
    domain_column: str = "domain",
    domain: str = "",
) -> list[Row]:
    """Read labelled rows from a CSV (header row) or JSON-lines file.

    A row is a complaint when its label equals ``positive`` (case-insensitive;
    "1" also accepts true/yes). ``domain`` is used when the file has no
    ``domain_column``. Raises :class:`DataError` on a missing column or no rows.
    """
    path = Path(path)
    rows = []
    for n, rec in enumerate(_records(path), 1):
        if text_column not in rec or label_column not in rec:
            raise DataError(f"{path}: row {n} lacks column {text_column!r} or {label_column!r}")
        rows.append(
            Row(
                normalise(rec[text_column]),
                int(_is_positive(rec[label_column], positive)),
                str(rec.get(domain_column) or domain),
            )
        )
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows
