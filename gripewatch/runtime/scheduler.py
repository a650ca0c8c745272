"""``gripewatch serve``: the APScheduler 3 daemon.

Jobs (stable ids, ``replace_existing=True``, explicit ``misfire_grace_time``,
``coalesce=True``, one instance at a time):

    source:NAME   poll one source, at the interval its rate-limit budget allows
    outbox        deliver pending alerts every few seconds (and at once after new ones)
    sla           SLA reminders, breaches, follow-ups, queue hand-out, every minute (alerts.sla.tick)
    spikes        complaint spikes per brand and topic, every few minutes (dashboards.spikes.check_spikes)
    digest        the weekly digest at digest.day / digest.time / digest.timezone (dashboards.send)
    retention     purge old mention texts, daily
    recheck       look the posts of open cases up again; forget deleted ones (scheduler.recheck_minutes)

Every job runs inside :func:`gripewatch.runtime.runlog.job`, i.e. only while it holds
the job's lease in the database, so replicas (and a cron ``run-once``) never
run the same job at once, and each run is recorded in ``job_runs``. Before a
periodic job runs it checks when the job last started (in any replica), so N
replicas together still poll a source at its interval, not N times as often.
A database outage backs every job off exponentially (up to
``scheduler.db_retry_max_seconds``); nothing is lost because every page and
every delivery is its own transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from gripewatch.alerts.notify import Notifier
from gripewatch.collectors.base import Page
from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.errors import LockBusy, RateLimited, StorageError
from gripewatch.models import SourceState, utcnow
from gripewatch.pipeline import build_collector, run_source
from gripewatch.runtime import runlog
from gripewatch.runtime.polling import poll_interval, poll_not_before

log = logging.getLogger(__name__)

OUTBOX, SLA, SPIKES, DIGEST, RETENTION, RECHECK = "outbox", "sla", "spikes", "digest", "retention", "recheck"


def source_job(name: str) -> str:
    return f"source:{name}"


def is_db_outage(e: BaseException) -> bool:
    """True for errors that mean "the database is unreachable right now" (worth waiting for)."""
    if isinstance(e, StorageError | OperationalError | InterfaceError):
        return True
    return isinstance(e, DBAPIError) and bool(e.connection_invalidated)


def digest_trigger(settings: Settings) -> CronTrigger:
    """When the weekly digest goes out: ``digest.day`` at ``digest.time`` in ``digest.timezone``."""
    d = settings.digest
    hour, minute = (int(x) for x in d.time.split(":"))
    return CronTrigger(day_of_week=d.day, hour=hour, minute=minute, timezone=ZoneInfo(d.timezone))


class _Stoppable:
    """Wraps a collector: stops after the page in hand when shutting down; remembers a 429's reset time."""

    def __init__(self, inner: Any, stop: threading.Event) -> None:
        self.inner, self.stop = inner, stop
        self.rate_limited: RateLimited | None = None

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        pages = self.inner.collect(cursor)
        try:
            for page in pages:
                yield page  # stored and committed by the pipeline before we continue
                if self.stop.is_set():
                    log.info("shutting down: stopped after a committed page")
                    return
        except RateLimited as e:
            self.rate_limited = e
            raise
        finally:
            close = getattr(pages, "close", None)
            if close:
                close()


