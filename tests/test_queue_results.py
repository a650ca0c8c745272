"""The queue's results pinned against a plain-Python reading of each filter: the same cases, in the same
order, with the same total and the same count on every option of every filter — on SQLite and PostgreSQL.

The data is a seeded mix of every status, priority, assignee, SLA clock (stored or by wall clock), topic,
language and source, with hostile search text (quotes, ``%``, ``_``, ``\\``, FTS operators, scripts other
than Latin). The reference reads the rows back through the ORM and filters, sorts and counts in Python, so
a faster query that changes any answer fails here. Non-ASCII text is kept lower-case: SQLite's ``lower()``
folds ASCII only, and the queue has never promised more than that.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, cast, select

from gripewatch.dashboards.queue import (
    FACET_LIMIT,
    OPEN,
    PRIORITIES,
    SLA_STATES,
    SORTS,
    STATUSES,
    TOPICS,
    QueueFilter,
    facet_counts,
    query_queue,
    sla_state,
)
from gripewatch.db import Database
from gripewatch.models import Author, Case, Incident, Mention

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USER = "ana"
TARGETS = {"critical": timedelta(minutes=30), "high": timedelta(hours=1), "normal": timedelta(hours=4),
           "low": timedelta(hours=24)}  # fmt: skip
PAGE = 7
BRANDS = ("Acme", "Globex")
SOURCES = ("x-search", "reddit", "mastodon")
LANGS = ("en", "es", "ja", "de")
TOPIC_IDS = (*TOPICS[:5], "billing")  # "billing" is a prefix of billing_refunds: it must not find those
WORDS = ["refund", "order", "100%", "50_off", "back\\slash", 'say "hi"', "it's", "NEAR", "AND", "OR", "NOT",
         "x*", "-minus", "col:on", "(paren)", "^caret", "{brace}", "ça", "straße", "номер", "注文", "返金",
         "🙂", "naïve", "ﬁle", "#12", "@who"]  # fmt: skip
QUERIES = ["refund", "REFUND", "Refund", "order", "%", "_", "\\", "100%", "50_off", 'say "hi"', "'", '"', "it's",
           "NEAR", "near/2", "a NEAR b", "refund OR order", "refund AND", "NOT order", "x*", "*", "-minus", "-",
           "col:on", ":", "(paren)", "(", "^", "{brace}", "ça", "straße", "номер", "注文", "返金", "🙂", "naïve",
           "ﬁle", "@who", "who", "@", "#3", "3", "#", "12", "user7", "@user7", "name 7", "zzqq-nothing",
           "rder", "fun", " ", "  refund  ", "%_%", "\\%"]  # fmt: skip


def build(db: Database, seed: int = 11) -> None:
    """About 150 cases over 60 authors, 1–3 posts each, plus posts with no case."""
    rnd = random.Random(seed)
    with db.session() as s:
        incidents = [Incident(brand="Acme", key=f"copy:{i}", title=f"incident {i}", opened_at=NOW) for i in range(2)]
        s.add_all(incidents)
        authors = []
        for i in range(60):
            name = rnd.choice([f"Name {i}", f"nom {i} ça", f"名前{i}", None])
            authors.append(Author(platform="x", key=f"k{i}", handle=f"user{i}", display_name=name, followers=i))
        s.add_all(authors)
        s.flush()
        ext = 0
        for i in range(150):
            opened = NOW - timedelta(minutes=rnd.choice([5, 20, 50, 100, 200, 300, 600, 2000, 5000]) + i)
            answered = rnd.random() < 0.3
            clock: dict[str, Any] = {}
            if rnd.random() < 0.4:  # a stored clock, as alerts.sla.plan writes it
                remind = NOW + timedelta(minutes=rnd.choice([-90, -30, 30, 90]))
                due = remind + timedelta(minutes=rnd.choice([20, 60]))
                clock = {"first_response": {"remind_at": remind.isoformat(), "due_at": due.isoformat()}}
            words = rnd.sample(WORDS, 3)
            c = Case(
                brand=rnd.choice([*BRANDS, None]),
                author_id=rnd.choice(authors).id,
                status=rnd.choice([*STATUSES[2:], "new", "new", "acknowledged"]),
                priority=rnd.choice([*PRIORITIES, "normal", "weird"]),
                summary=f"case {i}: {words[0]} {words[1]}",
                assignee=rnd.choice(["ana", "ben", "U0AGENT01", None, None]),
                opened_at=opened,
                customer_since=opened - timedelta(minutes=rnd.choice([0, 10, 90])) if rnd.random() < 0.6 else None,
                first_response_at=opened + timedelta(minutes=3) if answered else None,
                sla=clock,
                backfill=rnd.random() < 0.2,
                incident_id=rnd.choice([None, None, None, incidents[0].id, incidents[1].id]),
            )
            s.add(c)
            s.flush()
            for _ in range(rnd.choice([1, 1, 2, 3])):
                ext += 1
                topics = rnd.sample(TOPIC_IDS, rnd.choice([0, 1, 2]))
                analysis: dict[str, Any] = {"topics": topics, "escalation": [], "reasons": []}
                if rnd.random() < 0.8:
                    analysis["language"] = rnd.choice(LANGS)
                s.add(
                    Mention(
                        source=rnd.choice(SOURCES), platform="x", external_id=str(ext), brand=c.brand,
                        author_id=c.author_id, text=f"post {ext} {words[2]} {rnd.choice(WORDS)}",
                        created_at=opened, collected_at=opened, case_id=c.id, is_complaint=True, analysis=analysis,
                    )
                )  # fmt: skip
        for j in range(40):  # posts with no case never count
            ext += 1
            s.add(
                Mention(
                    source=rnd.choice(SOURCES), platform="x", external_id=str(ext), text=f"refund order {j} 100%",
                    created_at=NOW, collected_at=NOW, analysis={"topics": ["billing"], "language": "en"},
                )
            )  # fmt: skip


class Reference:
    """The queue's rules read in Python over every case."""

    def __init__(self, db: Database) -> None:
        with db.sessions() as s:
            self.cases = list(s.scalars(select(Case)))
            self.authors = {a.id: a for a in s.scalars(select(Author))}
            self.mentions: dict[int, list[tuple[str, str, str, dict[str, Any]]]] = {}
            rows = s.execute(select(Mention.case_id, Mention.source, Mention.text, cast(Mention.analysis, String)))
            for case_id, source, text, analysis in rows:
                if case_id is not None:
                    self.mentions.setdefault(case_id, []).append((source, text, analysis, json.loads(analysis)))
        self.dialect = db.engine.dialect.name

    def matches(self, c: Case, f: QueueFilter, skip: str | None = None) -> bool:
        posts = self.mentions.get(c.id, [])
        if skip != "status" and f.status != "all":
            if not (c.status in OPEN if f.status == "open" else c.status == f.status):
                return False
        if f.priority and skip != "priority" and c.priority != f.priority:
            return False
        if f.brand and skip != "brand" and c.brand != f.brand:
            return False
        if f.assignee and skip != "assignee":
            want = None if f.assignee == "none" else USER if f.assignee == "me" else f.assignee
            if c.assignee != want:
                return False
        if f.source and skip != "source" and not any(p[0] == f.source for p in posts):
            return False
        if f.topic and skip != "topic" and not self.has_topic(c, f.topic):
            return False
        if f.language and skip != "language" and not any(p[3].get("language") == f.language for p in posts):
            return False
        if f.sla and skip != "sla" and not self.in_sla(c, f.sla):
            return False
        if f.backfill and c.backfill != (f.backfill == "yes"):
            return False
        if f.incident is not None and skip != "incident" and c.incident_id != f.incident:
            return False
        return not f.q or self.found(c, f.q)

    def has_topic(self, c: Case, topic: str) -> bool:
        return any(f'"{topic}"' in p[2] for p in self.mentions.get(c.id, []))

    def in_sla(self, c: Case, state: str) -> bool:
        if state == "answered":
            return c.first_response_at is not None
        return c.first_response_at is None and sla_state(c, NOW, TARGETS) == state

    def found(self, c: Case, q: str) -> bool:
        needle = q.lower().lstrip("@")
        author = self.authors.get(c.author_id) if c.author_id else None
        texts = [c.summary or "", *(p[1] for p in self.mentions.get(c.id, []))]
        if author is not None:
            texts += [author.handle or "", author.display_name or ""]
        digits = q.lstrip("#").strip()
        by_id = digits.isdigit() and len(digits) < 10 and c.id == int(digits)
        return any(needle in t.lower() for t in texts) or by_id

    def order(self, f: QueueFilter, cases: list[Case]) -> list[int]:
        rank = {"critical": 0, "high": 1, "normal": 2, "low": 3}

        def since(c: Case) -> datetime:
            return c.customer_since or c.opened_at

        if f.sort == "newest":
            cases = sorted(cases, key=lambda c: -c.id)
        elif f.sort == "waiting":
            cases = sorted(cases, key=lambda c: (since(c), c.id))
        elif f.sort == "sla_due":

            def key(c: Case) -> tuple[Any, ...]:
                due = ((c.sla or {}).get("first_response") or {}).get("due_at")
                group = 2 if c.first_response_at is not None else 1 if due is None else 0
                first = self.dialect == "sqlite"  # SQLite sorts NULL first, PostgreSQL last
                nulls = (0 if first else 1) if due is None else (1 if first else 0)
                return group, nulls, due or "", rank.get(c.priority, 2), c.id

            cases = sorted(cases, key=key)
        else:
            cases = sorted(cases, key=lambda c: (rank.get(c.priority, 2), since(c), c.id))
        return [c.id for c in cases]

    def page(self, f: QueueFilter) -> tuple[list[int], int]:
        found = [c for c in self.cases if self.matches(c, f)]
        ids = self.order(f, found)
        return ids[(f.page - 1) * PAGE : f.page * PAGE], len(found)

    def counts(self, f: QueueFilter, options: dict[str, tuple[str, ...]]) -> dict[str, dict[str, int]]:
        def where(skip: str) -> list[Case]:
            return [c for c in self.cases if self.matches(c, f, skip)]

        def tally(skip: str, value: Any) -> dict[Any, int]:
            out: dict[Any, int] = {}
            for c in where(skip):
                out[value(c)] = out.get(value(c), 0) + 1
            return out

        by_status = tally("status", lambda c: c.status)
        status = {k: by_status.get(k, 0) for k in STATUSES}
        status["open"] = sum(by_status.get(k, 0) for k in OPEN)
        status["all"] = sum(by_status.values())
        by_priority = tally("priority", lambda c: c.priority)
        by_brand = tally("brand", lambda c: c.brand)
        by_assignee = tally("assignee", lambda c: c.assignee)
        assignee = {str(k): n for k, n in by_assignee.items() if k is not None}
        assignee["none"] = by_assignee.get(None, 0)
        assignee["me"] = by_assignee.get(USER, 0)
        by_incident = tally("incident", lambda c: c.incident_id)

        def per_option(skip: str, options: tuple[str, ...], test: Any) -> dict[str, int]:
            rows = where(skip)
            return {o: sum(1 for c in rows if test(c, o)) for o in options}

        def posts(c: Case) -> list[tuple[str, str, str, dict[str, Any]]]:
            return self.mentions.get(c.id, [])

        return {
            "status": status,
            "priority": {k: by_priority.get(k, 0) for k in PRIORITIES},
            "brand": {k: by_brand.get(k, 0) for k in options["brand"]},
            "assignee": assignee,
            "incident": {str(k): n for k, n in by_incident.items() if k is not None},
            "sla": per_option("sla", SLA_STATES, self.in_sla),
            "topic": per_option("topic", options["topic"], self.has_topic),
            "language": per_option(
                "language", options["language"], lambda c, o: any(p[3].get("language") == o for p in posts(c))
            ),
            "source": per_option("source", options["source"], lambda c, o: any(p[0] == o for p in posts(c))),
        }


