"""The end-to-end property, on SQLite and PostgreSQL: a page of random good and bad records →
every good record stored once, every bad one quarantined, the cursor advanced past all of
them, and the next page stored.

Good records carry hostile but storable values (NUL and control characters in the text and
the author, lone surrogates, followers of 10^30, any Unicode); bad ones cannot be stored (dates
before 1970, after tomorrow, 1e30, Infinity, NaN, unreadable; no id or text; an id longer than
its column; not JSON; not an object).
Each example is a fresh source (its own name and file) in one database per test, and 50
examples per database in the ``ci`` profile (the database makes each example ~100× dearer
than the pure properties); ``HYPOTHESIS_PROFILE=long`` runs 20× more.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gripewatch.config import settings_from_dict
from gripewatch.db import Database
from gripewatch.models import Mention, RejectedRecord, SourceState
from gripewatch.pipeline import run_source
from tests.conftest import BRAND

EXAMPLES = 1000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 50
_n = itertools.count()

CHARS = st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "M"])
TEXT = st.text(CHARS, max_size=60)


@st.composite
def good(draw: st.DrawFn, i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": f"g{i}",
        "text": "acme " + draw(TEXT),
        "created_at": draw(
            st.sampled_from(["2026-11-10T10:00:00Z", "2020-02-29 23:59", 1763000000, "1763000000123", "10/11/2026"])
        ),
    }
    if draw(st.booleans()):
        rec["author"] = draw(st.sampled_from(["dana", "ev\x00il", "a\x1b[31mb", "<!here>"]) | TEXT)
    if draw(st.booleans()):
        rec["followers"] = draw(st.sampled_from([10**30, -5, 2**63, "12", "x", 1e300]) | st.integers())
    if draw(st.booleans()):
        rec["author_name"] = draw(TEXT)
    return rec


BAD_DATES = [
    "0001-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    1e30,
    "yesterday-ish",
    "",
]


@st.composite
def bad(draw: st.DrawFn, i: int) -> str:
    """One line that cannot become a mention (unique, so each is its own quarantined record)."""
    kind = draw(st.sampled_from(["date", "nan", "inf", "no text", "no id", "id too long", "not json", "not an object"]))
    if kind == "date":
        return json.dumps({"id": f"b{i}", "text": "acme", "created_at": draw(st.sampled_from(BAD_DATES))})
    if kind in ("nan", "inf"):
        return f'{{"id": "b{i}", "text": "acme", "created_at": {"NaN" if kind == "nan" else "-Infinity"}}}'
    if kind == "no text":
        return json.dumps(
            {"id": f"b{i}", "created_at": "2026-11-10T10:00:00Z", "text": draw(st.sampled_from(["", None]))}
        )
    if kind == "id too long":
        return json.dumps({"id": f"b{i}" + "x" * 300, "text": "acme", "created_at": "2026-11-10T10:00:00Z"})
    if kind == "no id":
        return json.dumps({"text": f"acme {i}", "created_at": "2026-11-10T10:00:00Z"})
    if kind == "not json":
        return "{not json " + str(i)
    return json.dumps([f"b{i}"])


@st.composite
def pages(draw: st.DrawFn) -> tuple[list[str], set[str], int, int]:
    """(lines, good ids, bad count, page size), good and bad interleaved; good records may repeat exactly."""
    lines: list[str] = []
    good_lines: list[str] = []
    ids: set[str] = set()
    n_bad = 0
    for i in range(draw(st.integers(1, 14))):
        pick = draw(st.sampled_from(["good", "good", "bad", "repeat"]))
        if pick == "repeat" and good_lines:
            lines.append(draw(st.sampled_from(good_lines)))
        elif pick == "bad":
            lines.append(draw(bad(i)))
            n_bad += 1
        else:
            rec = draw(good(i))
            lines.append(json.dumps(rec))
            good_lines.append(lines[-1])
            ids.add(rec["id"])
    return lines, ids, n_bad, draw(st.integers(1, 6))


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(page=pages())
def test_property_good_stored_once_bad_quarantined_cursor_moves(
    tmp_path: Path, db: Database, db_url: str, page: tuple[list[str], set[str], int, int]
) -> None:
    lines, good_ids, n_bad, page_size = page
    name = f"p{next(_n)}"
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    entry = {"name": name, "type": "replay", "path": str(path), "platform": "x", "page_size": page_size}
    cfg = settings_from_dict({"database": {"url": db_url}, "brands": [BRAND], "sources": [entry]}, tmp_path / "c.yaml")
    source = cfg.sources[0]

    run = run_source(db, cfg, source)
    assert run.error is None
    with db.sessions() as s:
        stored = s.scalars(select(Mention.external_id).where(Mention.source == name)).all()
        rejected = s.scalars(select(RejectedRecord).where(RejectedRecord.source == name)).all()
        cursor = s.get(SourceState, name).cursor
    assert sorted(stored) == sorted(good_ids)  # every good record, once
    assert len(rejected) == n_bad and sum(r.count for r in rejected) == n_bad  # every bad one, quarantined
    assert cursor == {"offset": len(lines)}

    with path.open("a", encoding="utf-8") as fh:  # the next page is not blocked
        fh.write(json.dumps({"id": "next", "text": "acme next", "created_at": "2026-11-10T11:00:00Z"}) + "\n")
    assert run_source(db, cfg, source).stored == 1
    with db.sessions() as s:
        assert s.scalar(select(func.count(Mention.id)).where(Mention.source == name)) == len(good_ids) + 1
