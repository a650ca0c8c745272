"""The ``serve`` process: connect (waiting out a database outage), schedule, stop cleanly.

``serve(settings)`` installs SIGTERM/SIGINT handlers, connects and migrates
the database (retrying with exponential back-off, never exiting because the
database is down), starts the :class:`~gripewatch.runtime.scheduler.Daemon` and the
optional HTTP endpoint, and waits. On a signal it stops taking new work, lets
the page or delivery in hand finish (every page is one transaction, so a
half-done page is rolled back by the database), releases its leases and
returns 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from gripewatch.config import Settings
from gripewatch.db import Database, make_engine, safe_url, upgrade
from gripewatch.errors import ConfigError, StorageError
from gripewatch.runtime import leases

log = logging.getLogger("gripewatch.serve")


def connect(settings: Settings, stop: threading.Event) -> Database | None:
    """The migrated database, retrying while it is unreachable; None if asked to stop meanwhile.

    A URL that can never work (malformed, missing driver) raises StorageError at once.
    """
    d = settings.database
    engine = make_engine(d.url, **d.engine_options())
    delay, attempt = 0.5, 0
    while not stop.is_set():
        attempt += 1
        try:
            upgrade(engine)
            if attempt > 1:
                log.warning("database %s is reachable now", safe_url(d.url))
            return Database(engine)
        except StorageError as e:
            log.error("%s; retrying in %.1fs (attempt %d)", e, delay, attempt)
        stop.wait(delay)
        delay = min(delay * 2, settings.scheduler.db_retry_max_seconds)
    engine.dispose()
    return None


def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; 0 after a clean stop, 1 if jobs did not finish in time."""
    from gripewatch.runtime.jobs import make_notifier
    from gripewatch.runtime.scheduler import Daemon

    stop = threading.Event()
    _install_signals(stop)
    holder = leases.holder_id()
    log.info("gripewatch serve starting as %s", holder)
    db = connect(settings, stop)
    if db is None:
        log.info("stopped before the database was reachable")
        return 0
    daemon = Daemon(settings, db, make_notifier(settings), holder, stop=stop)
    endpoint = _endpoint(settings, db, daemon)
    daemon.start()
    log.info("scheduler running: %d sources, database %s", len(settings.sources), safe_url(settings.database.url))
    while not stop.wait(1.0):
        pass
    log.info("stopping: finishing the work in hand")
    clean = daemon.shutdown()
    if endpoint is not None:
        endpoint.stop()
    db.dispose()
    if not clean:
        log.error("jobs still running after %.0fs; exiting anyway", settings.scheduler.shutdown_timeout_seconds)
        return 1
    log.info("stopped cleanly")
    return 0


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            log.warning("%s again: already stopping", signal.Signals(signum).name)
        else:
            log.info("%s received", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _endpoint(settings: Settings, db: Database, daemon: Any) -> Any:
    if settings.metrics.port is None:
        return None
    from gripewatch.runtime.metrics import HttpEndpoint, Metrics

    metrics = Metrics(db, settings)
    daemon.on_run = metrics.observe

    def healthy() -> str | None:
        if daemon.stop.is_set():
            return "stopping"
        if daemon.scheduler is None or not daemon.scheduler.running:
            return "scheduler not running"
        return None

    try:
        endpoint = HttpEndpoint(metrics, db, healthy, settings.metrics.host, settings.metrics.port).start()
    except OSError as e:
        where = f"{settings.metrics.host}:{settings.metrics.port}"
        problem = e.strerror or str(e)
        raise ConfigError(f"{settings.config_path}: metrics.port: cannot listen on {where} ({problem})") from None
    log.info("serving /healthz and /metrics on http://%s:%d", settings.metrics.host, endpoint.port)
    return endpoint
