"""The replay reader (CSV/TSV and JSON lines) on broken and random files: finding 8 and property (b).

Whatever the bytes, reading never raises, never merges two rows into one text, and every
record it cannot read comes back as a reason (quarantined by the pipeline), the rest kept.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gripewatch.collectors.base import Rejected
from gripewatch.collectors.replay import ReplayCollector
from gripewatch.config import settings_from_dict
from gripewatch.records import read_records

HEADER = "id,text,author,created_at\n"


def collector(tmp_path: Path, name: str, page_size: int = 1000) -> ReplayCollector:
    entry = {"name": "r", "type": "replay", "path": str(tmp_path / name), "page_size": page_size}
    settings = settings_from_dict({"sources": [entry]}, tmp_path / "config.yaml")
    return ReplayCollector(settings.sources[0])


def read_all(c: ReplayCollector) -> tuple[list[Any], list[Rejected], dict[str, Any]]:
    mentions, rejected, cursor = [], [], {}
    for page in c.collect({}):
        mentions += page.mentions
        rejected += page.skipped
        cursor = page.cursor
    return mentions, rejected, cursor


def test_an_unbalanced_quote_does_not_swallow_the_following_rows(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(
        HEADER
        + "1,acme lost my parcel,ann,2026-11-10T10:00:00Z\n"
        + '2,"acme broke my order,bob,2026-11-10T10:01:00Z\n'
        + "3,acme refund please,cid,2026-11-10T10:02:00Z\n"
        + '4,"a real post\nover two lines",dee,2026-11-10T10:03:00Z\n'
        + "5,acme still down,eve,2026-11-10T10:04:00Z\n",
        encoding="utf-8",
    )
    mentions, rejected, cursor = read_all(collector(tmp_path, "m.csv"))
    assert [m.external_id for m in mentions] == ["1", "3", "4", "5"]
    assert mentions[1].text == "acme refund please"
    assert mentions[2].text == "a real post\nover two lines"  # a quoted newline is still fine
    (bad,) = rejected
    assert "line 3" in bad.reason and "unbalanced quote" in bad.reason
    assert bad.raw == '2,"acme broke my order,bob,2026-11-10T10:01:00Z\n'
    assert cursor == {"offset": 5}


def test_an_unbalanced_quote_on_the_last_line_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(
        HEADER + "1,acme ok,ann,2026-11-10T10:00:00Z\n" + '2,"acme never closed,bob,2026-11-10T10:01:00Z\n',
        encoding="utf-8",
    )
    mentions, rejected, _ = read_all(collector(tmp_path, "m.csv"))
    assert [m.external_id for m in mentions] == ["1"]
    assert len(rejected) == 1 and "unbalanced quote" in rejected[0].reason


def test_score_input_gets_the_same_reader(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_text('id,text\n1,"broken\n2,fine\n3,also fine\n', encoding="utf-8")
    rows = list(read_records(p))
    assert [r["id"] for _, r in rows if isinstance(r, dict)] == ["2", "3"]
    assert isinstance(rows[0][1], ValueError) and "unbalanced quote" in str(rows[0][1])


# ------------------------------------------------------------------ property (b)

CELL = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A CSV of rows with unique markers in their text, with random corruption spliced in."""
    n = draw(st.integers(1, 8))
    markers = [f"M{i}Q" for i in range(n)]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "text", "author", "created_at"])
    for i, mark in enumerate(markers):
        w.writerow([f"id{i}", f"{draw(CELL)} {mark} {draw(CELL)}", draw(CELL), "2026-11-10T10:00:00Z"])
    lines = out.getvalue().splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(1, len(lines) - 1))
        junk = draw(st.sampled_from(['"', '"oops,', ",,,", "\x00", "\r", '""', draw(CELL)]))
        pos = draw(st.integers(0, len(lines[at])))
        lines[at] = lines[at][:pos] + junk + lines[at][pos:]
    return "".join(lines).encode("utf-8"), markers


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_property_csv_never_crashes_and_never_merges_rows(tmp_path: Path, data: tuple[bytes, list[str]]) -> None:
    raw, markers = data
    (tmp_path / "p.csv").write_bytes(raw)
    mentions, rejected, cursor = read_all(collector(tmp_path, "p.csv", page_size=3))
    for m in mentions:
        assert sum(mark in m.text for mark in markers) <= 1, m.text  # never two rows in one text
    assert cursor.get("offset", 0) == len(mentions) + len(rejected)
    assert all(isinstance(r, Rejected) and r.reason for r in rejected)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400), suffix=st.sampled_from(["csv", "tsv", "jsonl"]))
def test_property_random_bytes_never_crash_the_reader(tmp_path: Path, raw: bytes, suffix: str) -> None:
    (tmp_path / f"b.{suffix}").write_bytes(raw)
    mentions, rejected, cursor = read_all(collector(tmp_path, f"b.{suffix}", page_size=2))
    assert cursor.get("offset", 0) == len(mentions) + len(rejected)
    json.dumps([r.raw for r in rejected])  # what goes to quarantine is JSON-able


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=10,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {"id": JSON_VALUES, "text": JSON_VALUES, "created_at": JSON_VALUES},
                optional={"author": JSON_VALUES, "followers": JSON_VALUES, "url": JSON_VALUES},
            ).map(json.dumps),
            JSON_VALUES.map(json.dumps),
            st.text(max_size=40),
            st.just("[" * 5000),
            st.just('{"id": 1, "text": "acme", "created_at": ' + "9" * 5000 + "}"),
        ),
        max_size=6,
    )
)
def test_property_json_lines_one_record_per_line(tmp_path: Path, lines: list[str]) -> None:
    body = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines)
    (tmp_path / "j.jsonl").write_text(body, encoding="utf-8", errors="surrogatepass")
    mentions, rejected, cursor = read_all(collector(tmp_path, "j.jsonl", page_size=2))
    records = sum(1 for line in body.split("\n") if line.strip())
    assert len(mentions) + len(rejected) == records == cursor.get("offset", 0)
