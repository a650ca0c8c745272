"""The manager's weekly digest: :func:`build_digest` turns plain rows into a :class:`Digest`. Pure.

The rows come from :func:`dashboards.load.load_digest_input` (the database);
renderers (``dashboards.render``) and senders (``dashboards.send``) are separate.
Times are aware datetimes; days are counted in the digest's time zone.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gripewatch.alerts.hours import add_working_time
from gripewatch.config import DigestConfig, WorkingHours
from gripewatch.dashboards.period import Period
from gripewatch.dashboards.problems import Complaint, group_complaints
from gripewatch.dashboards.spikes import ALL, Spike, hourly_series, scan_spikes

OPEN = ("new", "acknowledged", "waiting", "escalated")


# ------------------------------------------------------------------ input


@dataclass(frozen=True)
class VolumeRow:
    """Mentions of one UTC hour, source and brand."""

    hour: datetime
    source: str
    brand: str | None
    mentions: int
    complaints: int
    sentiment_sum: float
    sentiment_n: int


@dataclass(frozen=True)
class ComplaintRow:
    id: int
    created_at: datetime
    brand: str | None
    source: str
    platform: str
    text: str
    author: str | None
    followers: int | None = None
    tier: str | None = None
    topics: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    case_id: int | None = None
    url: str | None = None


#: First-response and resolution targets in minutes per priority (the defaults of ``cases.sla``).
DEFAULT_SLA_TARGETS = {
    "critical": (15.0, 240.0),
    "high": (60.0, 480.0),
    "normal": (240.0, 1440.0),
    "low": (1440.0, 4320.0),
}


@dataclass(frozen=True)
class CaseRow:
    id: int
    brand: str | None
    status: str
    priority: str
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    author: str | None
    followers: int | None
    tier: str | None
    summary: str
    started_at: datetime | None = None  # the customer's first post; the SLA clock starts here

    @property
    def start(self) -> datetime:
        return self.started_at or self.opened_at


@dataclass(frozen=True)
class EventRow:
    case_id: int
    at: datetime
    actor: str
    kind: str


@dataclass(frozen=True)
class DigestInput:
    period: Period
    generated_at: datetime
    volume: tuple[VolumeRow, ...]  # from the spike baseline before the previous period to the period's end
    complaints: tuple[ComplaintRow, ...]  # created in the period
    previous_complaints: tuple[ComplaintRow, ...]  # created in the previous period
    baseline_topics: tuple[tuple[datetime, str | None, tuple[str, ...]], ...]  # complaints before the period
    cases: tuple[CaseRow, ...]  # opened or resolved in the period, or open now
    events: tuple[EventRow, ...]  # in the period
    brands: tuple[str, ...]
    handles: tuple[str, ...] = ()  # the brands' own accounts (never masked)
    keywords: tuple[str, ...] = ()  # the brands' keywords (never a "problem")
    #: SLA targets per priority, minutes: {priority: (first response, resolution)} (``cases.sla``)
    sla_targets: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_SLA_TARGETS))
    working_hours: WorkingHours | None = None  # ``cases.working_hours``: SLA clocks count only these hours


# ------------------------------------------------------------------ output


@dataclass(frozen=True)
class Quote:
    text: str
    author: str
    platform: str
    url: str | None
    case_id: int | None


@dataclass(frozen=True)
class Problem:
    label: str
    kind: str
    count: int
    previous: int
    brands: tuple[str, ...]
    quotes: tuple[Quote, ...]
    case_ids: tuple[int, ...]


@dataclass(frozen=True)
class Line:
    name: str
    mentions: int
    complaints: int
    previous_mentions: int = 0
    previous_complaints: int = 0

    @property
    def rate(self) -> float:
        return self.complaints / self.mentions if self.mentions else 0.0

    @property
    def previous_rate(self) -> float:
        return self.previous_complaints / self.previous_mentions if self.previous_mentions else 0.0


@dataclass(frozen=True)
class Day:
    day: date
    mentions: int
    complaints: int
    previous_complaints: int
    sentiment: float | None


@dataclass(frozen=True)
class Sla:
    cases: int
    responded: int
    first_response_median_min: float | None
    first_response_p90_min: float | None
    resolved: int
    resolution_median_h: float | None
    resolution_p90_h: float | None
    response_breaches: int
    resolution_breaches: int
    targets: str  # the per-priority targets, for people ("critical 15 min / 4 h, …")

    @property
    def compliance(self) -> float | None:
        return 1 - self.response_breaches / self.cases if self.cases else None


@dataclass(frozen=True)
class CaseLine:
    id: int
    brand: str | None
    status: str
    priority: str
    author: str
    followers: int | None
    tier: str | None
    assignee: str | None
    opened_at: datetime
    summary: str


@dataclass(frozen=True)
class Agent:
    name: str
    open: int
    resolved: int
    median_resolution_h: float | None


@dataclass
class Digest:
    period: Period
    generated_at: datetime
    timezone: str
    total: Line
    sentiment: float | None
    previous_sentiment: float | None
    by_source: list[Line]
    by_brand: list[Line]
    competitors: list[Line]
    days: list[Day]
    problems: list[Problem]
    spikes: list[Spike]
    sla: Sla
    backlog_open: int
    backlog_unassigned: int
    backlog_by_status: dict[str, int]
    oldest_open: CaseLine | None
    agents: list[Agent]
    escalations: list[CaseLine]
    escalation_count: int
    high_reach: list[Quote]
    high_reach_count: int
    third_parties: list[tuple[str, int]]
    highlights: list[str] = field(default_factory=list)
    dashboard_url: str | None = None


# ------------------------------------------------------------------ build


def build_digest(data: DigestInput, cfg: DigestConfig) -> Digest:
    """The digest of ``data.period``; pure (no database, no clock, no network)."""
    p, prev = data.period, data.period.previous
    zone = ZoneInfo(cfg.timezone)
    mask = _masker(cfg.mask_authors, data.handles)
    cur = [v for v in data.volume if p.start <= v.hour < p.end]
    old = [v for v in data.volume if prev.start <= v.hour < prev.end]
    total = Line("all", *_sum(cur), *_sum(old))
    competitors = set(cfg.competitors)
    lines = _lines(cur, old, lambda v: v.brand or "(no brand)")
    by_brand = [ln for ln in lines if ln.name not in competitors]
    comp = [ln for ln in lines if ln.name in competitors]
    ours = [c for c in data.complaints if c.brand not in competitors]
    ours_prev = [c for c in data.previous_complaints if c.brand not in competitors]

    digest = Digest(
        period=p,
        generated_at=data.generated_at,
        timezone=cfg.timezone,
        total=total,
        sentiment=_sentiment(cur),
        previous_sentiment=_sentiment(old),
        by_source=_lines(cur, old, lambda v: v.source),
        by_brand=by_brand,
        competitors=comp,
        days=_days(p, cur, old, zone),
        problems=_problems(ours, ours_prev, data, cfg, mask),
        spikes=_spikes(data, cfg),
        sla=_sla(data.cases, p, data.generated_at, data.sla_targets, data.working_hours),
        backlog_open=0,
        backlog_unassigned=0,
        backlog_by_status={},
        oldest_open=None,
        agents=_agents(data.cases, data.events, p),
        escalations=[],
        escalation_count=0,
        high_reach=[],
        high_reach_count=0,
        third_parties=_third_parties(ours, cfg.third_parties),
        dashboard_url=cfg.dashboard_url,
    )
    open_cases = sorted((c for c in data.cases if c.status in OPEN), key=lambda c: c.start)
    digest.backlog_open = len(open_cases)
    digest.backlog_unassigned = sum(1 for c in open_cases if not c.assignee)
    digest.backlog_by_status = dict(Counter(c.status for c in open_cases))
    digest.oldest_open = _case_line(open_cases[0], mask) if open_cases else None
    escalated_ids = {e.case_id for e in data.events if e.kind in ("escalated", "escalate")}
    escalated_ids |= {c.case_id for c in ours if c.escalation and c.case_id}
    esc = [c for c in data.cases if c.id in escalated_ids or (c.status == "escalated" and p.start <= c.start < p.end)]
    digest.escalation_count = len(esc)
    digest.escalations = [_case_line(c, mask) for c in sorted(esc, key=_rank)[: cfg.top_n]]
    reach = [
        c
        for c in ours
        if (c.tier or "").lower() in ("vip", "key", "enterprise") or (c.followers or 0) >= cfg.high_reach_followers
    ]
    reach.sort(key=lambda c: (-(c.tier is not None), -(c.followers or 0), c.id))
    digest.high_reach_count = len(reach)
    digest.high_reach = [_quote(c, mask) for c in reach[: cfg.top_n]]
    digest.highlights = _highlights(digest)
    return digest


def _sum(rows: list[VolumeRow]) -> tuple[int, int]:
    return sum(r.mentions for r in rows), sum(r.complaints for r in rows)


def _sentiment(rows: list[VolumeRow]) -> float | None:
    n = sum(r.sentiment_n for r in rows)
    return sum(r.sentiment_sum for r in rows) / n if n else None


def _lines(cur: list[VolumeRow], old: list[VolumeRow], key) -> list[Line]:  # type: ignore[no-untyped-def]
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for rows, off in ((cur, 0), (old, 2)):
        for r in rows:
            a = acc[key(r)]
            a[off] += r.mentions
            a[off + 1] += r.complaints
    lines = [Line(k, *v) for k, v in acc.items() if v[0]]
    return sorted(lines, key=lambda ln: (-ln.mentions, ln.name))


def _days(p: Period, cur: list[VolumeRow], old: list[VolumeRow], zone: ZoneInfo) -> list[Day]:
    length = p.end - p.start
    m: Counter[date] = Counter()
    c: Counter[date] = Counter()
    pc: Counter[date] = Counter()
    s: dict[date, list[float]] = defaultdict(lambda: [0.0, 0])
    for r in cur:
        d = r.hour.astimezone(zone).date()
        m[d] += r.mentions
        c[d] += r.complaints
        s[d][0] += r.sentiment_sum
        s[d][1] += r.sentiment_n
    for r in old:
        pc[(r.hour + length).astimezone(zone).date()] += r.complaints
    return [Day(d, m[d], c[d], pc[d], s[d][0] / s[d][1] if s[d][1] else None) for d in p.days]


def _problems(
    ours: list[ComplaintRow], prev: list[ComplaintRow], data: DigestInput, cfg: DigestConfig, mask: Any
) -> list[Problem]:
    from gripewatch.dashboards.problems import terms

    ignore = [*data.brands, *cfg.competitors, *data.handles, *data.keywords]
    groups = group_complaints([Complaint(c.id, c.text, c.author, c.topics) for c in ours], ignore, max_groups=cfg.top_n)
    by_id = {c.id: c for c in ours}
    ign = frozenset(w.lower() for n in ignore for w in n.split())
    prev_bags = [(c.topics, terms(c.text, ign)) for c in prev]
    out = []
    for g in groups:
        members = [by_id[i] for i in g.members]
        before = sum(1 for t, b in prev_bags if (g.label in t if g.kind == "topic" else (not t and g.label in b)))
        out.append(
            Problem(
                label=g.label,
                kind=g.kind,
                count=len(members),
                previous=before,
                brands=tuple(sorted({c.brand or "(no brand)" for c in members})),
                quotes=tuple(_quote(by_id[i], mask) for i in g.quotes),
                case_ids=tuple(sorted({c.case_id for c in members if c.case_id})),
            )
        )
    return out


def _spikes(data: DigestInput, cfg: DigestConfig) -> list[Spike]:
    rows = [*data.baseline_topics, *((c.created_at, c.brand, c.topics) for c in data.previous_complaints)]
    rows += [(c.created_at, c.brand, c.topics) for c in data.complaints]
    return scan_spikes(hourly_series(rows), data.period.start, data.period.end, cfg.spikes)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def _sla(
    cases: tuple[CaseRow, ...],
    p: Period,
    now: datetime,
    targets: Mapping[str, tuple[float, float]],
    working_hours: WorkingHours | None = None,
) -> Sla:
    """SLA figures of the period, each case against its own priority's targets (``cases.sla``), counted in
    ``cases.working_hours`` when set -- the clock Slack's reminders and escalations run on."""

    def due(c: CaseRow, which: int) -> datetime:
        minutes = (targets.get(c.priority) or targets.get("normal") or DEFAULT_SLA_TARGETS["normal"])[which]
        return add_working_time(c.start, timedelta(minutes=minutes), working_hours)

    opened = [c for c in cases if p.start <= c.start < p.end]
    frt = [max((c.first_response_at - c.start).total_seconds() / 60, 0.0) for c in opened if c.first_response_at]
    r_breach = sum(1 for c in opened if (c.first_response_at or now) > due(c, 0) and c.status != "not_complaint")
    resolved = [c for c in cases if c.resolved_at and p.start <= c.resolved_at < p.end]
    res = [(c.resolved_at - c.start).total_seconds() / 3600 for c in resolved if c.resolved_at]
    x_breach = sum(1 for c in resolved if c.resolved_at and c.resolved_at > due(c, 1))
    x_breach += sum(1 for c in cases if c.status in OPEN and now > due(c, 1) and c.start < p.end)
    shown = ", ".join(f"{k} {_span(fr)} / {_span(rs)}" for k, (fr, rs) in targets.items())
    if working_hours is not None:
        shown += f"; counted in working hours {working_hours.hours} {'/'.join(working_hours.days)} {working_hours.tz}"
    return Sla(
        cases=len(opened),
        responded=len(frt),
        first_response_median_min=statistics.median(frt) if frt else None,
        first_response_p90_min=_pct(frt, 0.9),
        resolved=len(res),
        resolution_median_h=statistics.median(res) if res else None,
        resolution_p90_h=_pct(res, 0.9),
        response_breaches=r_breach,
        resolution_breaches=x_breach,
        targets=shown,
    )


