"""Complaint spikes: the "possible outage" signal.

:func:`detect_spikes` is pure. For every series (brand, topic) it compares the
complaints of the last ``window_hours`` with the *same hours of the week* in
each of the previous ``baseline_weeks`` weeks, so a Monday-morning rush is
compared with other Monday mornings. The
baseline is the median of those samples and its spread the MAD (scaled to a
standard deviation, floored at the Poisson noise ``sqrt(expected)``). A window
is a spike when it has at least ``min_complaints``, at least ``min_ratio``
times the baseline, and a robust z-score of at least ``z_threshold``.

One incident makes one alert: the spikes of a brand found at the same time
(its whole volume "*" and its topics) are merged into one, led by the whole
volume when it spiked, else by the strongest topic, naming every spiking topic;
a brand that alerted within ``cooldown_hours`` stays quiet.

:func:`check_spikes` runs the detector on the database and queues one alert
per spike in the outbox, linking the cases behind it.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from gripewatch.config import Settings, SpikeConfig
from gripewatch.db import Database
from gripewatch.models import Mention, SpikeAlert

ALL = "*"  # the topic of a brand's whole complaint volume
Series = Mapping[tuple[str, str], Mapping[datetime, int]]  # (brand, topic) -> hour (UTC) -> complaints


@dataclass(frozen=True)
class Spike:
    brand: str
    topic: str  # ALL for the brand's whole volume
    start: datetime
    end: datetime
    count: int
    expected: float
    z: float
    topics: tuple[str, ...] = ()  # every topic of the brand spiking in the same window

    @property
    def key(self) -> str:
        return f"{self.brand}|{self.topic}"

    @property
    def ratio(self) -> float:
        return self.count / max(self.expected, 1.0)


def hour(at: datetime) -> datetime:
    """The UTC hour bucket ``at`` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hourly_series(
    rows: Iterable[tuple[datetime, str | None, Iterable[str]]],
) -> dict[tuple[str, str], dict[datetime, int]]:
    """(created_at, brand, topics) of complaints -> hourly counts per (brand, ALL) and (brand, topic)."""
    out: dict[tuple[str, str], dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for at, brand, topics in rows:
        b, h = brand or "(no brand)", hour(at)
        out[(b, ALL)][h] += 1
        for t in set(topics):
            out[(b, t)][h] += 1
    return out


def _window_sum(counts: Mapping[datetime, int], end: datetime, hours: int) -> int:
    return sum(counts.get(end - timedelta(hours=i + 1), 0) for i in range(hours))


def detect_spikes(
    series: Series,
    at: datetime,
    cfg: SpikeConfig,
    last_alerted: Mapping[str, datetime] | None = None,
) -> list[Spike]:
    """Spikes in the window of ``cfg.window_hours`` ending at the hour of ``at``; pure.

    ``last_alerted`` maps a series key ("brand|topic") to when it last alerted;
    series inside their cooldown are skipped.
    """
    end = hour(at)
    w = cfg.window_hours
    start = end - timedelta(hours=w)
    cooldown = timedelta(hours=cfg.cooldown_hours)
    last_alerted = last_alerted or {}
    found: list[Spike] = []
    for (brand, topic), counts in series.items():
        count = _window_sum(counts, end, w)
        if count < cfg.min_complaints:
            continue
        key, whole = f"{brand}|{topic}", f"{brand}|{ALL}"
        if any(k in last_alerted and end - last_alerted[k] < cooldown for k in (key, whole)):
            continue
        samples = [_window_sum(counts, end - timedelta(weeks=k), w) for k in range(1, cfg.baseline_weeks + 1)]
        expected = statistics.median(samples)
        mad = statistics.median(abs(s - expected) for s in samples) * 1.4826
        scale = max(mad, math.sqrt(max(expected, 1.0)))
        z = (count - expected) / scale
        if count >= cfg.min_ratio * max(expected, 1.0) and z >= cfg.z_threshold:
            found.append(Spike(brand, topic, start, end, count, float(expected), round(z, 1)))
    by_brand: dict[str, list[Spike]] = defaultdict(list)
    for sp in found:
        by_brand[sp.brand].append(sp)
    merged = []
    for sps in by_brand.values():
        sps.sort(key=lambda s: (-s.z, s.topic))
        lead = next((s for s in sps if s.topic == ALL), sps[0])
        merged.append(dataclasses.replace(lead, topics=tuple(s.topic for s in sps if s.topic != ALL)))
    return sorted(merged, key=lambda s: (-s.z, s.brand, s.topic))


def scan_spikes(series: Series, start: datetime, end: datetime, cfg: SpikeConfig) -> list[Spike]:
    """Every spike an hourly check would have alerted between ``start`` and ``end`` (cooldown applied)."""
    last: dict[str, datetime] = {}
    out: list[Spike] = []
    at = hour(start) + timedelta(hours=cfg.window_hours)
    while at <= end:
        for s in detect_spikes(series, at, cfg, last):
            out.append(s)
            last[s.key] = s.end
            last[f"{s.brand}|{ALL}"] = s.end
        at += timedelta(hours=1)
    return out


# ------------------------------------------------------------------ database side


def check_spikes(db: Database, settings: Settings, now: datetime) -> list[Spike]:
    """Detect spikes now and queue one alert per new spike (to the escalations channel).

    The alert links the cases behind the spike; the cooldown is kept in the
    ``spike_alerts`` table, so repeated checks (cron, scheduler) alert once.
    """
    from gripewatch.alerts.outbox import enqueue  # late: keep the pure part import-light

    cfg = settings.digest.spikes
    if not cfg.enabled:
        return []
    since = hour(now) - timedelta(weeks=cfg.baseline_weeks, hours=2 * cfg.window_hours + 1)
    with db.session() as s:
        rows = s.execute(
            select(Mention.created_at, Mention.brand, Mention.analysis).where(
                Mention.is_complaint.is_(True), Mention.created_at >= since, Mention.created_at < hour(now)
            )
        ).all()
        series = hourly_series((at, b, (a or {}).get("topics") or ()) for at, b, a in rows)
        last = {r.key: r.alerted_at for r in s.scalars(select(SpikeAlert)).all()}
        spikes = detect_spikes(series, now, cfg, last)
        for sp in spikes:
            cases = _cases_behind(s, sp)
            enqueue(
                s,
                f"spike:{sp.key}:{sp.start.isoformat()}",
                "ops",
                settings.slack.channels.escalations,
                spike_payload(sp, cases, settings.digest.dashboard_url),
                at=now,
            )
            for key in {sp.key, f"{sp.brand}|{ALL}"}:
                row = s.get(SpikeAlert, key) or SpikeAlert(key=key)
                row.alerted_at, row.window_start, row.count, row.expected = sp.end, sp.start, sp.count, sp.expected
                s.add(row)
    return spikes


def _cases_behind(s: Any, sp: Spike, limit: int = 50) -> list[int]:
    q = select(Mention.case_id, Mention.analysis).where(
        Mention.is_complaint.is_(True),
        Mention.created_at >= sp.start,
        Mention.created_at < sp.end,
        Mention.case_id.is_not(None),
    )
    q = q.where(Mention.brand.is_(None) if sp.brand == "(no brand)" else Mention.brand == sp.brand)
    ids = [cid for cid, a in s.execute(q).all() if sp.topic == ALL or sp.topic in ((a or {}).get("topics") or ())]
    return sorted(set(ids))[:limit]


def spike_payload(sp: Spike, case_ids: list[int], dashboard_url: str | None = None) -> dict[str, Any]:
    """The outbox payload of a spike alert (rendered by every notifier as an ops alert)."""
    what = "complaints" if sp.topic == ALL else f"complaints about {sp.topic}"
    about = f"\nTopics spiking: {', '.join(sp.topics)}" if sp.topics else ""
    links = ", ".join(f"#{c}" for c in case_ids[:20])
    base = dashboard_url.rstrip("/") if dashboard_url else None
    more = f" and {len(case_ids) - 20} more" if len(case_ids) > 20 else ""
    return {
        "title": f"Possible outage: {sp.brand} {what} spiking",
        "text": (
            f"{sp.count} {what} between {sp.start:%H:%M} and {sp.end:%H:%M} UTC, "
            f"{sp.ratio:.1f}× the usual {sp.expected:.0f} for these hours of the week (z {sp.z}).\n"
            f"Cases: {links or 'none yet'}{more}{about}"
        ),
        "spike": {
            "brand": sp.brand,
            "topic": sp.topic,
            "topics": list(sp.topics),
            "start": sp.start.isoformat(),
            "end": sp.end.isoformat(),
            "count": sp.count,
            "expected": sp.expected,
        },
        "case_ids": case_ids,
        # (label, URL) of each case on the dashboard: notifiers make them links (Slack: http(s) only)
        "case_links": [[f"#{c}", f"{base}/cases/{c}"] for c in case_ids[:20]] if base else [],
    }
