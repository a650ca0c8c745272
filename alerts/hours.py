"""Working hours: who is on shift, and clocks that only tick during working time.

Pure functions over :class:`gripewatch.config.WorkingHours` (``hours`` as
``HH:MM-HH:MM`` on ``days`` in an IANA time zone). An overnight span such as
``22:00-06:00`` belongs to the day it starts on. ``None`` means "always".
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gripewatch.config import WorkingHours

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _span(wh: WorkingHours) -> tuple[time, time]:
    start, end = wh.hours.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def _shifts(wh: WorkingHours, around: datetime) -> list[tuple[datetime, datetime]]:
    """Working intervals (UTC) of the days around ``around`` (from the day before, for 8 days)."""
    tz = ZoneInfo(wh.tz)
    start_t, end_t = _span(wh)
    local = around.astimezone(tz)
    out = []
    for d in range(-1, 8):
        day = (local + timedelta(days=d)).date()
        if _DAYS[day.weekday()] not in wh.days:
            continue
        begin = datetime.combine(day, start_t, tz)
        finish = datetime.combine(day + timedelta(days=1) if end_t <= start_t else day, end_t, tz)
        out.append((begin.astimezone(UTC), finish.astimezone(UTC)))
    return out


def on_shift(wh: WorkingHours | None, now: datetime) -> bool:
    """Whether ``now`` falls in working hours (always true without working hours)."""
    if wh is None:
        return True
    return any(a <= now < b for a, b in _shifts(wh, now))


def add_working_time(start: datetime, duration: timedelta, wh: WorkingHours | None) -> datetime:
    """The moment ``duration`` of working time after ``start`` has elapsed."""
    if wh is None or duration <= timedelta(0):
        return start + duration
    left = duration
    cursor = start
    for _ in range(1000):  # a guard: every week has a shift, so sane durations finish long before
        shifts = [(max(a, cursor), b) for a, b in _shifts(wh, cursor) if b > cursor]
        for a, b in shifts:
            if left <= b - a:
                return a + left
            left -= b - a
            cursor = b
        if not shifts:
            cursor += timedelta(days=7)
    raise ValueError("working hours never open")
