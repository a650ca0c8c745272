"""Reading CSV or JSON-lines files of records, tolerant of bad rows.

``read_records(path)`` yields ``(row_number, record_or_error)`` in file order:
a dict per good row, a ValueError (with the reason) per bad one. Invalid UTF-8
is replaced, NUL bytes dropped; the file never stops half-way on a bad row.

``csv_records(lines)`` is the CSV reader both use (``score`` and the replay
collector). An unbalanced quote would make the csv module read every following
row into one field, up to the next quote character; a record spanning several
lines is therefore checked, and when its quoted text does not close cleanly
(strict parsing fails, or the file ends inside it), or — in a file of three or
more columns — a later line of it parses as a whole row of its own, the
record's first line is refused ("unbalanced quote") and the lines after it are
read again as rows. A quoted newline in a well-formed file is still one field.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import deque
from collections.abc import Iterable, Iterator
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
            rows = csv_records(lines, "\t" if p.suffix.lower() == ".tsv" else ",")
            for n, (_line, row, _text) in enumerate(rows, start=1):
                yield n, row
            return
        n = 0
        for line in fh:
            if not line.strip():
                continue
            n += 1
            rec = json_record(line)
            yield n, rec if isinstance(rec, dict | ValueError) else ValueError("row is not a JSON object")


def json_record(line: str) -> Any:
    """One JSON line parsed, or a ValueError saying why it is not JSON (never raises)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        return ValueError(f"not valid JSON ({e.msg})")
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        return ValueError(f"not valid JSON ({str(e)[:100]})")
    except RecursionError:
        return ValueError("not valid JSON (nested too deeply)")


class _Lines:
    """Physical lines, numbered, with push-back; remembers the ones the csv reader took."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.source, self.n, self.eof = iter(lines), 0, False
        self.back: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.back:
            item = self.back.popleft()
        else:
            try:
                line = next(self.source)
            except StopIteration:
                self.eof = True
                raise
            self.n += 1
            item = (self.n, line)
        self.taken.append(item)
        return item[1]

    def again(self, items: list[tuple[int, str]]) -> None:
        self.back.extendleft(reversed(items))


def csv_records(lines: Iterable[str], delimiter: str = ",") -> Iterator[tuple[int, dict[str, Any] | ValueError, Any]]:
    """``(line number, row or error, raw)`` per record after the header row; never raises.

    A row is a dict by header name (extra fields under ``None``, missing ones None, as
    csv.DictReader does); ``raw`` is the row, or the physical line of a refused record.
    """
    src = _Lines(lines)
    reader = csv.reader(src, delimiter=delimiter)
    header: list[str] | None = None
    while True:
        src.taken = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            first = src.taken[0] if src.taken else (src.n, "")
            src.again(src.taken[1:])
            yield first[0], ValueError(f"line {first[0]}: not CSV ({e})"), first[1]
            continue
        taken = src.taken
        if not row:
            continue
        if header is None:
            header = row
            continue
        start, text = taken[0]
        if _unbalanced(taken, len(header), delimiter, at_end=src.eof and not src.back):
            src.again(taken[1:])
            yield start, ValueError(f"line {start}: unbalanced quote (the rows after it would be read into it)"), text
            continue
        record: dict[Any, Any] = dict(zip(header, row, strict=False))
        if len(row) > len(header):
            record[None] = row[len(header) :]
        for name in header[len(row) :]:
            record[name] = None
        yield start, record, record


def _unbalanced(taken: list[tuple[int, str]], width: int, delimiter: str, at_end: bool) -> bool:
    """Did this record's quote swallow the lines after its first (or the end of the file)?"""
    if len(taken) == 1 and not at_end:
        return False
    try:
        list(csv.reader([line for _, line in taken], delimiter=delimiter, strict=True))
    except csv.Error as e:
        if len(taken) > 1 or "end of data" in str(e):
            return True
    if len(taken) == 1 or width < 3:  # with two columns any line with a comma would look like a row
        return False
    for _, line in taken[1:]:  # a legitimate quoted newline leaves fewer fields on its later lines
        try:
            alone = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(alone) >= width:
            return True
    return False
