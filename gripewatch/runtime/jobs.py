"""Jobs: what ``run-once`` (cron) and the daemon run. Each holds its lease while it runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gripewatch.alerts.notify import Notifier
from gripewatch.alerts.outbox import DispatchResult, dispatch
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import LockBusy
from gripewatch.models import utcnow
from gripewatch.pipeline import SourceRun, run_source
from gripewatch.runtime import leases, runlog

log = logging.getLogger(__name__)


def make_notifier(settings: Settings) -> Notifier:
    """The notifier ``slack.mode`` asks for."""
    if settings.slack.mode == "api":
        from gripewatch.alerts.slack import SlackNotifier

        return SlackNotifier.from_config(settings)
    from gripewatch.alerts.console import SUMMARY_AFTER, ConsoleNotifier

    return ConsoleNotifier(max_cards=SUMMARY_AFTER)


@dataclass
class RunReport:
    sources: list[SourceRun] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    delivery: DispatchResult | None = None

    @property
    def failed(self) -> list[SourceRun]:
        return [r for r in self.sources if r.error]

    @property
    def refused(self) -> list[str]:
        """Why Slack refused alerts for a configuration reason (they reach nobody until it is fixed)."""
        return self.delivery.refused if self.delivery else []


def collect_source(
    db: Database, settings: Settings, name: str, holder: str, wait: float = 0.0, now: Callable[[], datetime] = utcnow
) -> SourceRun:
    """Run one source under its lease (renewed after every page)."""
    source = next(s for s in settings.sources if s.name == name)
    ttl = settings.pipeline.lease_seconds
    lease = f"source:{name}"
    with runlog.job(db, lease, holder, ttl, wait) as job_run:
        assert job_run is not None
        try:
            result = run_source(
                db, settings, source, now=now, on_page=lambda _run: leases.acquire(db.engine, lease, holder, ttl)
            )
        except Exception as e:  # a bug or an unexpected library error in one source must not stop the rest
            log.exception("source %s crashed", name)
            result = SourceRun(name, error=f"unexpected {e.__class__.__name__}: {str(e)[:300]}")
        job_run.outcome = "error" if result.error else "ok"
        job_run.detail = {"stored": result.stored, "fetched": result.fetched}
        return result


def deliver(
    db: Database,
    settings: Settings,
    notifier: Notifier,
    holder: str,
    wait: float = 0.0,
    now: Callable[[], datetime] = utcnow,
) -> DispatchResult:
    """Fire due SLA reminders/escalations/follow-ups, then dispatch the outbox, under its lease."""
    from gripewatch.alerts.sla import tick

    with runlog.job(db, "outbox", holder, settings.pipeline.lease_seconds, wait) as job_run:
        assert job_run is not None
        with db.sessions() as s, s.begin():
            tick(s, settings, now())
        if settings.reply.enabled:
            from gripewatch.alerts.answer import deliver_replies

            deliver_replies(db.sessions, settings, now=now)  # before Slack: the card updates they cause go out too
        try:
            result = dispatch(db.sessions, notifier, settings.outbox, now=now)
        finally:
            finish = getattr(notifier, "finish", None)  # the console's summary of what it did not print
            if finish is not None:
                finish()
        job_run.detail = {"sent": result.sent, "failed": result.failed}
        return result


def run_once(
    db: Database, settings: Settings, notifier: Notifier, wait: float = 0.0, only: list[str] | None = None
) -> RunReport:
    """One pass over every enabled source, then deliver the outbox."""
    holder = leases.holder_id()
    report = RunReport()
    for source in settings.sources:
        if not source.enabled or (only and source.name not in only):
            continue
        try:
            report.sources.append(collect_source(db, settings, source.name, holder, wait))
        except LockBusy:
            report.busy.append(source.name)
    try:
        report.delivery = deliver(db, settings, notifier, holder, wait)
    except LockBusy:
        report.busy.append("outbox")
    return report
