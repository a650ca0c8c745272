"""The dashboard in a real headless browser: Debian chromium driven by Playwright.

Log in, filter the queue, open a case, acknowledge it, see the audit trail;
anonymous access is refused. Screenshots go to test-artifacts/. Skips when
chromium is missing, except in CI (GRIPEWATCH_REQUIRE_SHARED=1) where it must run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gripewatch.dashboards.web import create_app
from gripewatch.db import open_database
from tests.dashboard_helpers import PASSWORD, dashboard_section, demo_data, load_demo

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("GRIPEWATCH_CHROMIUM", "/usr/bin/chromium")


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    if os.environ.get("GRIPEWATCH_REQUIRE_SHARED") == "1":
        pytest.fail(f"{CHROMIUM} is missing but GRIPEWATCH_REQUIRE_SHARED=1 (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    import uvicorn

    from gripewatch.dashboards.auth import hash_password

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = demo_data(url, dashboard=dashboard_section(hash_password(PASSWORD)))
    db = open_database(url)
    load_demo(db, settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)
    db.dispose()


def test_dashboard_in_headless_chromium(server: str) -> None:
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # anonymous: sent to the login page, no customer data
            page.goto(f"{server}/cases/1")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            assert "/login" in page.url and "Conversation" not in page.content()
            # a wrong password is refused
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", "wrong")
            page.click("button[type=submit]")
            expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
            # log in: back to where we wanted to go
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#me")).to_have_text("ana")
            # filter the queue
            page.goto(f"{server}/cases")
            total = int(page.locator("#total").inner_text().split()[0])
            page.select_option("select[name=sla]", "answered")
            page.click("#filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"/cases\?.*\bsla=answered\b"))
            answered = int(page.locator("#total").inner_text().split()[0])
            assert 0 < answered < total
            page.select_option("select[name=sla]", "")
            page.select_option("select[name=assignee]", "me")  # ana is roster member U0AGENT01 (Priya)
            page.click("#filters button[type=submit]")
            mine = int(page.locator("#total").inner_text().split()[0])
            assert 0 < mine < total
            page.screenshot(path=str(ARTIFACTS / "dashboard-queue.png"), full_page=True)
            # open a case and acknowledge it
            page.locator("#queue tbody tr a").first.click()
            expect(page.locator("#status")).to_have_text("new")
            page.get_by_role("button", name="Acknowledge").click()
            expect(page.get_by_role("status").first).to_contain_text("Acknowledged case #")
            expect(page.locator("#status")).to_have_text("acknowledged")
            expect(page.locator("#assignee")).to_have_text("Priya")
            # the audit trail shows it
            expect(page.locator("#audit li").last).to_contain_text("acknowledged by Priya")
            expect(page.locator("#audit li").first).to_contain_text("opened by gripewatch")
            page.screenshot(path=str(ARTIFACTS / "dashboard-case.png"), full_page=True)
            # the trends page and the digest render for a logged-in user
            page.goto(f"{server}/digest?period=2026-W47")
            expect(page.get_by_text("Top recurring problems")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-digest.png"), full_page=True)
            # after signing out, nothing is reachable
            page.goto(f"{server}/cases")
            page.get_by_role("button", name="Sign out").click()
            page.goto(f"{server}/cases/1")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        finally:
            browser.close()