class Daemon:
    """The jobs of ``serve``. ``start()`` schedules them; each job method can also be called directly."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        notifier: Notifier,
        holder: str,
        now: Callable[[], datetime] = utcnow,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings, self.db, self.notifier, self.holder, self.now = settings, db, notifier, holder, now
        self.cfg = settings.scheduler
        self.ttl = settings.pipeline.lease_seconds
        self.stop = stop or threading.Event()
        self.db_down_until: datetime | None = None
        self._db_delay = 0.0
        self._wake = threading.Event()
        self._wake_lock = threading.Lock()
        self._dispatching = False
        self.scheduler: BackgroundScheduler | None = None
        self.on_run: Callable[[str, str, float], None] = lambda job, outcome, seconds: None

    # ------------------------------------------------------------ scheduling

    def start(self) -> BackgroundScheduler:
        tz = ZoneInfo("UTC")
        workers = min(20, len(self.settings.sources) + 4)
        sched = BackgroundScheduler(timezone=tz, executors={"default": {"type": "threadpool", "max_workers": workers}})
        grace = self.cfg.misfire_grace_seconds
        common = {"replace_existing": True, "coalesce": True, "max_instances": 1, "misfire_grace_time": grace}
        soon = datetime.now(tz)
        for src in self.settings.sources:
            if src.enabled:
                every = poll_interval(src, self.cfg)
                log.info("source %s: polled every %.1fs", src.name, every)
                sched.add_job(
                    self.poll,
                    IntervalTrigger(seconds=every),
                    args=[src.name],
                    id=source_job(src.name),
                    next_run_time=soon,
                    **common,
                )
        sched.add_job(
            self.dispatch, IntervalTrigger(seconds=self.cfg.outbox_seconds), id=OUTBOX, next_run_time=soon, **common
        )
        sched.add_job(self.check_sla, IntervalTrigger(seconds=self.cfg.sla_seconds), id=SLA, **common)
        sched.add_job(self.check_spikes, IntervalTrigger(seconds=self.cfg.spikes_seconds), id=SPIKES, **common)
        sched.add_job(self.digest, digest_trigger(self.settings), id=DIGEST, **common)
        sched.add_job(
            self.purge,
            IntervalTrigger(hours=self.cfg.retention_hours),
            id=RETENTION,
            next_run_time=soon + timedelta(seconds=60),
            **common,
        )
        sched.add_job(
            self.recheck,
            IntervalTrigger(minutes=self.cfg.recheck_minutes),
            id=RECHECK,
            next_run_time=soon + timedelta(seconds=120),
            **common,
        )
        self.scheduler = sched
        sched.start()
        return sched

    def shutdown(self, timeout: float | None = None) -> bool:
        """Stop taking new work, let the jobs in hand finish; False if they did not within ``timeout``."""
        self.stop.set()
        if self.scheduler is None:
            return True
        sched = self.scheduler
        t = threading.Thread(target=lambda: sched.shutdown(wait=True), name="shutdown", daemon=True)
        t.start()
        t.join(timeout if timeout is not None else self.cfg.shutdown_timeout_seconds)
        return not t.is_alive()

    # ------------------------------------------------------------ the guard

    def _guarded(self, job: str, body: Callable[[runlog.Run], None], due: Callable[[], bool] | None = None) -> None:
        """Run ``body`` under the job's lease, unless stopping, the database is down, or it is not due."""
        if self.stop.is_set():
            return
        if self.db_down_until is not None and self.now() < self.db_down_until:
            return
        started = self.now()
        try:
            if due is not None and not due():
                return
            with runlog.job(self.db, job, self.holder, self.ttl, now=self.now, when=due) as run:
                if run is None:
                    return
                body(run)
            outcome = run.outcome
        except LockBusy:
            log.debug("%s: another process holds the lease", job)
            return
        except Exception as e:
            if not is_db_outage(e):
                log.exception("job %s failed", job)
                self.on_run(job, "error", (self.now() - started).total_seconds())
                return
            self._db_failed(job, e)
            self.on_run(job, "db_down", (self.now() - started).total_seconds())
            return
        if self.db_down_until is not None:
            log.warning("database is reachable again; jobs resume")
            self.db_down_until, self._db_delay = None, 0.0
        self.on_run(job, outcome, (self.now() - started).total_seconds())

    def _db_failed(self, job: str, e: BaseException) -> None:
        self._db_delay = min(max(self._db_delay * 2, 0.5), self.cfg.db_retry_max_seconds)
        self.db_down_until = self.now() + timedelta(seconds=self._db_delay)
        first = str(getattr(e, "orig", None) or e).strip().splitlines()
        log.error(
            "database unavailable during %s (%s); retrying in %.1fs",
            job,
            first[0][:200] if first else e.__class__.__name__,
            self._db_delay,
        )

    def _started_since(self, job: str, seconds: float, outcomes: tuple[str, ...] | None = None) -> bool:
        last = runlog.last_start(self.db, job, outcomes)
        return last is not None and last > self.now() - timedelta(seconds=seconds)

    # ------------------------------------------------------------ jobs

    def poll(self, name: str) -> None:
        """Collect one source; stop after the page in hand on shutdown; honour back-off after errors and 429s."""
        source = next(s for s in self.settings.sources if s.name == name)
        job = source_job(name)
        interval = poll_interval(source, self.cfg)

        def due() -> bool:
            with self.db.sessions() as s:
                state = s.get(SourceState, name)
            gate = poll_not_before(interval, runlog.latest_any(self.db, job), state, self.cfg.max_backoff_seconds)
            return gate is None or self.now() >= gate

        def body(run: runlog.Run) -> None:
            collector = _Stoppable(build_collector(source, self.settings), self.stop)
            result = run_source(self.db, self.settings, source, collector, now=self.now, on_page=self._page_stored)
            run.detail = {"stored": result.stored, "fetched": result.fetched}
            if collector.rate_limited is not None:
                cap = self.now() + timedelta(seconds=self.cfg.max_backoff_seconds)
                reset = collector.rate_limited.reset_at
                run.outcome = "rate_limited"
                run.detail["retry_at"] = min(reset, cap) if reset else None
                log.warning("source %s: rate limited%s", name, f" until {reset:%H:%M:%S}" if reset else "")
            elif result.error:
                run.outcome, run.detail["error"] = "error", result.error[:300]
                log.warning("source %s failed: %s", name, result.error)
            if result.stored:
                log.info("source %s: %d new mentions, %d cases opened", name, result.stored, result.cases_opened)

        self._guarded(job, body, due)

    def _page_stored(self, _run: object) -> None:
        self.wake_outbox()

    def wake_outbox(self) -> None:
        """Deliver soon: run the outbox job now, or once more right after the run in progress."""
        with self._wake_lock:
            self._wake.set()
            running = self._dispatching
        if not running and self.scheduler is not None and not self.stop.is_set():
            try:
                self.scheduler.modify_job(OUTBOX, next_run_time=datetime.now(self.scheduler.timezone))
            except Exception:  # the scheduler is shutting down
                log.debug("cannot wake the outbox job", exc_info=True)

    def dispatch(self) -> None:
        """Deliver every due alert, again while new ones were stored meanwhile."""
        from gripewatch.alerts.outbox import dispatch

        def body(run: runlog.Run) -> None:
            sent = failed = 0
            while True:
                with self._wake_lock:
                    self._wake.clear()
                    self._dispatching = True
                try:
                    if self.settings.reply.enabled:  # staff replies first: the card updates they cause go out now
                        from gripewatch.alerts.answer import deliver_replies

                        deliver_replies(self.db.sessions, self.settings, now=self.now)
                    result = dispatch(self.db.sessions, self.notifier, self.settings.outbox, now=self.now)
                finally:
                    with self._wake_lock:
                        again = self._wake.is_set() and not self.stop.is_set()
                        self._dispatching = again
                sent, failed = sent + result.sent, failed + result.failed
                if not again:
                    break
            finish = getattr(self.notifier, "finish", None)  # the console's summary of what it did not print
            if finish is not None:
                finish()
            run.detail = {"sent": sent, "failed": failed}
            if sent or failed:
                log.info("outbox: %d alerts sent, %d failed (will retry)", sent, failed)

        self._guarded(OUTBOX, body)

    def check_sla(self) -> None:
        """SLA reminders at 75 %, breach escalations, follow-ups and closes; hand queued cases out."""
        from gripewatch.alerts.sla import tick

        def body(run: runlog.Run) -> None:
            with self.db.sessions() as s, s.begin():
                run.detail = {"fired": tick(s, self.settings, self.now())}
            self.wake_outbox()

        self._guarded(SLA, body, lambda: not self._started_since(SLA, self.cfg.sla_seconds * 0.9, ("ok",)))

    def check_spikes(self) -> None:
        """Complaint spikes ("possible outage"): one alert per incident, through the outbox."""
        from gripewatch.dashboards.spikes import check_spikes

        def body(run: runlog.Run) -> None:
            found = check_spikes(self.db, self.settings, self.now())
            run.detail = {"spikes": [f"{s.brand}|{s.topic}" for s in found]}
            if found:
                self.wake_outbox()

        every = self.cfg.spikes_seconds
        self._guarded(SPIKES, body, lambda: not self._started_since(SPIKES, every * 0.9, ("ok",)))

    def digest(self) -> None:
        """The scheduled digest, once per cron fire time however many replicas fire it."""
        trigger = digest_trigger(self.settings)
        now = self.now()
        fired = trigger.get_next_fire_time(None, now - timedelta(seconds=self.cfg.misfire_grace_seconds)) or now
        fired = min(fired, now)

        def due() -> bool:
            last = runlog.last_start(self.db, DIGEST, ("ok",))
            return last is None or last < fired

        def body(run: runlog.Run) -> None:
            from gripewatch.dashboards.send import send_scheduled_digest

            sent_to = send_scheduled_digest(self.db, self.settings, self.now())
            run.detail = {"fire_time": fired.isoformat(), "sent_to": sent_to}

        self._guarded(DIGEST, body, due)

    def purge(self) -> None:
        from gripewatch.runtime.retention import purge

        def body(run: runlog.Run) -> None:
            run.detail = purge(self.db, self.settings.retention, self.now(), self.stop)

        hours = self.cfg.retention_hours
        self._guarded(RETENTION, body, lambda: not self._started_since(RETENTION, hours * 3600 * 0.9, ("ok",)))

    def recheck(self) -> None:
        """Upstream deletions: the posts of open cases looked up again (X, Reddit, Mastodon, Bluesky)."""
        from gripewatch.runtime.recheck import recheck

        def body(run: runlog.Run) -> None:
            run.detail = recheck(self.db, self.settings, self.now())
            if run.detail["deleted"]:
                self.wake_outbox()

        minutes = self.cfg.recheck_minutes
        self._guarded(RECHECK, body, lambda: not self._started_since(RECHECK, minutes * 60 * 0.9, ("ok",)))
