"""``gripewatch customers erase``: no byte of the person is left, and their Slack cards say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import JSON, String, Text, inspect, select, text

from gripewatch.alerts import actions
from gripewatch.cli import cli
from gripewatch.db import Database
from gripewatch.feedback import record
from gripewatch.models import Author, Case, CaseEvent, JobRun, Mention, Reply, SourceState
from tests.conftest import write_config
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import AGENT, COMPLAINT, Clock, drain, ingest, rec, slack_settings

ALICE_1 = COMPLAINT + " Flimwobble order 4417!"
ALICE_2 = "@AcmeHelp still nothing from you, the zorbleflax box is lost, I am furious"
ALICE_3 = "@AcmeHelp thanks, all sorted now, quimbleton"
BOB = "@AcmeHelp same as @alice here, my Acme Hub order never arrived either, no refund"
SECRETS = ["alice", "Liddell", ALICE_1, ALICE_2, ALICE_3, "Flimwobble", "zorbleflax", "quimbleton"]


def alice(i: int, body: str, **kw: Any) -> dict[str, Any]:
    return rec(i, body, author="alice", author_name="Alice Liddell", author_id="99001", **kw)


def build(tmp_path: Path, db: Database, db_url: str, fake: FakeSlack) -> Any:
    clock = Clock()
    records = [
        alice(1, ALICE_1),
        rec(2, "@alice we're sorry about this, please DM us your order number", author="AcmeHelp", in_reply_to="t1"),
        alice(3, ALICE_2),
        rec(4, BOB, author="bob"),
    ]
    settings = slack_settings(tmp_path, db_url, fake, records)
    ingest(db, settings, clock)
    drain(db, settings, clock)
    with db.sessions() as s, s.begin():
        m = s.scalars(select(Mention).where(Mention.external_id == "t1")).one()
        record(s, settings, m.id, 0, AGENT, clock())
        case_id = m.case_id
        actions.apply(s, settings, case_id, "resolve", AGENT, clock())
        s.add(Reply(key="reply:test:1", case_id=case_id, platform="x", text="Hi @alice, your Flimwobble order 4417 "
                    "is on its way", writer=AGENT, status="queued"))  # fmt: skip
    drain(db, settings, clock)
    with (tmp_path / "mentions.jsonl").open("a", encoding="utf-8") as fh:  # she writes after resolution
        fh.write(json.dumps(alice(5, ALICE_3)) + "\n")
    ingest(db, settings, clock)
    drain(db, settings, clock)
    with db.sessions() as s:
        kinds = {e.kind for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
    assert {"satisfaction", "mention_added", "resolved"} <= kinds  # the history we are about to erase
    return settings, clock, case_id


def found_in_database(db: Database) -> list[str]:
    """Every (table.column, secret) where a secret still appears, searched in every text/JSON column."""
    hits = []
    with db.engine.connect() as c:
        for table in inspect(c).get_table_names():
            cols = [col for col in inspect(c).get_columns(table) if isinstance(col["type"], String | Text | JSON)]
            for col in cols:
                for (value,) in c.execute(text(f'SELECT CAST("{col["name"]}" AS TEXT) FROM "{table}"')):
                    if value is None:
                        continue
                    decoded = value if isinstance(value, str) else str(value)
                    try:
                        decoded = json.dumps(json.loads(decoded), ensure_ascii=False)
                    except ValueError:
                        pass
                    hits += [f"{table}.{col['name']}: {s}" for s in SECRETS if s.lower() in decoded.lower()]
    return hits


def erase(tmp_path: Path, settings: Any) -> Any:
    cfg = write_config(tmp_path, {"database": {"url": str(settings.database.url)}, "brands": [{"name": "Acme"}]})
    return CliRunner().invoke(cli, ["customers", "erase", "x:Alice", "--yes", "--as", AGENT, "--config", str(cfg)])


def test_erase_leaves_no_byte_of_her_and_rewrites_her_slack_messages(
    tmp_path: Path, db: Database, db_url: str, fake_slack: FakeSlack
) -> None:
    settings, clock, case_id = build(tmp_path, db, db_url, fake_slack)
    assert found_in_database(db)  # she is everywhere before
    res = erase(tmp_path, settings)
    assert res.exit_code == 0, res.output
    assert "erased 1 identity (now erased-" in res.output
    drain(db, settings, clock)  # the card updates go out through the outbox

    assert found_in_database(db) == []
    if db.engine.dialect.name == "sqlite":
        db.dispose()
        path = Path(db.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        for s in SECRETS:
            for form in {s.encode(), s.lower().encode(), json.dumps(s)[1:-1].encode()}:
                assert form not in raw, s
    # Slack: the card and her quoted thread replies now say so, and nothing in Slack still quotes her
    updates = fake_slack.calls("chat.update")
    assert any("[erased on request]" in json.dumps(u) for u in updates)
    slack_now = json.dumps(fake_slack.messages).lower()
    for s in SECRETS:
        assert s.lower() not in slack_now, [
            m for ms in fake_slack.messages.values() for m in ms if s.lower() in json.dumps(m).lower()
        ]
    # what the next person sees: the case, its counts and who did what stay; the audit says an erasure happened
    with db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.summary == "[erased on request]" and case.status == "resolved"
        assert case.author is not None and case.author.handle.startswith("erased-")
        ev = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "erased")).one()
        assert ev.actor == AGENT and ev.detail == {}
        audit = s.scalars(select(JobRun).where(JobRun.job == "erasure")).one()
        assert audit.detail == {"identities": 1, "mentions": 4, "cases": 1}
        assert s.scalar(select(Mention.is_complaint).where(Mention.external_id == "t1")) is True
        reply = s.scalars(select(Reply)).one()
        assert (reply.text, reply.status) == ("[erased on request]", "failed")  # never posted to her now
        pseudo = case.author.handle
    # her posts collected again (a backfill from the start) do not bring her back
    with db.sessions() as s, s.begin():
        s.get(SourceState, "replay").cursor = {}  # type: ignore[union-attr]
    ingest(db, settings, clock)
    assert found_in_database(db) == []
    # running it again keeps the pseudonym (stored once) and finds nothing more to say
    again = CliRunner().invoke(
        cli,
        ["customers", "erase", f"x:{pseudo}", "--yes", "--config", str(tmp_path / "config.yaml")],
    )
    assert again.exit_code == 0 and f"now {pseudo}" in again.output


def test_erase_forgets_linked_identities_but_not_a_namesake(tmp_path: Path, db: Database, db_url: str) -> None:
    from datetime import UTC, datetime

    from gripewatch.alerts.customers import link
    from gripewatch.alerts.erasure import erase as erase_customer
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, db_url, [])
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with db.sessions() as s, s.begin():
        for platform, handle in (("x", "alice"), ("mastodon", "alice_w@social.example"), ("reddit", "alice")):
            s.add(Author(platform=platform, key=handle, handle=handle))
        s.flush()
        link(s, ["x:alice", "mastodon:alice_w@social.example"])  # the same person on two platforms
    with db.sessions() as s, s.begin():
        out = erase_customer(s, settings, "x:alice", "U1", now)
    assert len(out.pseudonyms) == 2
    with db.sessions() as s:
        handles = {a.platform: a.handle for a in s.scalars(select(Author))}
    assert handles["reddit"] == "alice"  # someone else who happens to share the name
    assert handles["x"].startswith("erased-") and handles["mastodon"].startswith("erased-")


def test_erase_unknown_customer_is_one_line_and_exit_1(tmp_path: Path, db: Database, db_url: str) -> None:
    from gripewatch.models import Author

    with db.sessions() as s, s.begin():
        s.add(Author(platform="x", key="12345678", handle="nobodyXelse"))  # "nobody_else" must not find them
    cfg = write_config(tmp_path, {"database": {"url": db_url}, "brands": [{"name": "Acme"}]})
    res = CliRunner().invoke(cli, ["customers", "erase", "x:nobody_else", "--yes", "--config", str(cfg)])
    assert res.exit_code == 1 and "no customer x:nobody_else" in res.output
    res = CliRunner().invoke(cli, ["customers", "erase", "x:nobody", "--yes", "--config", str(cfg)])
    assert res.exit_code == 1 and "no customer x:nobody" in res.output


def test_erase_asks_first(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, {"database": {"url": db_url}, "brands": [{"name": "Acme"}]})
    res = CliRunner().invoke(cli, ["customers", "erase", "x:alice", "--config", str(cfg)], input="n\n")
    assert res.exit_code == 1 and "Aborted" in res.output


def test_retention_blanks_the_same_fields_for_expired_data(tmp_path: Path, db: Database, db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from gripewatch.models import Author, Outbox
    from gripewatch.runtime.retention import purge
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, db_url, [], retention={"days": 30})
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=2)
    with db.sessions() as s, s.begin():
        for handle, at, status, vip in (("oldie", old, "closed", None), ("newbie", recent, "resolved", None),
                                        ("bigfish", old, "closed", "vip")):  # fmt: skip
            a = Author(platform="x", key=handle, handle=handle, display_name=handle.title(), tier=vip)
            s.add(a)
            s.flush()
            c = Case(author_id=a.id, status=status, summary=f"{handle} says it broke", opened_at=at,
                     resolved_at=at, closed_at=at if status == "closed" else None)  # fmt: skip
            s.add(c)
            s.flush()
            analysis = {"topics": ["other"], "reasons": [handle]}
            s.add(Mention(source="x", platform="x", external_id=handle, author_id=a.id, case_id=c.id, created_at=at,
                          collected_at=at, text=f"{handle} says it broke", raw={"text": handle},
                          url=f"https://x.com/{handle}/status/1", analysis=analysis))  # fmt: skip
            s.add(CaseEvent(case_id=c.id, at=at, actor="U1", kind="satisfaction", detail={"note": f"{handle} happy"}))
            s.add(Reply(key=f"reply:{handle}", case_id=c.id, platform="x", text=f"Hi @{handle}", writer="U1",
                        status="posted"))  # fmt: skip
            s.add(Outbox(key=f"k-{handle}", kind="new_case", case_id=c.id, channel="#c", payload={"text": handle},
                         created_at=at, sent_at=at))  # fmt: skip
        s.add(JobRun(job="erasure", holder="U1", started_at=old, finished_at=old, outcome="ok", detail={}))
    out = purge(db, settings.retention, now)
    assert out["mentions"] == 2 and out["cases"] == 2 and out["authors"] == 1 and out["outbox"] == 2
    with db.sessions() as s:
        by = {m.external_id: m for m in s.scalars(select(Mention))}
        assert (by["oldie"].text, by["oldie"].raw, by["oldie"].url) == ("", {}, None)
        assert by["oldie"].analysis == {"topics": ["other"]}  # topics stay: trends remain true
        assert by["newbie"].text == "newbie says it broke"
        cases = {c.author_id: c for c in s.scalars(select(Case))}
        authors = {a.id: a for a in s.scalars(select(Author))}
        handles = sorted(authors[i].handle for i in cases)
        assert handles[:2] == ["bigfish", "erased-" + handles[1].removeprefix("erased-")] and "newbie" in handles
        assert sorted(c.summary for c in cases.values()) == ["", "", "newbie says it broke"]
        details = [e.detail for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        assert details == [{}, {"note": "newbie happy"}, {}]
        assert s.scalars(select(JobRun.job)).all() == ["erasure"]  # the audit record outlives job_runs_days
        assert sorted(r.text for r in s.scalars(select(Reply))) == ["", "", "Hi @newbie"]