def _span(minutes: float) -> str:
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


def _agents(cases: tuple[CaseRow, ...], events: tuple[EventRow, ...], p: Period) -> list[Agent]:
    load = Counter(c.assignee for c in cases if c.status in OPEN and c.assignee)
    res: dict[str, list[float]] = defaultdict(list)
    for c in cases:
        if c.resolved_at and p.start <= c.resolved_at < p.end:
            who = c.assignee or next(
                (e.actor for e in events if e.case_id == c.id and e.kind in ("resolved", "resolve")), None
            )
            if who:
                res[who].append((c.resolved_at - c.start).total_seconds() / 3600)
    names = sorted(set(load) | set(res), key=lambda n: (-len(res.get(n, [])), -load.get(n, 0), n))
    return [
        Agent(n, load.get(n, 0), len(res.get(n, [])), statistics.median(res[n]) if res.get(n) else None) for n in names
    ]


def _third_parties(complaints: list[ComplaintRow], names: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for name in names:
        pat = re.compile(rf"(?<!\w)[@#]?{re.escape(name)}(?!\w)", re.IGNORECASE)
        n = sum(1 for c in complaints if pat.search(c.text))
        out.append((name, n))
    return sorted(out, key=lambda x: (-x[1], x[0]))


def _rank(c: CaseRow) -> tuple[int, datetime]:
    return ({"critical": 0, "high": 1, "normal": 2, "low": 3}.get(c.priority, 2), c.start)


def _masker(on: bool, handles: tuple[str, ...]):  # type: ignore[no-untyped-def]
    own = {h.lower().lstrip("@") for h in handles}

    def handle(h: str | None) -> str:
        if not h:
            return "someone"
        h = h.lstrip("@")
        if not on or h.lower() in own:
            return "@" + h
        return "@" + h[:1] + "•••"

    def text(t: str) -> str:
        return re.sub(r"@(\w+)", lambda m: handle(m.group(1)), t) if on else t

    return handle, text


def _quote(c: ComplaintRow, mask) -> Quote:  # type: ignore[no-untyped-def]
    handle, text = mask
    t = text(" ".join(c.text.split()))
    return Quote(t if len(t) <= 280 else t[:277] + "…", handle(c.author), c.platform, c.url, c.case_id)


def _case_line(c: CaseRow, mask) -> CaseLine:  # type: ignore[no-untyped-def]
    handle, text = mask
    return CaseLine(
        c.id,
        c.brand,
        c.status,
        c.priority,
        handle(c.author),
        c.followers,
        c.tier,
        c.assignee,
        c.start,
        text(c.summary[:200]),
    )


def _change(now: float, before: float) -> str:
    if not before:
        return "new" if now else "flat"
    d = (now - before) / before
    return f"{d:+.0%}"


def _highlights(d: Digest) -> list[str]:
    t = d.total
    out = [
        f"{t.complaints:,} complaints in {t.mentions:,} mentions ({t.rate:.0%} complaint rate, "
        f"{t.previous_rate:.0%} the period before; complaints {_change(t.complaints, t.previous_complaints)})."
    ]
    if d.problems:
        top = d.problems[0]
        out.append(f"Top problem: “{top.label}” — {top.count} complaints ({_change(top.count, top.previous)}).")
    if d.spikes:
        s = d.spikes[0]
        what = "complaints" if s.topic == ALL else f"“{s.topic}” complaints"
        out.append(
            f"{len(d.spikes)} spike(s); the largest: {s.count} {d.spikes[0].brand} {what} "
            f"around {s.start:%a %H:%M} UTC ({s.ratio:.1f}× usual)."
        )
    if d.sla.compliance is not None:
        out.append(
            f"First-response SLA met for {d.sla.compliance:.0%} of new cases "
            f"({d.sla.response_breaches} breaches; targets by priority: {d.sla.targets})."
        )
    if d.oldest_open:
        age = (d.generated_at - d.oldest_open.opened_at).days
        out.append(
            f"{d.backlog_open} open cases ({d.backlog_unassigned} unassigned); the oldest is #{d.oldest_open.id}, "
            f"{age} day(s) old."
        )
    return out
