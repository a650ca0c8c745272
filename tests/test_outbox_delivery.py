"""Delivery writes each outcome with the next row's attempt: nothing delivered is forgotten, threads hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from gripewatch.alerts.notify import Alert, Delivery
from gripewatch.alerts.outbox import dispatch
from gripewatch.db import Database
from gripewatch.models import Case, Outbox
from gripewatch.pipeline import run_source
from tests.conftest import make_settings, recent, word

COMPLAINT = "@AcmeHelp my acme hub order {} never arrived, two weeks now. Refund me!"
AGAIN = "@AcmeHelp still nothing about my acme order {}, this is really bad service"


class Recorder:
    """A notifier that keeps what it was given; ``fail_at`` makes the n-th send crash (a bug, not a refusal)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[Alert] = []
        self.fail_at = fail_at

    def send(self, alert: Alert) -> Delivery:
        if self.fail_at is not None and len(self.sent) + 1 == self.fail_at:
            raise RuntimeError("the process died mid-send")
        self.sent.append(alert)
        return Delivery(channel=alert.channel or "C1", ts=alert.thread_ts or f"{len(self.sent)}.0")


def queued(tmp_path: Path, db: Database, db_url: str, customers: int = 3):  # type: ignore[no-untyped-def]
    records = []
    for i in range(customers):
        records.append({"id": f"a{i}", "text": COMPLAINT.format(word(i)), "author": f"c{i}", "created_at": recent(i)})
        records.append({"id": f"b{i}", "text": AGAIN.format(word(i)), "author": f"c{i}", "created_at": recent(30 + i)})
    settings = make_settings(tmp_path, db_url, records, incidents={"enabled": False})
    run_source(db, settings, settings.sources[0])
    return settings


def test_updates_go_to_their_case_thread_and_every_outcome_is_stored(tmp_path: Path, db: Database, db_url: str) -> None:
    settings = queued(tmp_path, db, db_url)
    notifier = Recorder()
    result = dispatch(db.sessions, notifier, settings.outbox)
    assert result.sent == len(notifier.sent) and result.failed == 0
    with db.sessions() as s:
        assert all(r.sent_at is not None and r.attempts == 1 for r in s.scalars(select(Outbox)))
        cases = {c.id: c for c in s.scalars(select(Case))}
    first = {a.case_id: a for a in notifier.sent if a.kind == "new_case"}
    assert set(first) == set(cases) and all(cases[i].slack_ts for i in cases)
    for a in notifier.sent:
        if a.kind == "case_update":  # in the thread of its case's card, delivered earlier in the same pass
            assert a.thread_ts == cases[a.case_id].slack_ts
            assert notifier.sent.index(first[a.case_id]) < notifier.sent.index(a)
    assert not any(a.in_doubt for a in notifier.sent)


def test_a_crash_mid_pass_keeps_what_was_delivered_and_only_the_row_in_flight_is_in_doubt(
    tmp_path: Path, db: Database, db_url: str
) -> None:
    settings = queued(tmp_path, db, db_url)
    crashing = Recorder(fail_at=3)
    with pytest.raises(RuntimeError):
        dispatch(db.sessions, crashing, settings.outbox)
    delivered = {a.key for a in crashing.sent}
    with db.sessions() as s:
        rows = list(s.scalars(select(Outbox).order_by(Outbox.id)))
        assert {r.key for r in rows if r.sent_at is not None} == delivered  # both outcomes were written
        in_flight = [r.key for r in rows if r.sent_at is None and r.attempts == 1]
    assert len(delivered) == 2 and len(in_flight) == 1
    again = Recorder()
    dispatch(db.sessions, again, settings.outbox)
    assert {a.key for a in again.sent if a.in_doubt} == set(in_flight)  # looked up before it is sent again
    assert not delivered & {a.key for a in again.sent}  # nothing delivered twice


def test_the_console_prints_the_first_cards_and_sums_up_the_rest(tmp_path: Path, db: Database, db_url: str) -> None:
    import io

    from rich.console import Console

    from gripewatch.alerts.console import ConsoleNotifier

    settings = queued(tmp_path, db, db_url, customers=4)
    out = io.StringIO()
    notifier = ConsoleNotifier(Console(file=out, width=300), max_cards=3)
    result = dispatch(db.sessions, notifier, settings.outbox)
    notifier.finish()
    printed = out.getvalue()
    assert (
        result.sent == 12
    )  # 4 cards, 4 thread updates, 4 card updates: every alert is delivered (and recorded), printed or not
    assert "NEW CASE #1 " in printed and "NEW CASE #4 " not in printed  # the first three alerts only
    summary = printed.rstrip().splitlines()[-1]
    assert summary == (
        "… and 9 more alerts, not printed one by one (card_update 3, case_update 3, new_case 3): "
        "`gripewatch cases list` shows them"
    )
    notifier.finish()
    assert out.getvalue() == printed  # summed up once; the next run starts afresh
