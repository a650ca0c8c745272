"""Optional HTTP endpoint of ``serve``: ``/healthz`` and Prometheus ``/metrics``.

Started when ``metrics.port`` is set. ``/metrics`` exposes per-job run counters
and durations of this process, plus gauges read from the database at scrape
time (outbox backlog and oldest item, open cases, source health, database up).
``/healthz`` answers 200 ``{"status": "ok"}`` while the scheduler runs and the
database answers, else 503 with the reason. Use it for readiness and alerting,
not to restart the process: ``serve`` rides out database outages by itself.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from gripewatch.config import Settings
from gripewatch.db import Database
from gripewatch.models import utcnow
from gripewatch.runtime.ops import snapshot

log = logging.getLogger(__name__)


class Metrics:
    """This process's job counters; ``observe`` is the daemon's ``on_run`` hook."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "gripewatch_job_runs", "Job runs by outcome (this process)", ["job", "outcome"], registry=self.registry
        )
        self.duration = Histogram(
            "gripewatch_job_duration_seconds", "Job run duration (this process)", ["job"], registry=self.registry
        )
        self.registry.register(DatabaseCollector(db, settings, now))

    def observe(self, job: str, outcome: str, seconds: float) -> None:
        kind = job.split(":", 1)[0] if job.startswith("source:") else job
        self.runs.labels(job=job, outcome=outcome).inc()
        self.duration.labels(job=kind if kind != "source" else job).observe(max(seconds, 0.0))


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime]) -> None:
        self.db, self.settings, self.now = db, settings, now

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("gripewatch_database_up", "1 when the database answered this scrape")
        try:
            snap = snapshot(self.db, self.settings, self.now())
        except Exception as e:  # any database failure is reported as down, never as a scrape error
            log.debug("metrics snapshot failed: %s", e.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        ob = snap["outbox"]
        yield GaugeMetricFamily("gripewatch_outbox_pending", "Alerts waiting to be delivered", value=ob["pending"])
        yield GaugeMetricFamily("gripewatch_outbox_dead", "Alerts given up after retries", value=ob["dead"])
        yield GaugeMetricFamily(
            "gripewatch_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered alert (0 when none)",
            value=ob["oldest_pending_age_seconds"] or 0,
        )
        cases = GaugeMetricFamily("gripewatch_open_cases", "Open cases by status", labels=["status"])
        for status, n in snap["open_cases"]["by_status"].items():
            cases.add_metric([status], n)
        yield cases
        wait = GaugeMetricFamily(
            "gripewatch_open_cases_first_response", "Open cases by first response", labels=["state"]
        )
        for state, n in snap["open_cases"]["first_response"].items():
            wait.add_metric([state], n)
        yield wait
        fails = GaugeMetricFamily("gripewatch_source_consecutive_failures", "Failed polls in a row", labels=["source"])
        last = GaugeMetricFamily(
            "gripewatch_source_last_success_timestamp_seconds", "Last successful poll (unix time)", labels=["source"]
        )
        for s in snap["sources"]:
            fails.add_metric([s["name"]], s["consecutive_failures"])
            if s["last_success_at"]:
                last.add_metric([s["name"]], datetime.fromisoformat(s["last_success_at"]).timestamp())
        yield fails
        yield last


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class HttpEndpoint:
    """``/healthz`` and ``/metrics`` on ``host:port`` in a background thread."""

    def __init__(self, metrics: Metrics, db: Database, healthy: Callable[[], str | None], host: str, port: int):
        self.db, self.healthy = db, healthy
        self.metrics_app = make_wsgi_app(metrics.registry)
        self.server = make_server(host, port, self.app, server_class=_Server, handler_class=_Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> HttpEndpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return iter(self.metrics_app(environ, start_response))
        if path == "/healthz":
            problem = self.healthy() or self._db_problem()
            body = json.dumps({"status": "ok"} if problem is None else {"status": "unhealthy", "reason": problem})
            start_response(
                "200 OK" if problem is None else "503 Service Unavailable", [("Content-Type", "application/json")]
            )
            return iter([body.encode()])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return iter([b"not found: try /healthz or /metrics\n"])

    def _db_problem(self) -> str | None:
        try:
            with self.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as e:
            return f"database unavailable: {e.__class__.__name__}"
        return None
