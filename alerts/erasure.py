"""Forgetting one person on request: ``erase(session, settings, identity, actor, now)``.

Everything about the customer ``platform:handle`` (and every identity linked to them with
``gripewatch customers link``) is removed in the caller's transaction:

- their authors get a stable pseudonym (``erased-<random id>``, chosen once; running the
  erasure again keeps it) instead of handle, platform key and name; followers, tier, value
  and the customer link are cleared;
- the mentions they wrote, and every mention of their cases (the brand's replies quote them),
  lose text, raw payload, URL, provenance, reasons and fingerprint; scores, complaint decision
  and topics stay, so counts and trends remain true; ``feedback`` rows of those mentions are
  deleted (a correction without its text cannot train anything);
- their cases' summaries become "[erased on request]" and every event detail is emptied
  (satisfaction notes and internal notes included); the brand's written replies to them lose
  their text, and one not posted yet is never posted; one ``erased`` event records that an erasure happened and by
  whom, not what was erased;
- outbox rows of their cases: a pending message is dropped (marked sent, never delivered);
  every delivered Slack message (the card, the thread quotes) is rewritten through the outbox:
  the card shows "[erased on request]", thread quotes are replaced by it (``chat.update``);
- any other text or JSON value of any table that still names them (someone else's post
  quoting "@alice", a payload) has the handle replaced by the pseudonym and their texts by
  "[erased on request]".

An erasure leaves freed pages behind in the database file: :func:`compact` (run by the
command) vacuums SQLite and checkpoints its WAL, and vacuums the PostgreSQL tables.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, cast, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from gripewatch.alerts import card
from gripewatch.alerts.customers import parse_identity
from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import InputError
from gripewatch.models import Author, Base, Case, CaseEvent, Feedback, JobRun, Mention, Outbox, Reply

ERASED = "[erased on request]"
PSEUDONYM = "erased-"
AUDIT_JOB = "erasure"  # the job_runs row that records an erasure (retention keeps these)


@dataclass(frozen=True)
class Erasure:
    pseudonyms: tuple[str, ...]
    mentions: int
    cases: int
    cards: int
    scrubbed: int

    @property
    def message(self) -> str:
        return (
            f"erased {len(self.pseudonyms)} identit{'y' if len(self.pseudonyms) == 1 else 'ies'} "
            f"(now {', '.join(self.pseudonyms)}): {self.mentions} mentions, {self.cases} cases, "
            f"{self.cards} Slack messages to update, {self.scrubbed} other values scrubbed"
        )


def find_authors(session: Session, identity: str) -> list[Author]:
    """The authors of ``platform:handle`` and every identity linked to them; InputError if none."""
    platform, handle = parse_identity(identity)
    found = session.scalars(
        # exact, case-insensitive: a LIKE pattern would let "dana_w" match someone else's "danaxw"
        select(Author).where(
            Author.platform == platform, or_(Author.key == handle, func.lower(Author.handle) == handle)
        )
    ).all()
    if not found:
        raise InputError(f"no customer {platform}:{handle} in the database")
    keys = {a.customer_key for a in found if a.customer_key}
    if keys:
        found = [*found, *session.scalars(select(Author).where(Author.customer_key.in_(keys))).all()]
    return list({a.id: a for a in found}.values())


def erase(session: Session, settings: Settings, identity: str, actor: str, now: datetime) -> Erasure:
    """Forget the customer ``identity`` (``platform:handle``) everywhere; see the module docstring."""
    authors = find_authors(session, identity)
    ids = [a.id for a in authors]
    names: dict[str, str] = {}  # what named them -> the pseudonym that replaces it
    pseudonyms: list[str] = []
    for a in authors:
        old = a.handle or ""
        pseudo = old if old.startswith(PSEUDONYM) else f"{PSEUDONYM}{uuid.uuid4().hex[:12]}"
        for v in (a.handle, a.key, a.display_name):
            if not v or v.startswith(PSEUDONYM) or len(v) < (6 if v.isdigit() else 3):  # "123" names nobody
                continue
            if v.lower() not in (n.lower() for n in names):
                names[v] = pseudo
        a.handle, a.key, a.display_name = pseudo, pseudo, None
        a.followers, a.tier, a.lifetime_value, a.customer_key = None, None, None, None
        pseudonyms.append(pseudo)
    case_ids = list(session.scalars(select(Case.id).where(Case.author_id.in_(ids))).all())
    mentions = session.scalars(
        select(Mention).where(or_(Mention.author_id.in_(ids), Mention.case_id.in_(case_ids)))
    ).all()
    texts = sorted({m.text for m in mentions if len(m.text.strip()) >= 8}, key=len, reverse=True)
    quoted = _quotes(list(names), texts)
    mention_ids = [m.id for m in mentions]
    for m in mentions:
        blank_mention(m)
    for i in range(0, len(mention_ids), 500):
        session.execute(delete(Feedback).where(Feedback.mention_id.in_(mention_ids[i : i + 500])))
    cards = 0
    for case in session.scalars(select(Case).where(Case.id.in_(case_ids))).all():
        cards += _erase_case(session, settings, case, actor, now, quoted)
    session.flush()
    changed = scrub_everywhere(session, names, texts)
    cards += _others(session, settings, changed, set(case_ids), actor, now)
    session.add(
        JobRun(
            job=AUDIT_JOB,
            holder=actor,
            started_at=now,
            finished_at=now,
            outcome="ok",
            detail={"identities": len(authors), "mentions": len(mentions), "cases": len(case_ids)},
        )
    )
    return Erasure(tuple(pseudonyms), len(mentions), len(case_ids), cards, len(changed))


def forget_mention(m: Mention, raw: dict[str, Any] | None = None) -> None:
    """Remove what a person wrote from one mention; keep its scores, decision and topics."""
    a = m.analysis or {}
    m.text, m.raw, m.url, m.fingerprint = "", raw or {}, None, None
    m.provenance = {k: v for k, v in (m.provenance or {}).items() if k in ("source", "platform", "app_version")}
    m.analysis = {k: a[k] for k in ("topics", "escalation") if k in a}


def blank_mention(m: Mention) -> None:
    """Remove what a person wrote from one mention (marked, so a later edit does not bring it back)."""
    forget_mention(m, raw={"erased": True})


def _quotes(names: list[str], texts: list[str]) -> Any:
    """A test: does a JSON value quote one of ``names`` (any case) or ``texts``?"""
    low = [n.lower() for n in names]

    def test(value: Any) -> bool:
        s = json.dumps(value, ensure_ascii=False).lower()
        return any(n in s for n in low) or any(t.lower() in s for t in texts)

    return test


def _erase_case(session: Session, settings: Settings, case: Case, actor: str, now: datetime, quoted: Any) -> int:
    """Summary and event details emptied, pending alerts dropped, delivered messages rewritten."""
    case.summary = ERASED
    session.execute(update(CaseEvent).where(CaseEvent.case_id == case.id).values(detail={}))
    for reply in session.scalars(select(Reply).where(Reply.case_id == case.id)).all():  # answers to her
        reply.text, reply.warnings, reply.url = ERASED, [], None
        if reply.status in ("queued", "awaiting_approval"):  # never posted now: she asked to be forgotten
            reply.status, reply.error = "failed", "erased on request"
    rewrites = 0
    for row in session.scalars(select(Outbox).where(Outbox.case_id == case.id)).all():
        delivered = row.sent_at is not None and (row.result or {}).get("ts")
        if row.sent_at is None and not row.dead:
            row.sent_at, row.result = now, {"dropped": "erased on request"}
        elif delivered and row.kind not in ("new_case", "card_update", "ephemeral") and quoted(row.payload):
            res = row.result or {}
            enqueue(
                session,
                f"erase:{row.id}",
                "redact",
                res.get("channel") or row.channel,
                {"case_id": case.id, "ts": res["ts"], "text": ERASED},
                case,
                now,
            )
            rewrites += 1
        row.payload = {"case_id": case.id, "erased": True}
        row.last_error = None
    ev = card.event(session, case, "erased", actor, now)
    session.flush()
    card.refresh(session, case, settings, now, ev)  # the card quotes the summary now: "[erased on request]"
    return rewrites + (1 if case.slack_ts else 0)


def _others(
    session: Session,
    settings: Settings,
    changed: list[tuple[str, tuple[Any, ...]]],
    own: set[int],
    actor: str,
    now: datetime,
) -> int:
    """Other people's cases whose posts or messages named them: the card and the thread quotes are rewritten."""
    mention_ids = [pk[0] for t, pk in changed if t == "mentions"]
    outbox_ids = [pk[0] for t, pk in changed if t == "outbox"]
    ids = (
        set(session.scalars(select(Mention.case_id).where(Mention.id.in_(mention_ids))).all()) if mention_ids else set()
    )
    rows = session.scalars(select(Outbox).where(Outbox.id.in_(outbox_ids))).all() if outbox_ids else []
    ids |= {r.case_id for r in rows}
    n = 0
    for row in rows:
        res = row.result or {}
        if row.case_id in own or row.kind in ("new_case", "card_update") or not res.get("ts"):
            continue
        payload = {"case_id": row.case_id, "ts": res["ts"], "text": str(row.payload.get("text") or ERASED)}
        case = session.get(Case, row.case_id) if row.case_id else None
        enqueue(session, f"erase:{row.id}", "redact", res.get("channel") or row.channel, payload, case, now)
        n += 1
    for case in session.scalars(select(Case).where(Case.id.in_(ids - own - {None}))).all():
        ev = card.event(session, case, "name_erased", actor, now)
        card.refresh(session, case, settings, now, ev)
        n += 1 if case.slack_ts else 0
    return n


