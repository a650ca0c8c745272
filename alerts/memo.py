"""What one page's routing looks up once instead of once per mention.

The pipeline stores a page of mentions in one transaction and routes them one by one (open, join,
reopen, answer a case). Each route used to ask the database for the customer's linked identities, their
open and resolved cases, whether an outbox key exists and the measured p90 first response -- several
round trips per mention. ``scope(session, authors, keys)`` loads those for the whole page in a few
queries and keeps them on the session (``session.info``) until the page's savepoint ends;
:func:`alerts.cases.case_for`, :func:`alerts.outbox.enqueue` and :func:`alerts.card.card_payload` use
them when a page is in scope and ask the database otherwise, so every other caller is unchanged.

What stays right inside a page: the cases are live ORM objects (a status changed while routing is
seen), a case opened by the page is added (``add_case``), an outbox row queued by the page is added to
the known keys, and a key or customer the page did not load is looked up as before. The p90 first
response is measured once per priority per page (a brand reply within the same page changes it by one
sample: the next page sees it), as the dashboard already caches it for minutes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.alerts.copies import WINDOW, Copies
from gripewatch.models import OPEN_STATUSES, Author, Case, Incident, Mention, Outbox, Reply

_KEY = "gripewatch.page_memo"
#: the statuses a pipeline route looks for (open, or resolved for a reopening)
ROUTED = (*OPEN_STATUSES, "resolved")


@dataclass
class PageMemo:
    linked: dict[int, list[int]] = field(default_factory=dict)  # author id -> the customer's identities
    cases: dict[int, list[Case]] = field(default_factory=dict)  # author id -> their open and resolved cases
    keys: set[str] = field(default_factory=set)  # outbox keys looked up (present or not)
    existing: set[str] = field(default_factory=set)  # of those, the ones with a row
    p90: dict[str, timedelta | None] = field(default_factory=dict)
    known: set[int] = field(default_factory=set)  # ids of the cases above (loaded or opened by the page)
    replied: set[int] = field(default_factory=set)  # of those, the ones with a staff reply
    recorded: set[Any] = field(default_factory=set)  # case events recorded by the page (new ids)
    incidents: dict[str | None, list[Incident]] | None = None  # brand -> live incidents (when loaded)
    copies: Copies | None = None  # the page's posts by fingerprint (alerts.copies), when routing a page
    asked: set[tuple[str, str]] = field(default_factory=set)  # (platform, external id) a brand reply answers
    answered: dict[tuple[str, str], Mention] = field(default_factory=dict)  # of those, the customer posts with a case

    def load(self, s: Session, authors: Iterable[Author], keys: Iterable[str]) -> None:
        """The page's customers, their linked identities and cases, and which of ``keys`` are queued already."""
        by_id = {a.id: a for a in authors if a is not None and a.id is not None}
        self._load_customers(s, by_id)
        wanted = [k for k in set(keys) if k not in self.keys]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            self.existing.update(s.scalars(select(Outbox.key).where(Outbox.key.in_(chunk))).all())
            self.keys.update(chunk)

    def _load_customers(self, s: Session, by_id: dict[int, Author]) -> None:
        todo = {i: a for i, a in by_id.items() if i not in self.linked}
        if not todo:
            return
        keys = {a.customer_key for a in todo.values() if a.customer_key}
        same: dict[str, list[int]] = {}
        if keys:
            linked = s.execute(select(Author.id, Author.customer_key).where(Author.customer_key.in_(keys)))
            for aid, key in linked:
                same.setdefault(key or "", []).append(aid)
        for i, a in todo.items():
            self.linked[i] = sorted(same.get(a.customer_key, [i])) if a.customer_key else [i]
        ids = {x for i in todo for x in self.linked[i]} - set(self.cases)
        for x in ids:
            self.cases[x] = []
        if ids:
            rows = s.scalars(select(Case).where(Case.author_id.in_(ids), Case.status.in_(ROUTED)).order_by(Case.id))
            found = []
            for c in rows:
                if c.author_id is not None:
                    self.cases[c.author_id].append(c)
                    found.append(c.id)
            for i in range(0, len(found), 500):
                chunk = found[i : i + 500]
                self.replied.update(s.scalars(select(Reply.case_id).where(Reply.case_id.in_(chunk)).distinct()))
            self.known.update(found)

    def load_answered(self, s: Session, targets: list[tuple[str, str]]) -> None:
        """The customer posts with a case that the page's brand replies answer (read after the page's other
        posts were routed, so a post of the same page counts), the first stored of each."""
        todo = sorted(set(targets) - self.asked)
        for i in range(0, len(todo), 500):
            chunk = todo[i : i + 500]
            rows = s.scalars(
                select(Mention)
                .where(
                    Mention.external_id.in_({ext for _, ext in chunk}),
                    Mention.platform.in_({p for p, _ in chunk}),
                    Mention.case_id.is_not(None),
                    Mention.is_own.is_(False),
                )
                .order_by(Mention.id)
            )
            for m in rows:
                self.answered.setdefault((m.platform, m.external_id), m)
            self.asked.update(chunk)

    def customer_ids(self, s: Session, author_id: int) -> list[int]:
        if author_id not in self.linked:
            a = s.get(Author, author_id)
            if a is not None:
                self._load_customers(s, {author_id: a})
        return self.linked.get(author_id, [author_id])

    def newest_case(self, s: Session, author_id: int, brand: str | None, statuses: tuple[str, ...]) -> Case | None:
        """The customer's newest case with ``brand`` in ``statuses`` (``statuses`` within ``ROUTED``)."""
        found = [
            c
            for x in self.customer_ids(s, author_id)
            for c in self.cases.get(x, [])
            if c.brand == brand and c.status in statuses
        ]
        return max(found, key=lambda c: c.id) if found else None

    def add_case(self, case: Case) -> None:
        """A case the page opened (it has no reply yet)."""
        self.known.add(case.id)
        if case.author_id is not None and case.author_id in self.cases:
            self.cases[case.author_id].append(case)

    def has_no_replies(self, case_id: int) -> bool:
        return case_id in self.known and case_id not in self.replied

    def live_incidents(self, s: Session, brand: str | None, live: tuple[str, ...]) -> list[Incident]:
        """The brand's live incidents (the page's brands read in one query; ones the page forms are added)."""
        if self.incidents is None:
            self.incidents = {}
            for inc in s.scalars(select(Incident).where(Incident.status.in_(live)).order_by(Incident.id)):
                self.incidents.setdefault(inc.brand, []).append(inc)
        return self.incidents.get(brand, [])

    def add_incident(self, inc: Incident) -> None:
        if self.incidents is not None:
            self.incidents.setdefault(inc.brand, []).append(inc)

    def fresh_event(self, ev: Any) -> bool:
        """Whether ``ev`` was recorded by this page (its id is new: no outbox key can name it yet)."""
        return ev in self.recorded

    def could_be_incident(self, brand: str | None, fingerprint: str, at: datetime, window: timedelta, n: int) -> bool:
        """False when fewer than ``n`` customers posted this text around ``at`` (no query needed to know it):
        the page's copies hold every post with its fingerprint within ``copies.WINDOW`` of the page."""
        if self.copies is None or window > WINDOW:
            return True
        near = [p for p in self.copies.seen.get((brand, fingerprint), []) if abs(p.created_at - at) <= window]
        return len({p.author_id if p.author_id is not None else -1 - i for i, p in enumerate(near)}) >= n

    def exists(self, s: Session, key: str) -> bool:
        if key not in self.keys:
            return s.scalar(select(Outbox.id).where(Outbox.key == key)) is not None
        return key in self.existing

    def queued(self, key: str) -> None:
        self.keys.add(key)
        self.existing.add(key)

    def first_response_p90(self, priority: str, measure: Callable[[], timedelta | None]) -> timedelta | None:
        if priority not in self.p90:
            self.p90[priority] = measure()
        return self.p90[priority]


def current(s: Session) -> PageMemo | None:
    """The memo of the page being stored in ``s``, if any."""
    memo = s.info.get(_KEY)
    return memo if isinstance(memo, PageMemo) else None


@contextlib.contextmanager
def scope(s: Session) -> Iterator[PageMemo]:
    """Keep a fresh memo on ``s`` while the block runs (one page's savepoint)."""
    memo = PageMemo()
    s.info[_KEY] = memo
    try:
        yield memo
    finally:
        s.info.pop(_KEY, None)
