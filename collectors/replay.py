"""Replay a CSV or JSON-lines file of mentions: the demo, backtests, evaluation.

The cursor is the number of records already consumed, so a file that grows is
picked up where it stopped. Records without an id or text, or with a date that
cannot be read, are skipped with the reason.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator

from gripewatch.collectors.base import Mention, Options, Page, parse_time
from gripewatch.config import SourceConfig
from gripewatch.errors import SourceError

csv.field_size_limit(sys.maxsize)

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
        skipped: list[str] = []
        n = offset
        for n, (lineno, record) in enumerate(self._records(), start=1):
            if n <= offset:
                continue
            try:
                mentions.append(self._mention(record))
            except (ValueError, TypeError) as e:
                skipped.append(f"{self.opts.path.name} record {lineno}: {e}")
            if len(mentions) + len(skipped) >= self.opts.page_size:
                yield Page(mentions, {"offset": n}, skipped)
                mentions, skipped = [], []
        if mentions or skipped:
            yield Page(mentions, {"offset": n}, skipped)

    def _records(self) -> Iterator[tuple[int, Any]]:
        path = self.opts.path
        fmt = self.opts.format
        if fmt == "auto":
            fmt = "csv" if path.suffix.lower() in (".csv", ".tsv") else "jsonl"
        try:
            fh = path.open(encoding="utf-8", errors="replace", newline="")
        except OSError as e:
            raise SourceError(f"cannot open {path}: {e.strerror or e}") from None
        with fh:
            if fmt == "csv":
                reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
                for row in reader:
                    yield reader.line_num, row
                return
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as e:
                    yield lineno, ValueError(f"not valid JSON ({e.msg})")

    def _mention(self, record: Any) -> Mention:
        if isinstance(record, Exception):
            raise record
        if not isinstance(record, dict):
            raise ValueError("record is not an object")
        f = self.fields

        def get(name: str) -> Any:
            value = record.get(f[name])
            return None if value in ("", None) else value

        ext_id, text = get("id"), get("text")
        if ext_id is None:
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
            author_followers=int(followers) if followers is not None else None,
            lang=get("lang"),
            conversation_id=_str(get("conversation_id")),
            in_reply_to=_str(get("in_reply_to")),
            is_repost=str(get("is_repost")).lower() in ("true", "1", "yes"),
            raw=record,
        )


def _str(v: Any) -> str | None:
    return None if v is None else str(v)
