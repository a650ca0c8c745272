"""Reading CSV or JSON-lines files of records, tolerant of bad rows.

``read_records(path)`` yields ``(row_number, record_or_error)`` in file order:
a dict per good row, a ValueError (with the reason) per bad one. Invalid UTF-8
is replaced, NUL bytes dropped; the file never stops half-way on a bad row.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gripewatch.errors import InputError

csv.field_size_limit(sys.maxsize)


def file_format(path: Path) -> str:
    return "csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl"


def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | ValueError]]:
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8", errors="replace", newline="")
    except OSError as e:
        raise InputError(f"cannot read {p}: {e.strerror or e}") from None
    with fh:
        if file_format(p) == "csv":
            lines = (line.replace("\0", "") for line in fh)
            reader = csv.DictReader(lines, delimiter="\t" if p.suffix.lower() == ".tsv" else ",")
            try:
                for n, row in enumerate(reader, start=1):
                    yield n, row
            except csv.Error as e:
                raise InputError(f"{p}: CSV error near line {reader.line_num}: {e}") from None
            return
        n = 0
        for line in fh:
            if not line.strip():
                continue
            n += 1
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, ValueError(f"not valid JSON ({e.msg})")
                continue
            yield n, rec if isinstance(rec, dict) else ValueError("row is not a JSON object")
