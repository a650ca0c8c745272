"""Copies: the same text posted again, by the same customer or by others.

Every customer is someone's case, so a copy never hides a different author:

* the **same author** repeating a text of six or more words within
  ``WINDOW`` (48 hours, measured between the two posts -- within one page as
  across pages) is a duplicate (``duplicate_of``): it opens no second case
  (while their case is open it simply joins it, as anything they write does);
* a **different author** posting the same text is a copy (``copy_of``): they
  get their own case, and the copies are what makes an incident
  (``alerts.incidents``);
* short posts ("acme down?") are never copies: many real customers write them.

The fingerprint is :func:`analysis.noise.near_duplicate_key` (numbers count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.models import Author, Mention

MIN_WORDS = 6
WINDOW = timedelta(hours=48)


def long_enough(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS


@dataclass(frozen=True)
class Seen:
    id: int
    author_id: int | None
    created_at: datetime


@dataclass
class Copies:
    """Posts with the page's fingerprints around the page's times: (brand, fingerprint) -> posts."""

    seen: dict[tuple[str | None, str], list[Seen]] = field(default_factory=dict)

    @classmethod
    def load(cls, s: Session, prints: set[str], times: list[datetime]) -> Copies:
        if not prints or not times:
            return cls()
        rows = s.execute(
            select(Mention.brand, Mention.fingerprint, Mention.id, Mention.author_id, Mention.created_at)
            .where(
                Mention.fingerprint.in_(prints),
                Mention.created_at >= min(times) - WINDOW,
                Mention.created_at <= max(times) + WINDOW,
            )
            .order_by(Mention.id)
        ).all()
        out = cls()
        for brand, fp, mid, author, at in rows:
            if fp is not None:
                out.seen.setdefault((brand, fp), []).append(Seen(mid, author, at))
        return out

    def match(
        self, brand: str | None, fingerprint: str, text: str, author: Author | None, at: datetime
    ) -> tuple[int | None, int | None]:
        """(duplicate_of, copy_of): the first post within ``WINDOW`` of ``at`` with this text by the same
        author, and the first by someone else (both None for a short text)."""
        if not fingerprint or not long_enough(text):
            return None, None
        author_id = author.id if author is not None else None
        dup = copy = None
        for p in self.seen.get((brand, fingerprint), []):
            if abs(p.created_at - at) > WINDOW:
                continue
            if author_id is not None and p.author_id == author_id:
                dup = dup or p.id
            else:
                copy = copy or p.id
        return dup, copy

    def add(self, brand: str | None, fingerprint: str, text: str, m: Mention) -> None:
        self.add_seen(brand, fingerprint, text, Seen(m.id, m.author_id, m.created_at))

    def add_seen(self, brand: str | None, fingerprint: str, text: str, post: Seen) -> None:
        if fingerprint and long_enough(text):
            self.seen.setdefault((brand, fingerprint), []).append(post)


# A post of the page being stored, before the page is inserted, is known by its place in the page:
# ``in_page(n)`` is a stand-in id (negative, so never a row's), replaced by the row's id once inserted.


def in_page(n: int) -> int:
    return -1 - n


def is_in_page(post_id: object) -> TypeGuard[int]:
    return isinstance(post_id, int) and post_id < 0


def page_index(post_id: int) -> int:
    return -1 - post_id
