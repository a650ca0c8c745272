"""The dashboard case page's Reply form: same guards and posting as the Slack modal."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from gripewatch.dashboards.auth import hash_password
from gripewatch.dashboards.web import create_app
from tests.dashboard_helpers import PASSWORD, SECRET
from tests.fakes.answer import PostingMastodon
from tests.test_reply_post import Clock, ingest, record, settings_for

USERS = [{"username": "ana", "password_hash": hash_password(PASSWORD), "slack_id": "UAGENT1"}]


@pytest.fixture
def mastodon() -> Iterator[PostingMastodon]:
    fake = PostingMastodon().start()
    yield fake  # type: ignore[misc]
    fake.stop()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_reply_form_runs_the_guards_and_posts(tmp_path, db, db_url, mastodon, monkeypatch, enabled):
    monkeypatch.setenv("GW_TEST_MASTODON", "token")
    clock = Clock()
    reply = {"enabled": enabled, "mastodon": {"api_base_url": mastodon.base_url, "access_token": "${GW_TEST_MASTODON}"}}
    settings = settings_for(
        tmp_path, db_url, "mastodon", [record("1001")], reply, dashboard={"secret_key": SECRET, "users": USERS}
    )
    case = ingest(db, settings, clock)
    with TestClient(create_app(settings, db, now=clock), base_url="http://127.0.0.1") as c:
        page = c.get("/login")
        c.post("/login", data={"username": "ana", "password": PASSWORD, "csrf": csrf(page.text), "next": "/cases"})
        detail = c.get(f"/cases/{case.id}")
        assert ('id="reply-link"' in detail.text) is enabled
        form = c.get(f"/cases/{case.id}/reply")
        assert form.status_code == 200
        if not enabled:
            assert "reply.enabled is false" in form.text and "<textarea" not in form.text
            r = c.post(f"/cases/{case.id}/reply", data={"csrf": csrf(form.text), "text": "Hi", "send_anyway": "1"})
            assert r.status_code == 422 and "reply.enabled is false" in r.text
            assert mastodon.created == []
            return
        assert "Hi @dana" in form.text and 'value="private"' in form.text
        token = csrf(form.text)
        r = c.post(f"/cases/{case.id}/reply", data={"csrf": token, "text": "Your order 48213 to 12 Elm St is late"})
        assert r.status_code == 422 and "order number" in r.text and mastodon.created == []
        r = c.post(f"/cases/{case.id}/reply", data={"csrf": token, "text": "Hi, sorry! Checking it now."})
        assert r.status_code == 200 and "being posted on mastodon" in r.text
        assert len(mastodon.created) == 1
        assert "reply posted" in c.get(f"/cases/{case.id}").text
        assert c.post(f"/cases/{case.id}/reply", data={"text": "no csrf"}).status_code == 403
