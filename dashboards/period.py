"""Digest periods: ``last-week``, ``YYYY-Www`` (ISO week) or ``FROM..TO`` (dates, inclusive).

A period is a half-open interval of aware datetimes in the digest's time zone;
the previous period is the interval of the same length just before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gripewatch.errors import InputError


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    label: str

    @property
    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.start - length, self.start, f"before {self.label}")

    @property
    def days(self) -> list[date]:
        d, out = self.start.date(), []
        while datetime.combine(d, time(), self.start.tzinfo) < self.end:
            out.append(d)
            d += timedelta(days=1)
        return out


_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
FIRST_YEAR, LAST_YEAR = 1970, 2999  # no mention is older; later dates are typing errors
MAX_DAYS = 400  # a digest covers at most about a year (its previous period as much again)


def parse_period(text: str, tz: str = "UTC", now: datetime | None = None) -> Period:
    """Parse a period; ``now`` (aware) decides what ``last-week`` means. InputError if unreadable."""
    zone = ZoneInfo(tz)
    text = text.strip()
    if text == "last-week":
        today = (now or datetime.now(zone)).astimezone(zone).date()
        monday = today - timedelta(days=today.weekday() + 7)
        return _week(monday, zone)
    if text == "this-week":
        today = (now or datetime.now(zone)).astimezone(zone).date()
        return _week(today - timedelta(days=today.weekday()), zone)
    m = _WEEK.match(text)
    if m:
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InputError(f"period {text!r}: no such ISO week") from None
        _check_years(text, monday, monday)
        return _week(monday, zone)
    if ".." in text:
        a, _, b = text.partition("..")
        try:
            first, last = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
        except ValueError:
            raise InputError(f"period {text!r}: dates must be YYYY-MM-DD..YYYY-MM-DD") from None
        if last < first:
            raise InputError(f"period {text!r}: the end is before the start")
        _check_years(text, first, last)
        if (last - first).days + 1 > MAX_DAYS:
            raise InputError(f"period {text!r}: at most {MAX_DAYS} days")
        start = datetime.combine(first, time(), zone)
        end = datetime.combine(last + timedelta(days=1), time(), zone)
        return Period(start, end, f"{first:%d %b %Y} – {last:%d %b %Y}")
    raise InputError(f"period {text!r}: use last-week, YYYY-Www (e.g. 2026-W47) or YYYY-MM-DD..YYYY-MM-DD")


def _check_years(text: str, first: date, last: date) -> None:
    if first.year < FIRST_YEAR or last.year > LAST_YEAR:
        raise InputError(f"period {text!r}: dates must be between {FIRST_YEAR} and {LAST_YEAR}")


def _week(monday: date, zone: ZoneInfo) -> Period:
    y, w, _ = monday.isocalendar()
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    sunday = monday + timedelta(days=6)
    return Period(start, end, f"week {y}-W{w:02d} ({monday:%d %b} – {sunday:%d %b %Y})")
