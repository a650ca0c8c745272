"""``cases list``: one Core query and one line per case — no ORM import, no table layout engine.

The queue is the command staff type most, so it answers in a few tenths of a second: the rows come
from one SELECT over lightweight ``table()`` constructs (the ORM and the models cost more to import
than the command's work), and the lines are laid out here from measured cell widths (a rich Table
measures and renders every cell several times over, about 0.4 ms a row; rich's Console
itself is not loaded: the lines go out through click, styled only on a terminal). Every value from outside
passes :func:`gripewatch.terminal.one_line`; a summary wider than the terminal wraps under its
column, and on a very narrow terminal it goes on its own lines beneath the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len, chop_cells
from sqlalchemy import Boolean, Integer, Select, String, column, select, table

from gripewatch.db.types import UTCDateTime
from gripewatch.statuses import OPEN_STATUSES
from gripewatch.terminal import one_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

CASES = table(
    "cases",
    column("id", Integer),
    column("status", String),
    column("priority", String),
    column("severity", String),
    column("brand", String),
    column("author_id", Integer),
    column("assignee", String),
    column("mention_count", Integer),
    column("opened_at", UTCDateTime()),
    column("customer_since", UTCDateTime()),
    column("backfill", Boolean),
    column("incident_id", Integer),
    column("first_response_at", UTCDateTime()),
    column("resolved_at", UTCDateTime()),
    column("summary", String),
)
AUTHORS = table("authors", column("id", Integer), column("handle", String), column("followers", Integer))

HEADER = ("#", "status", "priority", "author", "mentions", "opened", "summary")
RIGHT = {0, 4}  # columns aligned right (numbers)
AUTHOR_CELLS = 24  # a longer handle is cut with "…" (``cases show`` has it whole)
SUMMARY_CELLS = 100  # of the summary, as many cells as the table showed before
NARROW = 24  # a summary column narrower than this goes on its own lines
STYLES: dict[str, dict[str, Any]] = {
    "bold": {"bold": True},
    "dim": {"dim": True},
    "critical": {"bold": True, "fg": "red"},
}


def case_query(status: str = "all", limit: int | None = None, case_id: int | None = None) -> Select[Any]:
    """Cases with their author's handle and followers, newest first (``status``: open, all or one)."""
    q = select(CASES, AUTHORS.c.handle, AUTHORS.c.followers).select_from(
        CASES.outerjoin(AUTHORS, AUTHORS.c.id == CASES.c.author_id)
    )
    if status == "open":
        q = q.where(CASES.c.status.in_(OPEN_STATUSES))
    elif status != "all":
        q = q.where(CASES.c.status == status)
    if case_id is not None:
        q = q.where(CASES.c.id == case_id)
    q = q.order_by(CASES.c.id.desc())
    return q if limit is None else q.limit(limit)


def case_dict(r: Any) -> dict[str, Any]:
    """One case as ``cases list --json`` prints it (and ``cases show`` starts from)."""

    def iso(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "id": r.id,
        "status": r.status,
        "priority": r.priority,
        "severity": r.severity,
        "brand": r.brand,
        "author": r.handle,
        "followers": r.followers,
        "assignee": r.assignee,
        "mentions": r.mention_count,
        "opened_at": iso(r.opened_at),
        "customer_since": iso(r.customer_since or r.opened_at),
        "backfill": bool(r.backfill),
        "incident_id": r.incident_id,
        "first_response_at": iso(r.first_response_at),
        "resolved_at": iso(r.resolved_at),
        "summary": r.summary,
    }


def case_rows(conn: Connection, status: str, limit: int) -> list[dict[str, Any]]:
    return [case_dict(r) for r in conn.execute(case_query(status, limit))]


def _cells(r: dict[str, Any]) -> list[str]:
    author = one_line(r["author"] or "")
    return [
        str(r["id"]),
        one_line(r["status"]),
        one_line(r["priority"]),
        f"@{author}" if author else "-",
        str(r["mentions"]),
        (r["opened_at"] or "")[:16].replace("T", " "),
        one_line(r["summary"] or "")[:SUMMARY_CELLS],
    ]


def _fit(value: str, width: int, right: bool = False) -> str:
    """``value`` padded to ``width`` cells, or cut with "…" when wider."""
    n = cell_len(value)
    if n > width:
        value = chop_cells(value, max(width - 1, 0))[0] + "…"
        n = cell_len(value)
    pad = " " * (width - n)
    return pad + value if right else value + pad


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken at spaces (a longer word is cut)."""
    lines: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        n = cell_len(word)
        if line and used + 1 + n <= width:
            line, used = f"{line} {word}", used + 1 + n
            continue
        if line:
            lines.append(line)
        pieces = chop_cells(word, width) if n > width else [word]
        lines.extend(pieces[:-1])
        line, used = pieces[-1], cell_len(pieces[-1])
    if line:
        lines.append(line)
    return lines


def case_lines(rows: list[dict[str, Any]], width: int) -> list[tuple[str, str]]:
    """The queue as (line, style) pairs for a terminal ``width`` cells wide: a bold header, then
    each case (critical ones bold red) with its summary wrapped under its column."""
    if not rows:
        return [("no cases", "dim")]
    cells = [_cells(r) for r in rows]
    widths = [max(cell_len(v) for v in col) for col in zip(HEADER[:-1], *(c[:-1] for c in cells), strict=True)]
    widths[3] = min(widths[3], AUTHOR_CELLS)
    left = sum(widths) + 2 * len(widths)  # two spaces after each column
    narrow = width - left < NARROW
    room = width - 4 if narrow else width - left
    indent = " " * (4 if narrow else left)
    head = "  ".join(_fit(h, w, i in RIGHT) for i, (h, w) in enumerate(zip(HEADER, widths, strict=False)))
    out = [(head.rstrip() if narrow else f"{head}  summary", "bold")]
    for row in cells:
        meta = "  ".join(_fit(v, w, i in RIGHT) for i, (v, w) in enumerate(zip(row, widths, strict=False)))
        style = "critical" if row[2] == "critical" else ""
        summary = wrap(row[-1], max(room, 1)) if row[-1] else []
        if narrow or not summary:
            out.append((meta.rstrip(), style))
            out.extend((indent + line, "") for line in summary)
        else:
            out.append((f"{meta}  {summary[0]}", style))
            out.extend((indent + line, "") for line in summary[1:])
    return out
