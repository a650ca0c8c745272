"""Customers: linking identities across platforms, and importing customer value.

``link(session, identities)`` gives the authors ``platform:handle`` one shared
``customer_key`` so a mention from any of them joins the customer's open case.
``import_csv(session, path)`` reads ``handle,tier,lifetime_value`` (and
optionally ``platform``, default ``x``) and stores tier and lifetime value on
the author, creating authors not seen yet; bad rows are reported with their
line number and nothing is stored unless the whole file is valid.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gripewatch.errors import InputError
from gripewatch.models import Author, utcnow


def parse_identity(text: str) -> tuple[str, str]:
    """``"x:@Dana"`` → ``("x", "dana")``."""
    platform, sep, handle = text.partition(":")
    handle = handle.strip().lstrip("@").lower()
    if not sep or not platform.strip() or not handle:
        raise InputError(f"{text!r}: write identities as platform:handle, e.g. x:dana or reddit:dana_w")
    return platform.strip().lower(), handle


def _author(session: Session, platform: str, handle: str) -> tuple[Author, bool]:
    a = session.scalars(
        select(Author).where(Author.platform == platform, (Author.key == handle) | (Author.handle.ilike(handle)))
    ).first()
    if a is None:
        a = Author(platform=platform, key=handle, handle=handle, first_seen_at=utcnow())
        session.add(a)
        session.flush()
        return a, True
    return a, False


def link(session: Session, identities: list[str]) -> str:
    """Link two or more identities into one customer; return the customer key."""
    if len(identities) < 2:
        raise InputError("give at least two identities to link, e.g. x:dana reddit:dana_w")
    authors = [_author(session, *parse_identity(i))[0] for i in identities]
    keys = sorted({a.customer_key for a in authors if a.customer_key})
    key = keys[0] if keys else f"cust-{uuid.uuid4().hex[:12]}"
    if len(keys) > 1:  # merging two customers: move everyone of the others
        for a in session.scalars(select(Author).where(Author.customer_key.in_(keys[1:]))).all():
            a.customer_key = key
    for a in authors:
        a.customer_key = key
    return key


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0


def import_csv(session: Session, path: Path) -> ImportResult:
    """Store tier and lifetime value per handle from a CSV file (all rows or none)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    if not rows:
        raise InputError(f"{path}: no rows (expected a header handle,tier,lifetime_value)")
    if "handle" not in rows[0]:
        raise InputError(f"{path}: no 'handle' column (expected handle,tier,lifetime_value[,platform])")
    parsed = []
    for n, r in enumerate(rows, start=2):
        handle = (r.get("handle") or "").strip().lstrip("@").lower()
        if not handle:
            raise InputError(f"{path}:{n}: empty handle")
        ltv_text = (r.get("lifetime_value") or "").strip().replace(",", "")
        try:
            ltv = float(ltv_text) if ltv_text else None
        except ValueError:
            raise InputError(f"{path}:{n}: lifetime_value {ltv_text!r} is not a number") from None
        if ltv is not None and ltv < 0:
            raise InputError(f"{path}:{n}: lifetime_value must not be negative")
        platform = (r.get("platform") or "x").strip().lower() or "x"
        parsed.append((platform, handle, (r.get("tier") or "").strip().lower() or None, ltv))
    result = ImportResult()
    for platform, handle, tier, ltv in parsed:
        a, created = _author(session, platform, handle)
        result.created += created
        a.tier, a.lifetime_value = tier, ltv
        result.rows += 1
    return result