# ------------------------------------------------------------------ scrubbing every table


def _columns(table: Any) -> list[Any]:
    return [
        c
        for c in table.columns
        if not c.primary_key and isinstance(c.type, String | Text | JSON) and not c.foreign_keys
    ]


def scrub_everywhere(session: Session, names: dict[str, str], texts: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """Replace ``names`` (whole words, any case, by their pseudonyms) and ``texts`` (by "[erased on request]")
    in every text and JSON column of every table; return the (table, primary key) of every row changed."""
    if not names and not texts:
        return []
    word = re.compile(
        "|".join(rf"(?<![\w]){re.escape(n)}(?![\w])" for n in sorted(names, key=len, reverse=True)) or r"(?!)",
        re.IGNORECASE,
    )
    lower = {n.lower(): r for n, r in names.items()}

    def fix(s: str) -> str:
        for t in texts:
            s = s.replace(t, ERASED)
        return word.sub(lambda m: lower.get(m.group(0).lower(), ERASED), s)

    like = {n for name in names for n in (name, json.dumps(name)[1:-1])}  # JSON stores non-ASCII escaped
    like |= {t[:60] for t in texts if t[:60].isascii() and json.dumps(t[:60])[1:-1] == t[:60]}
    patterns = [p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for p in sorted(like)]
    changed: list[tuple[str, tuple[Any, ...]]] = []
    for table in Base.metadata.sorted_tables:
        if table.name == Author.__tablename__:
            continue  # identities are erased by who they are (above), never by a name they share
        pk = list(table.primary_key.columns)
        for col in _columns(table):
            expr = cast(col, Text) if isinstance(col.type, JSON) else col
            cond = or_(*(expr.ilike(f"%{p}%", escape="\\") for p in patterns))
            for row in session.execute(select(*pk, col).where(cond)).all():
                value = row[-1]
                new = _deep(value, fix)
                if new != value:
                    session.execute(
                        update(table)
                        .where(*(c == v for c, v in zip(pk, row[:-1], strict=True)))
                        .values({col.name: new})
                    )
                    changed.append((table.name, tuple(row[:-1])))
    return changed


def _deep(value: Any, fix: Any) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, list):
        return [_deep(v, fix) for v in value]
    if isinstance(value, dict):
        return {fix(k) if isinstance(k, str) else k: _deep(v, fix) for k, v in value.items()}
    return value


def compact(db: Database) -> None:
    """Give freed pages back, so erased bytes do not linger in the files (VACUUM, WAL checkpoint)."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            c.exec_driver_sql("VACUUM")
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    elif db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for table in ("mentions", "authors", "cases", "case_events", "outbox", "feedback"):
                c.execute(text(f"VACUUM {table}"))