OPTIONS = {"brand": BRANDS, "source": SOURCES, "topic": TOPIC_IDS, "language": LANGS}


@pytest.fixture
def ref(db: Database) -> Reference:
    build(db)
    return Reference(db)


def check(db: Database, ref: Reference, f: QueueFilter) -> None:
    with db.sessions() as s:
        rows, total = query_queue(s, f, USER, NOW, TARGETS, PAGE)
        counts = facet_counts(s, f, USER, NOW, TARGETS, OPTIONS, total)
    want_ids, want_total = ref.page(f)
    assert ([r["id"] for r in rows], total) == (want_ids, want_total), f
    assert counts == (ref.counts(f, OPTIONS) if total <= FACET_LIMIT else {}), f


FILTERS = [
    QueueFilter(),
    QueueFilter(status="all"),
    *(QueueFilter(status=x, sort=sort) for x in STATUSES for sort in SORTS),
    *(QueueFilter(status="all", priority=p) for p in (*PRIORITIES, "weird")),
    *(QueueFilter(priority=p, sort="waiting") for p in PRIORITIES),
    *(QueueFilter(status="all", sla=x, sort=sort) for x in SLA_STATES for sort in SORTS),
    *(QueueFilter(sla=x) for x in SLA_STATES),
    *(QueueFilter(status="all", assignee=a) for a in ("me", "none", "ben", "U0AGENT01", "nobody")),
    *(QueueFilter(status=st, topic=t) for t in (*TOPIC_IDS, "billing%", "_", '"', "nothing") for st in ("open", "all")),
    *(QueueFilter(status="all", language=x) for x in (*LANGS, "xx")),
    *(QueueFilter(status="all", source=x) for x in (*SOURCES, "nowhere")),
    *(QueueFilter(status="all", brand=b) for b in (*BRANDS, "Nobody")),
    QueueFilter(status="all", backfill="yes"),
    QueueFilter(backfill="no", sort="sla_due"),
    QueueFilter(status="all", incident=1),
    QueueFilter(incident=2, priority="normal"),
    QueueFilter(source="reddit", priority="normal"),
    QueueFilter(status="all", source="x-search", priority="critical", topic=TOPIC_IDS[0]),
    QueueFilter(status="resolved", topic="billing", language="es", sla="answered"),
    QueueFilter(status="all", assignee="none", sla="breached", brand="Acme", sort="sla_due"),
    *(QueueFilter(status="all", page=p) for p in (1, 2, 5, 21, 22, 23, 500)),
    *(QueueFilter(status="all", sort=sort, page=3) for sort in SORTS),
    *(QueueFilter(status="all", q=q) for q in QUERIES),
    *(QueueFilter(q=q, priority="normal") for q in ("refund", "post", "order", "%")),
    QueueFilter(status="all", q="post", topic="billing", source="reddit", sort="newest", page=2),
]


