"""The dashboard over HTTP (Starlette TestClient): login, CSRF, queue filters, case detail, actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from gripewatch.dashboards.actions import ActionError, apply_dashboard_action
from gripewatch.dashboards.auth import hash_password, needs_rehash, scrypt_hash, verify_password
from gripewatch.dashboards.web import create_app
from gripewatch.errors import ConfigError
from gripewatch.models import Case, CaseEvent, Feedback, utcnow
from tests.dashboard_helpers import NOW, PASSWORD, SECRET, dashboard_section, demo_data, load_demo

HASH = hash_password(PASSWORD)


@pytest.fixture
def demo(db, db_url):  # type: ignore[no-untyped-def]
    settings = demo_data(db_url, dashboard=dashboard_section(HASH))
    load_demo(db, settings)
    return settings


LATER = utcnow() + timedelta(days=1)  # cases are opened when the pipeline runs: a day later all are overdue


@pytest.fixture
def client(db, demo) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(demo, db, now=lambda: LATER), base_url="http://127.0.0.1") as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(c: TestClient, user: str = "ana", password: str = PASSWORD) -> None:
    page = c.get("/login")
    r = c.post("/login", data={"username": user, "password": password, "csrf": _csrf(page.text), "next": "/cases"})
    assert r.status_code == 200 and "Case queue" in r.text, r.text[:300]


def test_passwords_are_hashed_and_verified() -> None:
    h = hash_password("s3cret")
    assert h.startswith("$argon2id$") and "s3cret" not in h and not needs_rehash(h)
    assert verify_password("s3cret", h) and not verify_password("wrong", h) and not verify_password("s3cret", "junk")
    old = scrypt_hash("s3cret")  # hashes made before argon2 still verify, and are flagged for a new hash
    assert old.startswith("scrypt$") and verify_password("s3cret", old) and not verify_password("wrong", old)
    assert needs_rehash(old)


def test_anonymous_access_is_refused(client: TestClient) -> None:
    for path in ("/cases", "/cases/1", "/trends", "/digest"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert client.get("/static/gripewatch.js").status_code == 200  # the copy button's script holds no data
    assert client.post("/cases/1/action", data={"action": "resolve"}).status_code == 401
    r = client.get("/cases")  # followed: the login page, and no customer data on it
    assert "Sign in" in r.text and "Acme" not in r.text and "Case #" not in r.text and "followers" not in r.text


def test_wrong_password_and_missing_csrf(client: TestClient) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": "ana", "password": "nope", "csrf": _csrf(page.text)})
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": "forged"})
    assert r.status_code == 403
    login(client)
    r = client.post("/cases/1/action", data={"action": "acknowledge", "csrf": "forged"})
    assert r.status_code == 403


def test_queue_filters_and_case_detail(client: TestClient) -> None:
    login(client)
    r = client.get("/cases")
    total = int(re.search(r'id="total">(\d+)', r.text).group(1))
    assert total > 10 and 'href="/cases/1"' in r.text
    assert "0 cases" in client.get("/cases?priority=critical&brand=Nope").text

    def count(q: str) -> int:
        return int(re.search(r'id="total">(\d+)', client.get(f"/cases?{q}").text).group(1))

    assert sum(count(f"sla={x}") for x in ("breached", "due", "ok", "answered")) == total
    assert count("sla=answered") >= 1 and count("sla=breached") >= 1
    assert count("assignee=none") + count("assignee=U0AGENT01") + count("assignee=U0AGENT02") == total
    assert count("assignee=me") == count("assignee=U0AGENT01") >= 1  # ana acts as roster member U0AGENT01
    assert "No case matches" in client.get("/cases?assignee=U0NOBODY").text
    assert count("source=demo&status=all") >= total and count("source=other") == 0
    r = client.get("/cases/1")
    assert "Conversation" in r.text and "Audit trail" in r.text and "opened" in r.text and "complaint" in r.text
    assert client.get("/cases/99999").status_code == 404
    assert "<svg" in client.get("/trends").text
    assert "Top recurring problems" in client.get("/digest?period=2026-W47").text


def test_actions_change_the_case_and_write_the_audit_trail(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    login(client)
    page = client.get("/cases/2")
    r = client.post("/cases/2/action", data={"action": "acknowledge", "csrf": _csrf(page.text)})
    assert r.status_code == 200 and "Acknowledged case #2" in r.text and "acknowledged" in r.text
    token = _csrf(r.text)
    r = client.post("/cases/2/action", data={"action": "acknowledge", "csrf": token})
    assert "already acknowledged" in r.text
    client.post("/cases/2/action", data={"action": "escalate", "csrf": token})
    client.post("/cases/2/action", data={"action": "resolve", "csrf": token})
    client.post("/cases/3/action", data={"action": "not_complaint", "csrf": token})
    with db.sessions() as s:
        c2, c3 = s.get(Case, 2), s.get(Case, 3)
        assert (c2.status, c2.resolved_at) == ("resolved", LATER) and c2.assignee is not None
        assert c3.status == "closed"
        events = s.execute(
            select(CaseEvent.kind, CaseEvent.actor).where(CaseEvent.case_id == 2).order_by(CaseEvent.id)
        ).all()
        mine = [kind for kind, actor in events if actor == "U0AGENT01"]  # ana acts as her roster id
        assert mine == ["acknowledged", "escalated", "resolved"] and events[0][0] == "opened"
        assert s.scalars(select(Feedback.label).where(Feedback.actor == "U0AGENT01")).all()  # the model learns
    r = client.get("/cases/2")
    assert "escalated" in r.text and "by Priya" in r.text  # ana acts as roster member Priya


def test_action_function_rules(db, demo) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        settings = demo
        apply_dashboard_action(s, settings, 4, "acknowledge", "U0AGENT01", NOW)
        with pytest.raises(ActionError, match="unknown action"):
            apply_dashboard_action(s, settings, 4, "delete", "U0AGENT01", NOW)
        with pytest.raises(ActionError, match="no case"):
            apply_dashboard_action(s, settings, 999_999, "resolve", "U0AGENT01", NOW)
        apply_dashboard_action(s, settings, 4, "resolve", "U0AGENT01", NOW)
        with pytest.raises(ActionError, match="already resolved"):
            apply_dashboard_action(s, settings, 4, "resolve", "U0AGENT01", NOW)


def test_header_mode_trusts_the_proxy_header_for_known_users(db, db_url) -> None:  # type: ignore[no-untyped-def]
    settings = demo_data(db_url, dashboard=dashboard_section(HASH, auth="header", trusted_header="X-Remote-User"))
    app = create_app(settings, db, now=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as c:
        assert c.get("/cases", follow_redirects=False).status_code == 401
        assert c.get("/cases", headers={"X-Remote-User": "mallory"}).status_code == 401
        r = c.get("/cases", headers={"X-Remote-User": "ben"})
        assert r.status_code == 200 and 'id="me">ben<' in r.text


def test_dashboard_refuses_to_start_without_secret_or_users(db, db_url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="secret_key"):
        create_app(demo_data(db_url, dashboard={"users": [{"username": "a", "password_hash": HASH}]}), db)
    with pytest.raises(ConfigError, match="dashboard.users"):
        create_app(demo_data(db_url, dashboard={"secret_key": SECRET}), db)
