"""The trends page's figures for a period: volume per day, complaints by topic, brand, source and
language, first-response and resolution distributions, satisfaction. Queries in, a dataclass out;
:func:`charts` draws it as SVG (:mod:`dashboards.svg`).

Periods are the digest's (``this-week``, ``last-week``, ``2026-W47``, ``FROM..TO``) plus
``last-7-days``, ``last-28-days`` and ``last-90-days`` ending today (in ``digest.timezone``).
Days are days in ``digest.timezone``. Response and resolution times are counted from when the case was opened,
as in the digest, so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from gripewatch.analysis.topics import DISPLAY_NAMES, display_name
from gripewatch.dashboards import svg
from gripewatch.dashboards.figures import Satisfaction, satisfaction, satisfaction_lines
from gripewatch.dashboards.period import Period, parse_period
from gripewatch.models import Case, CaseEvent, Mention

DEFAULT = "last-28-days"
CHOICES = {
    "last-7-days": "Last 7 days",
    "last-28-days": "Last 28 days",
    "last-90-days": "Last 90 days",
    "this-week": "This week",
    "last-week": "Last week",
}
DIGEST_CHOICES = {"this-week": "This week", "last-week": "Last week"}
PERIOD_HELP = "Unknown period: choose one from the list, an ISO week such as 2026-W47, or dates FROM..TO."
DIGEST_PERIOD_HELP = "Unknown period: use last-week, this-week, an ISO week such as 2026-W47, or dates FROM..TO."
RESPONSE_BUCKETS = ((15, "under 15 min"), (60, "15–60 min"), (240, "1–4 h"), (1440, "4–24 h"), (None, "over a day"))
RESOLUTION_BUCKETS = ((4, "under 4 h"), (24, "4–24 h"), (72, "1–3 days"), (168, "3–7 days"), (None, "over a week"))


def trend_period(text: str, tz: str, now: datetime) -> Period:
    """A period of the picker; InputError when unreadable (the digest's periods work too)."""
    text = text.strip()
    if text.startswith("last-") and text.endswith("-days"):
        n = text[5:-5]
        if n.isdigit() and 1 <= int(n) <= 366:
            from zoneinfo import ZoneInfo

            today = now.astimezone(ZoneInfo(tz)).date()
            p = parse_period(f"{today - timedelta(days=int(n) - 1)}..{today}", tz, now)
            return Period(p.start, p.end, f"last {n} days ({p.label})")
    return parse_period(text, tz, now)


@dataclass(frozen=True)
class Trends:
    period: Period
    days: list[date]
    mentions: list[int]
    complaints: list[int]
    by_topic: list[tuple[str, int]]
    by_brand: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_language: list[tuple[str, int]]
    first_response: list[tuple[str, int]]
    resolution: list[tuple[str, int]]
    unanswered: int  # cases opened in the period still without a first response
    unresolved: int
    satisfaction: Satisfaction


def _bucket(value: float, buckets: tuple[tuple[int | None, str], ...], counts: dict[str, int]) -> None:
    for limit, label in buckets:
        if limit is None or value < limit:
            counts[label] += 1
            return


def load_trends(s: Session, period: Period, now: datetime) -> Trends:
    start, end = period.start, min(period.end, now + timedelta(days=1))
    in_period = (Mention.created_at >= start, Mention.created_at < end, Mention.is_own.is_(False))
    complaint = Mention.is_complaint.is_(True)
    rows = s.execute(select(Mention.created_at, Mention.is_complaint).where(*in_period)).all()
    days = period.days
    index = {d: i for i, d in enumerate(days)}
    mentions, complaints = [0] * len(days), [0] * len(days)
    for at, is_c in rows:
        i = index.get(at.astimezone(period.start.tzinfo).date())
        if i is not None:
            mentions[i] += 1
            complaints[i] += 1 if is_c else 0
    text = cast(Mention.analysis, String)
    topic_sums = s.execute(
        select(*[func.sum(case((text.like(f'%"{t}"%'), 1), else_=0)) for t in DISPLAY_NAMES]).where(
            *in_period, complaint
        )
    ).one()
    by_topic = sorted(
        ((display_name(t), int(n or 0)) for t, n in zip(DISPLAY_NAMES, topic_sums, strict=True) if n),
        key=lambda kv: -kv[1],
    )

    def grouped(column: Any, name: Any = str) -> list[tuple[str, int]]:
        got = s.execute(select(column, func.count()).where(*in_period, complaint).group_by(column)).all()
        return sorted(((name(k) if k else "unknown", int(n)) for k, n in got), key=lambda kv: -kv[1])[:12]

    by_language = grouped(Mention.analysis["language"].as_string())
    cases = s.execute(
        select(Case.opened_at, Case.first_response_at, Case.resolved_at, Case.status).where(
            Case.opened_at >= start, Case.opened_at < end
        )
    ).all()
    fr = {label: 0 for _, label in RESPONSE_BUCKETS}
    res = {label: 0 for _, label in RESOLUTION_BUCKETS}
    unanswered = unresolved = resolved = 0
    for opened, first, done, status in cases:
        if status == "not_complaint":
            continue
        if first is None:
            unanswered += 1
        else:
            _bucket((first - opened).total_seconds() / 60, RESPONSE_BUCKETS, fr)
        if done is None:
            unresolved += 1
        else:
            resolved += 1
            _bucket((done - opened).total_seconds() / 3600, RESOLUTION_BUCKETS, res)
    events = s.scalars(select(CaseEvent).where(CaseEvent.at >= start, CaseEvent.at < end)).all()
    resolved_in = s.scalar(
        select(func.count()).select_from(Case).where(Case.resolved_at >= start, Case.resolved_at < end)
    )
    return Trends(
        period=period,
        days=days,
        mentions=mentions,
        complaints=complaints,
        by_topic=by_topic,
        by_brand=grouped(Mention.brand),
        by_source=grouped(Mention.source),
        by_language=by_language,
        first_response=list(fr.items()),
        resolution=list(res.items()),
        unanswered=unanswered,
        unresolved=unresolved,
        satisfaction=satisfaction(events, int(resolved_in or 0)),
    )


def charts(t: Trends) -> dict[str, Markup]:
    return {
        "volume": Markup('<div class="chart-wide">')
        + svg.day_columns("Mentions and complaints per day", t.days, t.mentions, t.complaints, width=900)
        + Markup('</div><div class="chart-narrow">')
        + svg.day_columns("Mentions and complaints per day", t.days, t.mentions, t.complaints)
        + Markup("</div>"),
        "topic": svg.hbars("Complaints by topic", t.by_topic),
        "brand": svg.hbars("Complaints by brand", t.by_brand),
        "source": svg.hbars("Complaints by source", t.by_source),
        "language": svg.hbars("Complaints by language", t.by_language),
        "first_response": svg.hbars(
            "Time to first response", t.first_response, "No case opened in this period was answered yet."
        ),
        "resolution": svg.hbars("Time to resolution", t.resolution, "No case opened in this period is resolved yet."),
    }


def satisfaction_text(t: Trends) -> list[str]:
    return satisfaction_lines(t.satisfaction)
