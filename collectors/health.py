"""Source health: is each source collecting as usual? One ops alert per incident.

``source_health`` reads, per configured source, the stored state (last success,
last error, consecutive failures, rate limit) and the mention counts (last hour
vs. the usual hourly rate over ``health.baseline_days``). ``raise_ops_alerts``
turns a failing or unusually silent source into ONE alert in the outbox: its
key names the incident (the last success before the failures, or the last
mention before the silence), so later runs of the same incident add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gripewatch.alerts.outbox import enqueue
from gripewatch.config import Settings, SourceConfig
from gripewatch.models import Mention, SourceState

SILENCE_EXEMPT = {"replay"}  # files do not fall silent


@dataclass(frozen=True)
class Health:
    source: str
    type: str
    enabled: bool
    status: str  # ok | failing | silent | rate-limited | never run | disabled
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_hour: int
    usual_per_hour: float
    last_mention_at: datetime | None
    rate_limited_until: datetime | None

    @property
    def silent_for(self) -> timedelta | None:
        return None if self.status != "silent" or self.last_mention_at is None else self.at - self.last_mention_at

    at: datetime = datetime.min


def health_of(s: Session, settings: Settings, source: SourceConfig, now: datetime) -> Health:
    cfg = settings.health
    state = s.get(SourceState, source.name)
    since = now - timedelta(days=cfg.baseline_days)
    base = select(func.count(Mention.id)).where(Mention.source == source.name)
    last_hour = s.scalar(base.where(Mention.created_at > now - timedelta(hours=1), Mention.created_at <= now)) or 0
    baseline = s.scalar(base.where(Mention.created_at > since, Mention.created_at <= now)) or 0
    last_mention = s.scalar(select(func.max(Mention.created_at)).where(Mention.source == source.name))
    usual = baseline / (cfg.baseline_days * 24)
    failures = state.consecutive_failures if state else 0
    limited = (
        state.rate_limited_until if state and state.rate_limited_until and state.rate_limited_until > now else None
    )
    if not source.enabled:
        status = "disabled"
    elif failures >= cfg.alert_after_failures:
        status = "failing"
    elif state is None or (state.last_success_at is None and not failures):
        status = "never run"
    elif limited:
        status = "rate-limited"
    elif _silent(cfg, source, baseline, usual, last_mention, now):
        status = "silent"
    else:
        status = "ok"
    return Health(
        source=source.name,
        type=source.type,
        enabled=source.enabled,
        status=status,
        last_success_at=state.last_success_at if state else None,
        last_error=state.last_error if state else None,
        last_error_at=state.last_error_at if state else None,
        consecutive_failures=failures,
        last_hour=last_hour,
        usual_per_hour=usual,
        last_mention_at=last_mention,
        rate_limited_until=limited,
        at=now,
    )


def _silent(cfg, source, baseline, usual, last_mention, now) -> bool:  # type: ignore[no-untyped-def]
    if source.type in SILENCE_EXEMPT or baseline < cfg.min_baseline_mentions or last_mention is None or usual <= 0:
        return False
    allowed = max(cfg.min_silence_hours, cfg.silence_factor / usual)
    return bool(now - last_mention > timedelta(hours=allowed))


def source_health(s: Session, settings: Settings, now: datetime) -> list[Health]:
    """Health of every configured source, in config order."""
    return [health_of(s, settings, src, now) for src in settings.sources]


def raise_ops_alerts(s: Session, settings: Settings, source: SourceConfig, now: datetime) -> str | None:
    """Enqueue the ops alert for this source's current incident, once; return its key if new."""
    h = health_of(s, settings, source, now)
    channel = settings.slack.channels.ops or settings.slack.channels.alerts
    if h.status == "failing":
        since = h.last_success_at.isoformat(timespec="seconds") if h.last_success_at else "never"
        key = f"ops:{source.name}:failing:{since}"
        title = f"Source {source.name} ({source.type}) is failing"
        text = (
            f"{h.consecutive_failures} failed run(s) in a row; last error: {h.last_error or '?'}\n"
            f"Last success: {since}. Complaints on this platform are not being collected."
        )
    elif h.status == "silent" and h.last_mention_at is not None:
        key = f"ops:{source.name}:silent:{h.last_mention_at.isoformat(timespec='seconds')}"
        hours = (now - h.last_mention_at).total_seconds() / 3600
        title = f"Source {source.name} ({source.type}) has gone quiet"
        text = (
            f"No mention for {hours:.1f} h; it usually brings {h.usual_per_hour:.1f} per hour. "
            "Check its credentials, query and the platform's status."
        )
    else:
        return None
    row = enqueue(s, key[:128], "ops", channel, {"title": title, "text": text}, at=now)
    return key if row is not None else None
