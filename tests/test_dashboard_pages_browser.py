"""Every dashboard page in headless chromium at desktop (1280 px) and phone (390 px) width (issue 17).

No page scrolls sideways (``document.documentElement.scrollWidth <= innerWidth``); the queue becomes
cards on a phone and the header's "Sign out" stays on screen; search, sort and every topic filter
work; the case page's Copy button copies the suggested reply; trends are SVG charts; the digest keeps
the navigation. Screenshots go to test-artifacts/screenshots/ (git-ignored). When axe-core is
available (``GRIPEWATCH_AXE_JS``, or ``npm install axe-core`` into /tmp/axe), every page is also
checked for serious and critical accessibility violations.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard_helpers import PASSWORD
from tests.test_dashboard_browser import ARTIFACTS, CHROMIUM, _require_chromium, server  # noqa: F401

SHOTS = ARTIFACTS / "screenshots"
AXE = Path(os.environ.get("GRIPEWATCH_AXE_JS", "/tmp/axe/node_modules/axe-core/axe.min.js"))


def _fits(page: Any) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width[0]} px wide in a {width[1]} px window"


def _axe(page: Any) -> None:
    if not AXE.exists():
        return
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"
    )
    assert not found, f"{page.url}: {found}"


def _total(page: Any) -> int:
    return int(page.locator("#total").inner_text().split()[0])


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_at_desktop_and_phone_width(server: str, width: int) -> None:  # noqa: F811
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": width, "height": 900 if width > 700 else 844},
                bypass_csp=AXE.exists(),  # only to inject axe-core; the app's own pages need no exception
            )
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
            page = context.new_page()
            page.goto(f"{server}/login")
            _fits(page)
            _axe(page)
            page.fill("input[name=username]", "ana")
            page.fill("input[name=password]", PASSWORD)
            page.click("form[action='/login'] button[type=submit]")
            expect(page.locator("#me")).to_have_text("ana")

            # the queue: fits, cards on a phone, Sign out on screen
            page.goto(f"{server}/cases")
            _fits(page)
            sign_out = page.get_by_role("button", name="Sign out").bounding_box()
            assert sign_out and sign_out["x"] + sign_out["width"] <= width
            display = page.locator("#queue tbody tr").first.evaluate("tr => getComputedStyle(tr).display")
            assert (display == "grid") == (width < 700), display
            _axe(page)
            page.screenshot(path=str(SHOTS / f"queue-{width}.png"), full_page=True)

            # search by case number and by a customer's handle
            page.fill("#q", "#3")
            page.click("#filters button[type=submit]")
            expect(page.locator("#queue tbody tr").first).to_have_attribute("data-case", "3")
            handle = page.locator("#queue tbody tr td.customer").first.inner_text().split()[0]
            page.fill("#q", handle)
            page.click("#filters button[type=submit]")
            assert _total(page) >= 1
            for cell in page.locator("#queue td.customer").all():
                assert handle in cell.inner_text()

            # sort by waiting time: the longest wait first
            page.goto(f"{server}/cases")
            page.select_option("#f-sort", "waiting")
            page.click("#filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"sort=waiting"))
            titles = page.locator("#queue td.waiting").evaluate_all("tds => tds.map(td => td.title)")
            assert titles and all("since the customer posted" in t for t in titles)
            waits = page.locator("#queue td.waiting").all_inner_texts()
            assert " d" in waits[0]  # demo posts are days old

            # every topic: its option's count is what the filter shows
            page.goto(f"{server}/cases?status=all")
            options = page.locator("#f-topic option").evaluate_all(
                "os => os.filter(o => o.value).map(o => [o.value, o.textContent])"
            )
            assert len(options) >= 8
            for value, label in options:
                want = int(re.search(r"\((\d+)\)$", label).group(1))  # type: ignore[union-attr]
                page.select_option("#f-topic", value)
                page.click("#filters button[type=submit]")
                expect(page.locator("#f-topic")).to_have_value(value)
                assert _total(page) == want, (value, label)
                if value in ("billing_refunds", "outage_bug", "account_login", "delivery"):
                    assert want > 0, value
                _fits(page)
            page.screenshot(path=str(SHOTS / f"queue-topic-filter-{width}.png"), full_page=True)

            # bulk selection: two open cases grouped into a new incident, the queue filtered to it
            page.goto(f"{server}/cases?sort=newest")
            boxes = page.locator("#queue input[name=case]")
            picked = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
            boxes.nth(0).check()
            boxes.nth(1).check()
            page.fill("#bulk-title", f"Phone test {width}")
            page.get_by_role("button", name="Group into incident").click()
            expect(page.get_by_role("status").first).to_contain_text("opened with 2 cases")
            expect(page.locator("#incident")).to_be_visible()
            assert sorted(page.locator("#queue tbody tr").evaluate_all("rs => rs.map(r => r.dataset.case)")) == sorted(
                picked
            )
            _fits(page)
            page.screenshot(path=str(SHOTS / f"queue-incident-{width}.png"), full_page=True)

            # the case page: the card's content, Copy, fits
            page.goto(f"{server}/cases/1")
            _fits(page)
            expect(page.locator("#suggested-reply")).not_to_be_empty()
            expect(page.locator("#priority")).to_contain_text("Severity")
            expect(page.locator("#sla-clocks")).to_contain_text("First response")
            expect(page.locator("#waiting")).to_contain_text("waiting for")
            page.get_by_role("button", name="Copy reply").click()
            expect(page.locator("#suggested-reply-status")).to_contain_text("Copied")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == page.locator("#suggested-reply").input_value()
            _axe(page)
            page.screenshot(path=str(SHOTS / f"case-{width}.png"), full_page=True)
            page.get_by_role("button", name="Acknowledge").click()
            expect(page.get_by_role("status").first).to_have_text("Acknowledged case #1")
            page.screenshot(path=str(SHOTS / f"case-acknowledged-{width}.png"))

            # trends: SVG charts and the period picker
            page.goto(f"{server}/trends")
            page.select_option("#period", "last-90-days")
            page.click("#period-picker button[type=submit]")
            expect(page).to_have_url(re.compile(r"period=last-90-days"))
            assert page.locator("svg.chart").count() >= 6 and page.locator("img").count() == 0
            expect(page.get_by_role("img", name=re.compile("Complaints by topic"))).to_be_visible()
            _fits(page)
            _axe(page)
            page.screenshot(path=str(SHOTS / f"trends-{width}.png"), full_page=True)

            # the digest keeps the navigation and has its own period picker
            page.goto(f"{server}/digest?period=2026-W47")
            expect(page.get_by_text("Top recurring problems")).to_be_visible()
            expect(page.get_by_role("navigation", name="Main")).to_be_visible()
            expect(page.locator("#period")).to_be_visible()
            _fits(page)
            page.screenshot(path=str(SHOTS / f"digest-{width}.png"), full_page=True)
        finally:
            browser.close()
