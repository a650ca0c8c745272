"""How often to poll a source: its rate-limit budget spread over its queries, with back-off.

Pure functions, no I/O. A source may declare ``requests_per_15min`` (its API
quota, per source entry or in its collector options) and ``queries`` (each
poll costs one request per query). Without a budget the source's
``interval_seconds`` is used.

    interval = max(900 s × queries / requests_per_15min, scheduler.min_poll_seconds,
                   interval_seconds if set explicitly)

After failures the next poll waits ``interval × 2^failures`` (capped at
``scheduler.max_backoff_seconds``); after a 429 it waits until the platform's
reset time (same cap). One success and the source is back to its interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gripewatch.config import SchedulerConfig, SourceConfig

WINDOW_SECONDS = 15 * 60
SPACING = 0.9  # replicas: a poll is due once 90 % of the interval has passed since the last one started


def budget(source: SourceConfig) -> int | None:
    """The source's ``requests_per_15min``, wherever its collector declares it."""
    for holder in (source, source.options):
        value = getattr(holder, "requests_per_15min", None)
        if isinstance(value, int | float) and value > 0:
            return int(value)
    return None


def queries(source: SourceConfig) -> int:
    """Requests one poll costs: the number of configured queries (at least 1)."""
    q = getattr(source.options, "queries", None)
    if isinstance(q, list | tuple) and q:
        return len(q)
    return 1


def poll_interval(source: SourceConfig, cfg: SchedulerConfig) -> float:
    """Seconds between two polls of ``source``: as fresh as its quota allows."""
    b = budget(source)
    if b is None:
        return float(source.interval_seconds)
    explicit = float(source.interval_seconds) if "interval_seconds" in source.model_fields_set else 0.0
    return max(WINDOW_SECONDS * queries(source) / b, cfg.min_poll_seconds, explicit)


def poll_not_before(interval: float, last_run: Any, state: Any, max_backoff: float) -> datetime | None:
    """When the next poll may start, given the latest run (any replica) and the source's health.

    ``last_run`` is a JobRun (``started_at``, ``finished_at``, ``outcome``, ``detail``)
    or None; ``state`` a SourceState (``consecutive_failures``, ``last_error_at``) or
    None. None means "now". Only a finished run spaces the next one: a run that is
    still open is either in progress (its lease keeps everyone else out) or was
    interrupted (killed with its process), and then the source is collected again
    as soon as its lease is free, not an interval after the dead run started.
    """
    gates: list[datetime] = []
    if last_run is not None and last_run.finished_at is not None:
        gates.append(last_run.started_at + timedelta(seconds=interval * SPACING))
        retry_at = (last_run.detail or {}).get("retry_at") if last_run.outcome == "rate_limited" else None
        if retry_at:
            gates.append(datetime.fromisoformat(retry_at))
    failures = getattr(state, "consecutive_failures", 0) or 0
    if failures and state.last_error_at is not None:
        gates.append(state.last_error_at + timedelta(seconds=min(interval * 2**failures, max_backoff)))
    return max(gates) if gates else None
