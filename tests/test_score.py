"""`gripewatch score`: one line per input row, in order; bad rows get an error, never a crash."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from click.testing import CliRunner

from gripewatch.cli import cli


def run_score(tmp_path: Path, *args: str) -> tuple[int, list[dict], str]:
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(tmp_path)  # no ./config.yaml here: defaults
    try:
        result = runner.invoke(cli, ["score", *args, "--output", str(out)])
    finally:
        os.chdir(cwd)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return result.exit_code, lines, result.output


def test_ten_thousand_rows_give_ten_thousand_lines_in_order(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for i in range(10_000):
            w.writerow([f"r{i}", f"my order {i} never arrived and nobody answers" if i % 2 else f"love it {i}"])
    code, lines, _ = run_score(tmp_path, "--input", str(src))
    assert code == 0
    assert len(lines) == 10_000
    assert [x["id"] for x in lines[:3]] == ["r0", "r1", "r2"] and lines[-1]["id"] == "r9999"
    first = lines[1]
    assert set(first) >= {
        "id",
        "sentiment",
        "complaint_probability",
        "is_complaint",
        "severity",
        "topics",
        "escalation",
        "reasons",
    }
    assert -1 <= first["sentiment"] <= 1 and 0 <= first["complaint_probability"] <= 1


def test_empty_huge_and_garbage_rows_never_crash(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    garbage = bytes(range(256)).decode("latin-1")
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerow(["empty", ""])
        w.writerow(["huge", "the app keeps crashing " * 4500])  # ~100 kB
        w.writerow(["garbage", garbage])
        w.writerow(["emoji", "😡😡😡 ¿por qué? 为什么 \u200b\ufeff"])
        w.writerow(["ok", "fine"])
    raw = src.read_bytes().replace(b"fine", b"fi\x00ne\xff\xfe")  # NUL and invalid UTF-8 too
    src.write_bytes(raw)
    code, lines, out = run_score(tmp_path, "--input", str(src))
    assert code == 0, out
    assert [x["id"] for x in lines] == ["empty", "huge", "garbage", "emoji", "ok"]
    assert all("error" not in x for x in lines)
    assert lines[0]["is_complaint"] is False


def test_jsonl_with_bad_lines_gets_per_row_errors(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": 1, "text": "the delivery is late again"}\n'
        "{broken\n"
        '{"id": 3}\n'
        '{"id": 4, "text": {"nested": true}}\n'
        "[1, 2]\n"
        '{"id": 6, "text": 12345}\n',
        encoding="utf-8",
    )
    code, lines, _ = run_score(tmp_path, "--input", str(src))
    assert code == 0
    assert len(lines) == 6
    assert "error" not in lines[0] and lines[0]["id"] == 1
    assert "not valid JSON" in lines[1]["error"] and lines[1]["row"] == 2
    assert lines[2] == {"id": 3, "row": 3, "error": "column 'text' is missing"}
    assert "not text" in lines[3]["error"]
    assert "not a JSON object" in lines[4]["error"]
    assert "error" not in lines[5]


def test_custom_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("tweet_id,body\n7,my refund never came\n", encoding="utf-8")
    code, lines, _ = run_score(tmp_path, "--input", str(src), "--text-column", "body", "--id-column", "tweet_id")
    assert code == 0 and lines[0]["id"] == "7" and "error" not in lines[0]


def test_missing_input_file_is_one_line(tmp_path: Path) -> None:
    code, _, out = run_score(tmp_path, "--input", str(tmp_path / "nope.csv"))
    assert code == 1
    assert out.strip().startswith("Error: cannot read") and "Traceback" not in out
