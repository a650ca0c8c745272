"""Replay a CSV or JSON-lines file of mentions: the demo, backtests, evaluation.

The cursor is the number of records already consumed, so a file that grows is
picked up where it stopped. Records without an id or text, with a date that
cannot be read, or a CSV line with an unbalanced quote (see
:func:`gripewatch.records.csv_records`) are passed on as Rejected, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator

from gripewatch.collectors.base import Mention, Options, Page, Rejected, parse_time
from gripewatch.collectors.bounds import count, normalised, safe_raw
from gripewatch.config import SourceConfig
from gripewatch.errors import SourceError
from gripewatch.records import csv_records, json_record

DEFAULT_FIELDS = {"id": "id", "text": "text", "author": "author", "created_at": "created_at", "url": "url"}
OPTIONAL_FIELDS = (
    "platform",
    "author_id",
    "author_name",
    "followers",
    "lang",
    "conversation_id",
    "in_reply_to",
    "is_repost",
)


class ReplayOptions(Options):
    path: Path
    format: Literal["auto", "csv", "jsonl"] = "auto"
    fields: dict[str, str] = {}
    platform: str = "replay"
    page_size: int = 200

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, v: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base")
        return v if v.is_absolute() or base is None else Path(base) / v

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(DEFAULT_FIELDS) - set(OPTIONAL_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown field {sorted(unknown)[0]!r}; known: {', '.join([*DEFAULT_FIELDS, *OPTIONAL_FIELDS])}"
            )
        return v


class ReplayCollector:
    Options = ReplayOptions

    def __init__(self, source: SourceConfig, brands: Any = ()) -> None:
        self.source = source
        self.opts: ReplayOptions = source.options
        self.fields = {**DEFAULT_FIELDS, **{k: k for k in OPTIONAL_FIELDS}, **self.opts.fields}

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        offset = int(cursor.get("offset", 0))
        mentions: list[Mention] = []
        skipped: list[Rejected] = []
        n = offset
        for n, (lineno, record, raw) in enumerate(self._records(), start=1):
            if n <= offset:
                continue
            m = normalised(self.normalise, record) if not isinstance(record, Exception) else None
            if isinstance(m, Mention):
                mentions.append(m)
            else:
                reason = m.reason if m is not None else str(record)
                ext = m.external_id if m is not None else None
                if ext is None and isinstance(raw, dict) and isinstance(raw.get(self.fields["id"]), str | int):
                    ext = str(raw[self.fields["id"]]) or None
                where = "" if reason.startswith("line ") else f"record {lineno}: "
                skipped.append(Rejected(f"{self.opts.path.name} {where}{reason}", safe_raw(raw), ext))
            if len(mentions) + len(skipped) >= self.opts.page_size:
                yield Page(mentions, {"offset": n}, skipped)
                mentions, skipped = [], []
        if mentions or skipped:
            yield Page(mentions, {"offset": n}, skipped)

    def _records(self) -> Iterator[tuple[int, Any, Any]]:
        """``(line number, record or ValueError, raw)`` per record, in file order."""
        path = self.opts.path
        fmt = self.opts.format
        if fmt == "auto":
            fmt = "csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl"
        try:
            fh = path.open(encoding="utf-8-sig", errors="replace", newline="")
        except OSError as e:
            raise SourceError(f"cannot open {path}: {e.strerror or e}") from None
        with fh:
            if fmt == "csv":
                yield from csv_records(fh, "\t" if path.suffix.lower() == ".tsv" else ",")
                return
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    record = json_record(line)
                    yield lineno, record, line if isinstance(record, ValueError) else record

    def normalise(self, record: Any) -> Mention:
        """One record (a CSV row or a JSON object) as a mention; ValueError/TypeError if it is not one."""
        if isinstance(record, str):  # a quarantined line that could not be read (broken JSON, unbalanced quote)
            raise ValueError("an unreadable line of the file: correct it there and replay it from a new file")
        if not isinstance(record, dict):
            raise ValueError("record is not an object")
        f = self.fields

        def get(name: str) -> Any:
            value = record.get(f[name])
            return None if value in ("", None) else value

        ext_id, text = get("id"), get("text")
        if ext_id is None or isinstance(ext_id, dict | list | bool):
            raise ValueError(f"no {f['id']!r}")
        if text is None or not isinstance(text, str):
            raise ValueError(f"no {f['text']!r}")
        created = get("created_at")
        if created is None:
            raise ValueError(f"no {f['created_at']!r}")
        author = get("author")
        followers = get("followers")
        return Mention(
            platform=str(get("platform") or self.opts.platform),
            external_id=str(ext_id),
            text=text,
            created_at=parse_time(created),
            url=get("url"),
            author_key=str(get("author_id") or author or "").lower() or None,
            author_handle=str(author).lstrip("@") if author is not None else None,
            author_name=get("author_name"),
            author_followers=count(followers),
            lang=get("lang"),
            conversation_id=_str(get("conversation_id")),
            in_reply_to=_str(get("in_reply_to")),
            is_repost=str(get("is_repost")).lower() in ("true", "1", "yes"),
            raw=record,
        )


def _str(v: Any) -> str | None:
    return None if v is None else str(v)