def test_every_filter_sort_page_and_count_agrees_with_the_reference(db: Database, ref: Reference) -> None:
    assert len(ref.cases) == 150 and sum(1 for c in ref.cases if c.status in OPEN) < FACET_LIMIT
    for f in FILTERS:
        check(db, ref, f)


def test_counts_are_hidden_above_the_limit(db: Database, ref: Reference) -> None:
    with db.sessions() as s:
        rows, total = query_queue(s, QueueFilter(status="all"), USER, NOW, TARGETS, PAGE)
        assert facet_counts(s, QueueFilter(status="all"), USER, NOW, TARGETS, OPTIONS, FACET_LIMIT + 1) == {}
        assert facet_counts(s, QueueFilter(status="all"), USER, NOW, TARGETS, OPTIONS, total)["status"]["all"] == 150


SEARCH_CHARS = 'abcdefpost %_\\"*-:()çé注🙂#1'


def _maybe(*options: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(options))


filters = st.builds(
    QueueFilter,
    status=st.sampled_from(STATUSES),
    priority=_maybe(*PRIORITIES, "weird"),
    brand=_maybe(*BRANDS, "Nobody"),
    source=_maybe(*SOURCES),
    assignee=_maybe("me", "none", "ben", "U0AGENT01"),
    topic=_maybe(*TOPIC_IDS, "billing%"),
    language=_maybe(*LANGS),
    sla=_maybe(*SLA_STATES),
    q=st.one_of(st.none(), st.sampled_from(QUERIES), st.text(st.sampled_from(list(SEARCH_CHARS)), max_size=6)),
    sort=st.sampled_from(tuple(SORTS)),
    backfill=_maybe("yes", "no"),
    incident=_maybe(1, 2),
    page=st.integers(1, 4),
)


