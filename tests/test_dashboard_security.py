"""The dashboard under attack: no usable default key, throttled logins, server-side sessions that end,
header mode only behind named proxies, no hostile link or banner, security headers on every response.

Each test drives the real app over HTTP (Starlette TestClient) on SQLite and PostgreSQL, on a tiny
database of its own (one case, two posts) rather than the whole demo.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from gripewatch.cli import cli
from gripewatch.config import load_settings
from gripewatch.dashboards.auth import hash_password
from gripewatch.dashboards.web import create_app
from gripewatch.db import Database
from gripewatch.errors import ConfigError
from tests.dashboard_helpers import PASSWORD, SECRET, Clock, dashboard_section, demo_data, small_case

HASH = hash_password(PASSWORD)
ROOT = Path(__file__).resolve().parents[1]
LOCAL = ("127.0.0.1", 50000)
HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def make_client(settings: Any, db: Database, clock: Clock, **kw: Any) -> TestClient:
    kw.setdefault("client", LOCAL)
    return TestClient(create_app(settings, db, now=clock), base_url="http://127.0.0.1", **kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_url: str) -> Any:
    return demo_data(db_url, dashboard=dashboard_section(HASH, idle_minutes=30))


@pytest.fixture
def client(db: Database, settings: Any, clock: Clock) -> Iterator[TestClient]:
    small_case(db)
    with make_client(settings, db, clock) as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def try_login(c: TestClient, user: str = "ana", password: str = PASSWORD) -> Any:
    form = c.get("/login")
    return c.post(
        "/login", data={"username": user, "password": password, "csrf": csrf_of(form.text)}, follow_redirects=False
    )


def login(c: TestClient, user: str = "ana") -> None:
    r = try_login(c, user)
    assert r.status_code == 303, r.text[:300]
    assert c.get("/cases").status_code == 200


# ---------------------------------------------------------------- 1. no usable default key


def test_config_yaml_has_no_default_secret_key_and_other_commands_need_none(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gripewatch.cli.run import demo_settings

    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("secret_key:"))
    assert "${DASHBOARD_SECRET_KEY}" in line and ":-" not in line, line
    monkeypatch.delenv("DASHBOARD_SECRET_KEY", raising=False)
    assert load_settings(ROOT / "config.yaml").dashboard.secret_key is None  # run-once, serve, … still load it
    assert demo_settings(tmp_path / "demo.db").dashboard.secret_key is None  # `gripewatch demo` needs no key


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (None, "not set"),
        ("short-key-of-31-characters-xxxx", "32"),
        ("change-me-to-32-random-characters", "placeholder"),
        ("CHANGE-ME-to-32-random-characters", "placeholder"),
        ("x" * 40, "placeholder"),  # one character repeated is no key either
    ],
)
def test_a_weak_or_placeholder_key_is_refused_at_start(db, db_url, key, says) -> None:  # type: ignore[no-untyped-def]
    section = {k: v for k, v in dashboard_section(HASH).items() if k != "secret_key"}
    if key is not None:
        section["secret_key"] = key
    with pytest.raises(ConfigError) as e:
        create_app(demo_data(db_url, dashboard=section), db)
    msg = str(e.value)
    assert "dashboard.secret_key" in msg and says in msg and "\n" not in msg
    if key:
        assert key not in msg  # the secret itself is never shown


def test_the_cli_refuses_a_placeholder_key_in_one_line_with_exit_2(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "config.yaml"
    section = dashboard_section(HASH, secret_key="${DASHBOARD_SECRET_KEY}")
    cfg.write_text(yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 'x.db'}"}, "dashboard": section}))
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "change-me-to-32-random-characters")
    result = CliRunner().invoke(cli, ["dashboard", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "dashboard.secret_key" in result.output
    assert "change-me-to-32-random-characters" not in result.output


# ---------------------------------------------------------------- 2. throttling and one-time login tokens


def test_five_wrong_passwords_then_429_even_for_the_right_one(client, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="gripewatch.dashboards")
    for _ in range(5):
        assert try_login(client, password="wrong").status_code == 401
    for password in ("wrong", PASSWORD):
        r = try_login(client, password=password)
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 15 * 60
        assert "Too many failed sign-ins" in r.text
    assert client.get("/cases", follow_redirects=False).status_code == 303  # not signed in
    throttled = [r for r in caplog.records if "throttled" in r.getMessage()]
    assert len(throttled) == 1, [r.getMessage() for r in caplog.records]
    assert PASSWORD not in caplog.text and "'wrong'" not in caplog.text


def test_throttling_ends_after_the_window(client, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        try_login(client, password="wrong")
    assert try_login(client).status_code == 429
    clock.now += timedelta(minutes=15, seconds=1)
    assert try_login(client).status_code == 303


def test_throttling_per_client_address_across_user_names(db, settings, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    with make_client(settings, db, clock, client=("10.0.0.7", 1)) as attacker, make_client(settings, db, clock) as ana:
        for i in range(5):
            assert try_login(attacker, user=f"guess{i}", password="wrong").status_code == 401
        assert try_login(attacker, user="ben", password="wrong").status_code == 429  # same address, new name
        assert try_login(ana).status_code == 303  # another address, a user not attacked


def test_a_login_token_works_once(client) -> None:  # type: ignore[no-untyped-def]
    form = client.get("/login")
    token = csrf_of(form.text)
    r = client.post("/login", data={"username": "ana", "password": "wrong", "csrf": token})
    assert r.status_code == 401 and csrf_of(r.text) != token  # the answer carries a new form
    r = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": token}, follow_redirects=False)
    assert r.status_code == 403 and "form expired" in r.text
    first = csrf_of(client.get("/login").text)
    assert csrf_of(client.get("/login").text) != first  # a fresh token per form


def test_a_replayed_login_cookie_and_token_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    form = client.get("/login")
    token, cookie = csrf_of(form.text), client.cookies.get("gripewatch_session")
    r = client.post("/login", data={"username": "ana", "password": "wrong", "csrf": token})
    assert r.status_code == 401
    client.cookies.clear()
    client.cookies.set("gripewatch_session", cookie)  # the same cookie and token again: a scripted guesser
    r = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": token}, follow_redirects=False)
    assert r.status_code == 403 and client.get("/cases", follow_redirects=False).status_code == 303


def test_each_session_has_its_own_csrf_token(db, settings, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    with make_client(settings, db, clock) as a, make_client(settings, db, clock) as b:
        login(a)
        login(b)
        ta, tb = csrf_of(a.get("/cases/1").text), csrf_of(b.get("/cases/1").text)
        assert ta != tb
        assert a.post("/cases/1/action", data={"action": "acknowledge", "csrf": tb}).status_code == 403
        assert a.post("/cases/1/action", data={"action": "acknowledge", "csrf": ta}).status_code == 200


# ---------------------------------------------------------------- 3. server-side sessions


def test_a_copied_cookie_stops_working_after_logout(client) -> None:  # type: ignore[no-untyped-def]
    login(client)
    cookie = client.cookies.get("gripewatch_session")
    token = csrf_of(client.get("/cases").text)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set("gripewatch_session", cookie)
    r = client.get("/cases", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_idle_sessions_end(client, clock) -> None:  # type: ignore[no-untyped-def]
    login(client)
    clock.now += timedelta(minutes=29)
    assert client.get("/cases").status_code == 200  # activity keeps it alive …
    clock.now += timedelta(minutes=29)
    assert client.get("/cases").status_code == 200
    clock.now += timedelta(minutes=31)  # … 31 idle minutes end it (dashboard.idle_minutes: 30)
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_sessions_end_after_session_hours_however_busy(client, clock) -> None:  # type: ignore[no-untyped-def]
    login(client)
    for _ in range(12 * 3):
        clock.now += timedelta(minutes=20)
        client.get("/cases")
    clock.now += timedelta(minutes=1)
    assert client.get("/cases", follow_redirects=False).status_code == 303


def test_a_password_change_ends_the_users_sessions(db, db_url, settings, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    with make_client(settings, db, clock) as c:
        login(c)
        cookie = c.cookies.get("gripewatch_session")
    changed = demo_data(db_url, dashboard=dashboard_section(hash_password("a new password of ana"), idle_minutes=30))
    with make_client(changed, db, clock) as c:
        c.cookies.set("gripewatch_session", cookie)
        assert c.get("/cases", follow_redirects=False).status_code == 303


def _config_file(tmp_path: Path, db_url: str) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": db_url}, "dashboard": dashboard_section(HASH)}))
    return cfg


def test_cli_revokes_a_users_sessions(db, db_url, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gripewatch.models import utcnow

    clock.now = utcnow()  # the command works on the real clock
    small_case(db)
    cfg = _config_file(tmp_path, db_url)
    settings = load_settings(cfg)
    with make_client(settings, db, clock) as ana, make_client(settings, db, clock) as ben:
        login(ana)
        login(ana)  # a second sign-in on the same browser ends the first session
        login(ben, "ben")
        listed = CliRunner().invoke(cli, ["dashboard", "sessions", "list", "--config", str(cfg)])
        assert listed.exit_code == 0 and "ana" in listed.output and "ben" in listed.output, listed.output
        result = CliRunner().invoke(cli, ["dashboard", "sessions", "revoke", "ana", "--config", str(cfg)])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "revoked 1 session of ana"
        assert ana.get("/cases", follow_redirects=False).status_code == 303
        assert ben.get("/cases").status_code == 200
        again = CliRunner().invoke(cli, ["dashboard", "sessions", "revoke", "ana", "--config", str(cfg)])
        assert again.output.strip() == "no active session of ana"


def test_the_session_table_holds_no_usable_cookie_value(db, client) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from gripewatch.models import DashboardSession

    login(client)
    cookie = client.cookies.get("gripewatch_session")
    with db.sessions() as s:
        rows = s.scalars(select(DashboardSession)).all()
        assert [r.username for r in rows] == ["ana"] and rows[0].revoked_at is None
        stored = " ".join(f"{r.id} {r.credential}" for r in rows)
    payload = cookie.split(".")[0]
    import base64
    import json

    sid = json.loads(base64.b64decode(payload + "=="))["sid"]
    assert sid not in stored and SECRET not in stored and HASH not in stored


# ---------------------------------------------------------------- 4. header mode


def _header_settings(db_url: str, **extra: Any) -> Any:
    return demo_data(db_url, dashboard=dashboard_section(HASH, auth="header", trusted_header="X-Remote-User", **extra))


def test_header_mode_needs_users(db, db_url) -> None:  # type: ignore[no-untyped-def]
    section = {"secret_key": SECRET, "auth": "header"}
    with pytest.raises(ConfigError, match=r"dashboard\.users: header mode needs"):
        create_app(demo_data(db_url, dashboard=section), db)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "dashboard.example.com"])
def test_header_mode_refuses_a_public_bind_without_trusted_proxies(db, db_url, host) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"dashboard\.trusted_proxies"):
        create_app(_header_settings(db_url), db, host=host)
    create_app(_header_settings(db_url, trusted_proxies=["10.0.0.2"]), db, host=host)  # named proxies: allowed
    create_app(_header_settings(db_url), db, host="127.0.0.1")
    create_app(_header_settings(db_url), db, host="localhost")


def test_header_mode_trusts_only_the_named_proxies(db, db_url, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    settings = _header_settings(db_url, trusted_proxies=["10.0.0.2", "10.1.0.0/16"])
    for peer, ok in ((("10.0.0.2", 1), True), (("10.1.3.4", 1), True), (("10.0.0.3", 1), False), (LOCAL, False)):
        with make_client(settings, db, clock, client=peer) as c:
            r = c.get("/cases", headers={"X-Remote-User": "ben"}, follow_redirects=False)
            assert (r.status_code == 200) is ok, (peer, r.status_code)
            if ok:
                assert 'id="me">ben<' in r.text
                assert c.get("/cases", headers={"X-Remote-User": "mallory"}).status_code == 401


def test_header_mode_without_proxies_trusts_loopback_peers_only(db, db_url, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    settings = _header_settings(db_url)
    with make_client(settings, db, clock) as c:
        assert c.get("/cases", headers={"X-Remote-User": "ben"}).status_code == 200
    with make_client(settings, db, clock, client=("192.168.1.9", 1)) as c:
        assert c.get("/cases", headers={"X-Remote-User": "ben"}).status_code == 401


def test_a_bad_trusted_proxy_is_a_config_error(db_url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"dashboard\.trusted_proxies"):
        _header_settings(db_url, trusted_proxies=["not-an-address"])


# ---------------------------------------------------------------- 6. links, banners, headers, ids


def test_only_http_links_on_the_case_page(client, db) -> None:  # type: ignore[no-untyped-def]
    login(client)
    html = client.get("/cases/1").text
    assert 'href="javascript:' not in html.lower() and "javascript:alert(1)" in html  # shown as text
    assert 'href="https://x.com/mallory/status/2"' in html


@pytest.mark.parametrize(
    "url", ["JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x", "//evil.example/x"]
)
def test_no_other_scheme_becomes_a_link(db, settings, clock, url) -> None:  # type: ignore[no-untyped-def]
    cid = small_case(db, url=url)
    with make_client(settings, db, clock) as c:
        login(c)
        html = c.get(f"/cases/{cid}").text
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith(("/", "#", "https://x.com/")) and not h.startswith("//") for h in hrefs), (
        hrefs
    )  # "#main": skip link


def test_banners_never_show_query_text(client) -> None:  # type: ignore[no-untyped-def]
    login(client)
    bait = "Your account is locked. Call +1 555 0100"
    for q in (f"error={bait}", f"done={bait}", f"flash={bait}", f"message={bait}"):
        r = client.get(f"/cases/1?{q}")
        assert r.status_code == 200 and bait not in r.text, q
        assert 'class="flash' not in r.text
    token = csrf_of(client.get("/cases/1").text)
    r = client.post("/cases/1/action", data={"action": "acknowledge", "csrf": token})
    assert "Acknowledged case #1" in r.text
    r = client.post("/cases/1/action", data={"action": "acknowledge", "csrf": token})
    assert "already acknowledged" in r.text
    assert 'class="flash' not in client.get("/cases/1").text  # a banner is shown once


def test_the_digest_error_page_does_not_repeat_the_query(client) -> None:  # type: ignore[no-untyped-def]
    login(client)
    r = client.get("/digest?period=Your account is locked")
    assert r.status_code == 400 and "locked" not in r.text and "last-week" in r.text


def test_security_headers_on_every_response(client) -> None:  # type: ignore[no-untyped-def]
    responses = {
        "/": client.get("/", follow_redirects=False),
        "/healthz": client.get("/healthz"),
        "/login": client.get("/login"),
        "404 route": client.get("/no/such/page"),
        "405": client.delete("/cases"),
        "anonymous": client.get("/cases", follow_redirects=False),
        "static script": client.get("/static/gripewatch.js"),
    }
    login(client)
    responses["case 404"] = client.get("/cases/424242")
    responses["case"] = client.get("/cases/1")
    for name, r in responses.items():
        for h in HEADERS:
            assert h in r.headers, (name, r.status_code, h)
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_security_headers_on_a_server_error(db, settings, clock) -> None:  # type: ignore[no-untyped-def]
    small_case(db)
    with make_client(settings, db, clock, raise_server_exceptions=False) as c:
        login(c)
        db.engine.dispose()
        with db.session() as s:  # break the page: its table is gone
            from sqlalchemy import text

            s.execute(text("DROP TABLE case_events"))
        r = c.get("/cases/1")
    assert r.status_code == 500 and "case_events" not in r.text and "Traceback" not in r.text
    for h in HEADERS:
        assert h in r.headers, h


@pytest.mark.parametrize("case_id", ["99999999999999999999", "2147483648", "9223372036854775808", "0", "00000"])
def test_out_of_range_case_ids_are_404(client, case_id) -> None:  # type: ignore[no-untyped-def]
    login(client)
    r = client.get(f"/cases/{case_id}")
    assert r.status_code == 404 and "No case" in r.text
    token = csrf_of(client.get("/cases/1").text)
    for path, data in (("action", {"action": "resolve"}), ("note", {"text": "hi"}), ("reassign", {"to": "ben"})):
        r = client.post(f"/cases/{case_id}/{path}", data={**data, "csrf": token})
        assert r.status_code == 404, path


def test_the_dashboard_key_and_hashes_are_redacted_from_logs(db_url, capsys) -> None:  # type: ignore[no-untyped-def]
    from gripewatch.cli.common import setup_logging

    setup_logging(demo_data(db_url, dashboard=dashboard_section(HASH)), 0, None, logging.INFO)
    try:
        logging.getLogger("gripewatch.test").warning("key %s hash %s", SECRET, HASH)
        err = capsys.readouterr().err
    finally:
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_gripewatch", False):
                logging.getLogger().removeHandler(h)
    assert "key *** hash ***" in err and SECRET not in err and HASH not in err
