"""Property tests (hypothesis) of the dashboard's inputs: every filter, path id and query parameter,
random or hostile, answers without a server error and is never reflected unescaped.

A value carrying the marker ``<z9 `` would show up verbatim in the HTML only if it were written
unescaped (escaped, it reads ``&lt;z9 ``); our own templates never contain it. Examples per
property: the ``ci`` profile's 300, or ``HYPOTHESIS_PROFILE=long`` (tests/hypothesis_profiles.py).
Each runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gripewatch.dashboards.auth import hash_password
from gripewatch.dashboards.queue import PRIORITIES, SLA_STATES, STATUSES
from gripewatch.dashboards.web import _safe_next, create_app
from gripewatch.db import Database
from tests.dashboard_helpers import NOW, PASSWORD, Clock, dashboard_section, demo_data, small_case

HASH = hash_password(PASSWORD)
MARK = "<z9 "
FIXTURES_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)  # any encodable text, NUL too
hostile = st.builds(lambda a, b: f"{a}{MARK}{b}\"'>", text, text)
numbers = st.integers(min_value=-(2**80), max_value=2**80).map(str)


def value(valid: tuple[str, ...] = ()) -> st.SearchStrategy[str | None]:
    options = [st.none(), text, hostile, numbers]
    if valid:
        options.insert(1, st.sampled_from(valid))
    return st.one_of(*options)


@pytest.fixture
def client(db: Database, db_url: str) -> Iterator[TestClient]:
    """Signed in as ana, on a database with one case whose post URL is ``javascript:``."""
    small_case(db)
    settings_ = demo_data(db_url, dashboard=dashboard_section(HASH))
    app = create_app(settings_, db, now=Clock())
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 1), raise_server_exceptions=False) as c:
        form = c.get("/login").text
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = c.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        yield c


def _clean(r: Any, sent: dict[str, str | None]) -> None:
    assert r.status_code < 500, (r.status_code, sent, r.text[:300])
    assert MARK not in r.text, sent  # nothing we were sent comes back unescaped
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


@FIXTURES_OK
@given(
    status=value(STATUSES), priority=value(PRIORITIES), brand=value(("Acme",)), source=value(("demo",)),
    assignee=value(("me", "none", "ana", "U0AGENT01")), topic=value(("billing",)), sla=value(SLA_STATES),
    page=st.one_of(numbers, value()), q=value(("order", "100%", "_", '"', "a NEAR b", "x*", "-y", "#1", "@mallory")),
)  # fmt: skip
def test_queue_filters(client: TestClient, **params: str | None) -> None:
    sent = {k: v for k, v in params.items() if v is not None}
    r = client.get("/cases", params=sent)
    _clean(r, sent)
    assert r.status_code == 200 and 'id="total"' in r.text


@FIXTURES_OK
@given(
    case_id=st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), text),
    done=value(), error=value(), action=value(("acknowledge", "resolve", "assign_me")),
)  # fmt: skip
def test_case_pages_and_actions(client: TestClient, case_id: str, done: Any, error: Any, action: Any) -> None:
    path = f"/cases/{quote(case_id, safe='')}"
    params = {k: v for k, v in {"done": done, "error": error}.items() if v is not None}
    r = client.get(path, params=params)
    _clean(r, {"id": case_id, **params})
    assert r.status_code in (200, 404)
    page = client.get("/cases")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = client.post(f"{path}/action", data={"csrf": token, "action": action or ""})
    _clean(r, {"id": case_id, "action": action})
    assert r.status_code in (200, 404, 405)


periods = st.one_of(
    value(("last-week", "this-week", "2026-W47", "2026-11-01..2026-11-30")),
    st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.integers(0, 9999), st.integers(0, 60)),
    st.builds(lambda a, b: f"{a}..{b}", st.dates().map(str), st.dates().map(str)),
)


@given(period=periods)
def test_periods_parse_or_say_why(period: str | None) -> None:
    from gripewatch.dashboards.period import MAX_DAYS, parse_period
    from gripewatch.errors import InputError

    try:
        p = parse_period(period or "", "UTC", NOW)
    except InputError:
        return
    assert p.start < p.end and (p.end - p.start).days <= MAX_DAYS
    assert p.previous.start.year >= 1969 and p.end.year <= 3000


@settings(FIXTURES_OK, max_examples=60)  # each valid period builds a digest and draws its chart (about half a second)
@given(period=periods)
def test_digest_periods(client: TestClient, period: str | None) -> None:
    r = client.get("/digest", params={"period": period} if period is not None else {})
    _clean(r, {"period": period})
    assert r.status_code in (200, 400)


@FIXTURES_OK
@given(nxt=value(("/cases", "/cases/1", "//evil.example", "https://evil.example", "/\\evil.example")))
def test_login_page_next(client: TestClient, nxt: str | None) -> None:
    client.cookies.clear()  # anonymous
    r = client.get("/login", params={"next": nxt} if nxt is not None else {})
    _clean(r, {"next": nxt})
    assert r.status_code == 200


@given(nxt=st.one_of(text, hostile, st.sampled_from(["//x", "/\\x", "/\t/x", "https://x", "/%2f/x"])))
def test_login_redirects_stay_on_the_site(nxt: str) -> None:
    target = _safe_next(nxt)
    parts = urlsplit(target)
    assert target.startswith("/") and not parts.scheme and not parts.netloc, target
    assert "\\" not in target and not any(ord(c) < 0x20 for c in target), target