@pytest.fixture
def shared_ref(db: Database) -> Iterator[Reference]:
    build(db, seed=5)
    yield Reference(db)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(f=filters)
def test_any_combination_agrees_with_the_reference(db: Database, shared_ref: Reference, f: QueueFilter) -> None:
    check(db, shared_ref, f)
    if f.q:
        check(db, shared_ref, replace(f, q=f.q.upper()))


def test_the_queue_reads_its_indexes_not_the_rows(db: Database, ref: Reference) -> None:
    """SQLite's plans for a filtered view: counts from ``ix_cases_queue``, posts from ``ix_mentions_case_facets``
    without their rows (an ``EXISTS (SELECT *`` or a dropped index would read every post row again)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plans are SQLite's")
    plans: list[str] = []
    with db.engine.connect() as c:
        from sqlalchemy import event

        @event.listens_for(c, "before_cursor_execute", retval=True)
        def explain(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> Any:
            if statement.lstrip().upper().startswith("SELECT"):
                plans.extend(row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall())
            return statement, params

        from sqlalchemy.orm import Session

        with Session(c) as s:
            for f in (
                QueueFilter(topic="billing", source="reddit", language="es"),
                QueueFilter(topic="billing"),
                QueueFilter(source="reddit"),
                QueueFilter(status="all", language="es"),
                QueueFilter(status="all", priority="high", topic="delivery"),
            ):
                _rows, total = query_queue(s, f, USER, NOW, TARGETS, PAGE)
                facet_counts(s, f, USER, NOW, TARGETS, OPTIONS, total)
    posts = [p for p in plans if "mentions" in p]
    assert posts and all("COVERING INDEX ix_mentions_case_facets" in p for p in posts), [
        p for p in posts if "COVERING INDEX ix_mentions_case_facets" not in p
    ]
    assert any("COVERING INDEX ix_cases_queue" in p for p in plans), plans


def test_migration_0012_goes_down_and_up_again(db: Database) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from gripewatch.db import alembic_config

    def indexes() -> set[str]:
        names = {i["name"] for t in ("cases", "mentions") for i in inspect(db.engine).get_indexes(t)}
        return names & {"ix_cases_queue", "ix_cases_priority_status", "ix_mentions_case_facets"}

    assert len(indexes()) == 3
    command.downgrade(alembic_config(db.engine), "0010")
    assert indexes() == set()
    command.upgrade(alembic_config(db.engine), "head")
    assert len(indexes()) == 3
