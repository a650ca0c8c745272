"""The dashboard a care lead keeps open (issue 17), over HTTP on the demo data: search, sort, every
filter and its counts, "waiting for" from the customer's post, the case page's card, trends, digest."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from gripewatch.analysis.topics import DISPLAY_NAMES, display_name
from gripewatch.dashboards.auth import hash_password
from gripewatch.dashboards.web import create_app
from gripewatch.models import Author, Case, Mention, utcnow
from tests.dashboard_helpers import PASSWORD, dashboard_section, demo_data, load_demo
from tests.test_dashboard_web import _csrf, login

HASH = hash_password(PASSWORD)
LATER = utcnow() + timedelta(hours=1)


@pytest.fixture
def demo(db, db_url):  # type: ignore[no-untyped-def]
    settings = demo_data(db_url, dashboard=dashboard_section(HASH))
    load_demo(db, settings)
    return settings


@pytest.fixture
def client(db, demo) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(demo, db, now=lambda: LATER), base_url="http://127.0.0.1") as c:
        login(c)
        yield c


def total(c: TestClient, query: str) -> int:
    r = c.get(f"/cases?{query}")
    assert r.status_code == 200, r.text[:300]
    return int(re.search(r'id="total"[^>]*>(\d+)', r.text).group(1))  # type: ignore[union-attr]


def row_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-case="(\d+)"', page)]


def cases_with(db, pred) -> set[int]:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        return {m.case_id for m in s.scalars(select(Mention).where(Mention.case_id.is_not(None))) if pred(m)}


def test_every_topic_filter_finds_its_cases(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/cases?status=all").text
    for topic in DISPLAY_NAMES:
        want = cases_with(db, lambda m, t=topic: t in (m.analysis or {}).get("topics", []))
        assert total(client, f"status=all&topic={topic}") == len(want), topic
        # the option shows the same count, in words
        assert f">{html.escape(display_name(topic))} ({len(want)})</option>" in html.unescape(page).replace(
            "&", "&amp;"
        ) or f"{display_name(topic)} ({len(want)})" in html.unescape(page), topic
    for topic in ("billing_refunds", "outage_bug", "account_login"):  # the ones `_` stripping lost
        assert total(client, f"status=all&topic={topic}") > 0
    assert total(client, "status=all&topic=billing%") == 0  # LIKE wildcards are text, not patterns
    assert total(client, "status=all&topic=_") == 0


def test_language_source_and_brand_filters_with_counts(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/cases?status=all").text
    for lang in ("es", "de", "fr", "ja", "en"):
        want = cases_with(db, lambda m, x=lang: (m.analysis or {}).get("language") == x)
        assert want and total(client, f"status=all&language={lang}") == len(want), lang
        assert f"{lang} ({len(want)})</option>" in page
    everything = total(client, "status=all")
    assert (
        total(client, "status=all&source=demo") == everything and total(client, "status=all&brand=Acme") == everything
    )
    assert f"demo ({everything})</option>" in page and f"all ({everything})</option>" in page
    # counts of one filter keep the others: Spanish cases by priority add up to the Spanish total
    es = client.get("/cases?status=all&language=es").text
    by_priority = [int(n) for n in re.findall(r"<option value=\"(?:critical|high|normal|low)\"[^>]*>\w+ \((\d+)\)", es)]
    assert sum(by_priority) == total(client, "status=all&language=es")


def test_search_by_text_author_and_case_id(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        c = s.get(Case, 7)
        handle = s.scalar(select(Author.handle).where(Author.id == c.author_id))
        word = max(re.findall(r"[A-Za-z]{6,}", s.scalar(select(Mention.text).where(Mention.case_id == 7))), key=len)
        by_word = {
            m.case_id
            for m in s.scalars(select(Mention).where(Mention.case_id.is_not(None)))
            if word.lower() in (m.text or "").lower()
        } | set(s.scalars(select(Case.id).where(func.lower(Case.summary).like(f"%{word.lower()}%"))))
    assert 7 in row_ids(client.get(f"/cases?status=all&q=%40{handle}").text)
    assert row_ids(client.get("/cases?status=all&q=%237").text)[:1] == [7]
    found = row_ids(client.get(f"/cases?status=all&q={word.upper()}").text)
    assert 7 in found and set(found) <= by_word | {int(x) for x in re.findall(r"\d+", word)}
    assert "No case matches" in client.get("/cases?q=zzqqxx-nothing-like-it").text
    with db.sessions() as s:
        percent = {m.case_id for m in s.scalars(select(Mention).where(Mention.case_id.is_not(None))) if "%" in m.text}
        percent |= set(s.scalars(select(Case.id).where(Case.summary.contains("%", autoescape=True))))
    assert total(client, "status=all&q=%25") == len(percent) < total(client, "status=all")  # % is a character


def test_sorts(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        first = dict(
            s.execute(
                select(Mention.case_id, func.min(Mention.created_at))
                .where(Mention.case_id.is_not(None), Mention.is_own.is_(False))
                .group_by(Mention.case_id)
            ).all()
        )
        cases = {c.id: c for c in s.scalars(select(Case))}
    waiting = row_ids(client.get("/cases?sort=waiting").text)
    assert len(waiting) > 10
    assert [first[i] for i in waiting] == sorted(first[i] for i in waiting)  # longest waiting first
    rank = {"critical": 0, "high": 1, "normal": 2, "low": 3}
    by_priority = row_ids(client.get("/cases?sort=priority").text)
    assert [rank[cases[i].priority] for i in by_priority] == sorted(rank[cases[i].priority] for i in by_priority)
    due = row_ids(client.get("/cases?sort=sla_due").text)
    dues = [cases[i].sla["first_response"]["due_at"] for i in due if not cases[i].first_response_at]
    assert dues == sorted(dues)
    assert row_ids(client.get("/cases?sort=newest&status=all").text)[:3] == sorted(cases, reverse=True)[:3]


def test_waiting_for_counts_from_the_customers_post(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        posted = s.scalar(select(func.min(Mention.created_at)).where(Mention.case_id == 1))
    days = (LATER - posted).days
    assert days >= 7  # the demo's posts are old; the cases were opened when the pipeline ran
    page = client.get("/cases/1").text
    assert re.search(rf"waiting for <strong>{days} d( \d+ h)?</strong>", page), page[:2000]
    assert f"{posted:%d %b %Y %H:%M} UTC" in page
    queue = client.get("/cases?sort=waiting").text
    assert re.search(rf"{days} d( \d+ h)?</td>", queue) or f"{days} d" in queue


def test_case_page_shows_the_card(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        c = s.get(Case, 1)
        due = c.sla["first_response"]["due_at"]
    page = client.get("/cases/1").text
    assert 'id="suggested-reply"' in page and 'data-copy="suggested-reply"' in page and "Copy reply" in page
    assert "Why " in page and "Severity" in page  # the priority's parts
    assert "First response</dt><dd>due " in page and "Resolution</dt><dd>due " in page
    assert f"{due[8:10]} " in page and "Their other cases" in page


def test_other_cases_of_the_customer(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        c = s.get(Case, 3)
        extra = Case(brand="Acme", author_id=c.author_id, status="resolved", priority="low", summary="older problem")
        s.add(extra)
        s.flush()
        extra_id = extra.id
    page = client.get("/cases/3").text
    assert f'href="/cases/{extra_id}">#{extra_id}</a>' in page and "older problem" in page
    assert "None: this is their only case." in client.get("/cases/4").text


def test_reassign_and_note_flash_read_like_people(client: TestClient) -> None:
    token = _csrf(client.get("/cases/5").text)
    r = client.post("/cases/5/reassign", data={"to": "U0MANAGR1", "csrf": token})
    assert "Case #5 is now Sam&#39;s." in r.text and 'id="assignee">Sam<' in r.text
    r = client.post("/cases/5/note", data={"text": "<b>called</b> them", "csrf": token})
    assert "Note added to case #5." in r.text and "&lt;b&gt;called&lt;/b&gt; them" in r.text
    r = client.post("/cases/5/action", data={"action": "escalate", "csrf": token})
    assert "Escalated case #5 to the managers" in r.text and "Done:" not in r.text


def test_trends_are_svg_with_a_period_picker(client: TestClient) -> None:
    r = client.get("/trends?period=last-90-days")
    assert r.status_code == 200
    titles = ["Complaints by " + x for x in ("topic", "brand", "source", "language")]
    titles += ["Time to first response", "Time to resolution", "Satisfaction", "Mentions and complaints per day"]
    for title in titles:
        assert title in r.text, title
    assert r.text.count("<svg") >= 6 and "<img" not in r.text and '<script src="http' not in r.text
    assert "Billing and refunds" in r.text and 'id="period"' in r.text and "Last 90 days" in r.text
    assert (
        "2026-W46" in client.get("/trends?period=2026-W46").text
        or "week 2026-W46" in client.get("/trends?period=2026-W46").text
    )
    bad = client.get("/trends?period=<script>")
    assert bad.status_code == 400 and "<script>" not in bad.text


def test_web_digest_keeps_the_navigation_and_has_a_period_picker(client: TestClient) -> None:
    r = client.get("/digest?period=2026-W47")
    assert r.status_code == 200 and "Top recurring problems" in r.text
    assert 'href="/trends"' in r.text and 'href="/cases"' in r.text and "Sign out" in r.text
    assert 'id="period"' in r.text and "week 2026-W47" in r.text
    assert r.text.count("<html") == 1 and r.text.count("<body") == 1


def test_bulk_selection_groups_cases_into_an_incident_and_the_filter_finds_them(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/cases")
    token = _csrf(page.text)
    r = client.post("/incidents/group", data={"case": ["4", "6", "8"], "title": "App login outage", "csrf": token})
    m = re.search(r"Incident #(\d+) opened with 3 cases\.", r.text)
    assert m, r.text[:3000]
    incident = m.group(1)
    assert total(client, f"status=all&incident={incident}") == 3 and 'id="incident"' in r.text
    assert f"#{incident} App login outage (3)</option>" in r.text
    r = client.post("/incidents/group", data={"case": ["9"], "incident": incident, "csrf": token})
    assert f"1 case added to incident #{incident}." in r.text
    assert total(client, f"status=all&incident={incident}") == 4
    assert f"incident #{incident}</a>" in client.get("/cases/9").text  # the case page names its incident
    r = client.post(f"/incidents/{incident}/action", data={"action": "acknowledge", "csrf": token})
    assert f"Incident #{incident} acknowledged" in r.text
    r = client.post("/incidents/group", data={"title": "nothing selected", "csrf": token})
    assert "Select at least one open case." in r.text
