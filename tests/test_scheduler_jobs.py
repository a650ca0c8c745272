"""The daemon's jobs, run in-process on a controllable clock (SQLite and PostgreSQL).

Poll intervals from the rate-limit budget, back-off after a 429 and recovery,
replicas sharing a source's interval, one digest per fire time, leases, and
stopping after the page in hand.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from gripewatch.alerts.console import ConsoleNotifier
from gripewatch.collectors import REGISTRY
from gripewatch.collectors.base import Mention, Options, Page
from gripewatch.config import SchedulerConfig, SourceConfig
from gripewatch.db import Database
from gripewatch.errors import RateLimited
from gripewatch.models import JobRun, SourceState
from gripewatch.runtime import leases
from gripewatch.runtime.polling import poll_interval, poll_not_before
from gripewatch.runtime.runlog import overlaps
from gripewatch.runtime.scheduler import Daemon, digest_trigger
from tests.conftest import make_settings

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class ScriptedOptions(Options):
    requests_per_15min: int = 90
    queries: list[str] = ["acme", "acme cloud"]


class Scripted:
    """A source that answers from a script: "ok" yields one page, "429" is rate limited for 120 s."""

    Options = ScriptedOptions
    script: ClassVar[list[str]] = []
    now: ClassVar[Any] = None

    def __init__(self, source: Any, brands: Any = ()) -> None:
        pass

    def collect(self, cursor: dict[str, Any]) -> Iterator[Page]:
        step = Scripted.script.pop(0)
        if step == "429":
            raise RateLimited("429 Too Many Requests", reset_at=Scripted.now() + timedelta(seconds=120))
        n = cursor.get("n", 0) + 1
        yield Page([Mention("x", f"p{n}", f"acme is down again {n}", T0, author_handle=f"u{n}")], {"n": n})
        yield Page([Mention("x", f"q{n}", f"acme hub {n} works", T0, author_handle=f"v{n}")], {"n": n, "second": True})


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[Scripted]:
    monkeypatch.setitem(REGISTRY, "scripted", Scripted)
    Scripted.script = []
    return Scripted


def daemon(tmp_path: Path, db: Database, clock: Clock, holder: str = "a", **overrides: Any) -> Daemon:
    settings = make_settings(tmp_path, str(db.engine.url.render_as_string(hide_password=False)), [], **overrides)
    return Daemon(settings, db, ConsoleNotifier(), holder, now=clock)


def runs(db: Database, job: str) -> list[JobRun]:
    with db.sessions() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)).all())


def test_interval_spreads_the_budget_over_the_queries() -> None:
    cfg = SchedulerConfig(min_poll_seconds=10)

    def src(**kw: Any) -> SourceConfig:
        options = SimpleNamespace(requests_per_15min=kw.pop("budget", None), queries=kw.pop("queries", None))
        return SourceConfig.model_validate({"name": "s", "type": "x", "options": options, **kw})

    assert poll_interval(src(), cfg) == 300  # no budget: interval_seconds
    assert poll_interval(src(budget=450), cfg) == 10  # 900 s / 450 = 2 s, floored at min_poll_seconds
    assert poll_interval(src(budget=60, queries=["a", "b", "c"]), cfg) == 45  # 3 requests per poll
    assert poll_interval(src(budget=60, queries=["a"], interval_seconds=120), cfg) == 120  # explicit is slower


def test_backoff_after_failures_and_429_then_recovery() -> None:
    run = SimpleNamespace(started_at=T0, outcome="ok", detail={})
    assert poll_not_before(60, None, None, 900) is None
    assert poll_not_before(60, run, None, 900) == T0 + timedelta(seconds=54)
    failing = SimpleNamespace(consecutive_failures=3, last_error_at=T0)
    assert poll_not_before(60, run, failing, 900) == T0 + timedelta(seconds=480)
    assert poll_not_before(600, run, failing, 900) == T0 + timedelta(seconds=900)  # capped
    limited = SimpleNamespace(started_at=T0, outcome="rate_limited", detail={"retry_at": "2026-11-10T09:30:00+00:00"})
    assert poll_not_before(60, limited, None, 900) == T0 + timedelta(minutes=30)
    healthy = SimpleNamespace(consecutive_failures=0, last_error_at=T0)
    assert poll_not_before(60, run, healthy, 900) == T0 + timedelta(seconds=54)


def test_poll_backs_off_after_429_and_recovers(tmp_path: Path, db: Database, scripted: type[Scripted]) -> None:
    clock = Clock()
    scripted.now = clock
    d = daemon(tmp_path, db, clock, sources=[{"name": "s", "type": "scripted"}])
    assert poll_interval(d.settings.sources[0], d.cfg) == 20  # 900 s × 2 queries / 90 requests
    scripted.script = ["429", "ok", "ok"]
    d.poll("s")
    assert [r.outcome for r in runs(db, "source:s")] == ["rate_limited"]
    clock.advance(60)
    d.poll("s")  # still inside the platform's reset window: no request at all
    assert len(runs(db, "source:s")) == 1
    clock.advance(61)
    d.poll("s")
    clock.advance(20)
    d.poll("s")
    assert [r.outcome for r in runs(db, "source:s")] == ["rate_limited", "ok", "ok"]
    with db.sessions() as s:
        assert s.get(SourceState, "s").consecutive_failures == 0


def test_replicas_share_one_interval(tmp_path: Path, db: Database, scripted: type[Scripted]) -> None:
    clock = Clock()
    scripted.script = ["ok", "ok"]
    a = daemon(tmp_path, db, clock, "a", sources=[{"name": "s", "type": "scripted"}])
    b = daemon(tmp_path, db, clock, "b", sources=[{"name": "s", "type": "scripted"}])
    a.poll("s")
    clock.advance(1)
    b.poll("s")  # a polled a second ago: b's tick is not due
    clock.advance(19)
    b.poll("s")
    assert [(r.holder, r.outcome) for r in runs(db, "source:s")] == [("a", "ok"), ("b", "ok")]


def test_a_job_never_runs_while_another_holder_has_its_lease(tmp_path: Path, db: Database) -> None:
    d = daemon(tmp_path, db, Clock())
    assert leases.acquire(db.engine, "outbox", "someone-else", 60)
    d.dispatch()
    assert runs(db, "outbox") == []
    leases.release(db.engine, "outbox", "someone-else")
    d.dispatch()
    assert [(r.holder, r.outcome) for r in runs(db, "outbox")] == [("a", "ok")]


def test_digest_is_sent_once_per_fire_time_across_replicas(
    tmp_path: Path, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()  # Tuesday 09:00
    overrides = {"digest": {"day": "tue", "time": "09:00"}, "scheduler": {"misfire_grace_seconds": 600}}
    a, b = (daemon(tmp_path, db, clock, h, **overrides) for h in ("a", "b"))
    a.digest()  # console mode: the digest is printed
    clock.advance(30)
    b.digest()  # the same fire time, half a minute later on the other replica: nothing
    assert capsys.readouterr().out.count("gripewatch weekly digest") == 1
    clock.advance(7 * 86400)
    b.digest()
    assert capsys.readouterr().out.count("gripewatch weekly digest") == 1
    done = runs(db, "digest")
    assert [(r.holder, r.outcome) for r in done] == [("a", "ok"), ("b", "ok")]
    assert done[0].detail["sent_to"] == ["console"]


def test_stop_after_the_page_in_hand(tmp_path: Path, db: Database, scripted: type[Scripted]) -> None:
    clock = Clock()
    scripted.script = ["ok"]
    stop = threading.Event()
    d = daemon(tmp_path, db, clock, sources=[{"name": "s", "type": "scripted"}])
    d.stop = stop
    d._page_stored = lambda _run: stop.set()  # SIGTERM arrives while the first page is stored
    d.poll("s")
    with db.sessions() as s:
        assert s.get(SourceState, "s").cursor == {"n": 1}  # the first page committed, the second never fetched
    assert [r.outcome for r in runs(db, "source:s")] == ["ok"]
    d.poll("s")  # stopping: no new work
    assert len(runs(db, "source:s")) == 1


def test_the_digest_goes_out_at_its_configured_local_time(tmp_path: Path, db: Database) -> None:
    d = daemon(tmp_path, db, Clock(), digest={"day": "mon", "time": "08:30", "timezone": "Europe/Berlin"})
    fire = digest_trigger(d.settings).get_next_fire_time(None, T0)
    assert fire is not None and fire.isoformat() == "2026-11-16T08:30:00+01:00"  # the next Monday, Berlin time


def test_overlap_detection() -> None:
    t = [T0 + timedelta(seconds=i) for i in range(5)]
    assert overlaps([("j", t[0], t[1]), ("j", t[1], t[2]), ("k", t[0], t[4]), ("j", t[3], None)]) == []
    assert overlaps([("j", t[0], t[2]), ("j", t[1], t[3])]) == [("j", t[1], t[2])]
