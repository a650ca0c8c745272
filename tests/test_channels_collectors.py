"""What is particular to the Facebook, Instagram, App Store, Google Play and YouTube collectors
(the shared behaviour is in tests/test_contract.py), each against its loopback fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gripewatch.cli import cli
from gripewatch.collectors import REGISTRY
from gripewatch.collectors.base import Mention
from gripewatch.config import settings_from_dict
from gripewatch.errors import RateLimited
from tests.conftest import write_config
from tests.fakes.appstore import APP_ID, FakeAppStore
from tests.fakes.facebook import PAGE_ID, FakeFacebook
from tests.fakes.googleplay import PACKAGE, FakeGooglePlay
from tests.fakes.instagram import IG_USER_ID, FakeInstagram
from tests.fakes.platform import FakePlatform
from tests.fakes.youtube import API_KEY, CHANNEL_ID, FakeYouTube

BRAND = {"name": "Acme", "keywords": ["acme"], "handles": {}}


def build(entry: dict[str, Any], tmp_path: Path) -> Any:
    settings = settings_from_dict({"brands": [BRAND], "sources": [{"name": "src", **entry}]}, tmp_path / "config.yaml")
    collector = REGISTRY[entry["type"]](settings.sources[0], settings.brands)
    collector.sleeps = []
    collector.edge.sleep = collector.sleeps.append
    return collector


def run(collector: Any, cursor: dict[str, Any]) -> tuple[list[Mention], dict[str, Any]]:
    out: list[Mention] = []
    for page in collector.collect(cursor):
        out += page.mentions
        cursor = page.cursor
    return out, cursor


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakePlatform]:
    f = request.param().start()
    yield f
    f.stop()


def facebook(f: FakePlatform, **kw: Any) -> dict[str, Any]:
    return {"type": "facebook", "page_id": PAGE_ID, "access_token": "test-page-token", "base_url": f.base_url, **kw}


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_a_comment_the_page_hid_is_passed_on_as_deleted(fake: FakeFacebook, tmp_path: Path) -> None:
    post = fake.add("acme winter sale", author="Acme")
    spam = fake.add("acme is a scam, click my link", extra={"on": post.n})
    fake.add("acme my order is late", extra={"on": post.n})
    c = build(facebook(fake), tmp_path)
    first, cursor = run(c, {})
    assert [m.text for m in first] == [
        "acme is a scam, click my link",
        "acme my order is late",
    ]  # the Page's post is not
    fake.hide(spam)
    again, _ = run(c, cursor)
    assert [(m.external_id, m.deleted) for m in again] == [(fake.pid(spam), True)]


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_graph_usage_near_the_limit_stops_the_run_cleanly_until_access_returns(
    fake: FakeFacebook, tmp_path: Path
) -> None:
    for i in range(3):
        fake.add(f"acme refund {i} missing")
    buc = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 95,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 20,
            }
        ]
    }
    fake.usage = {"x-business-use-case-usage": json.dumps(buc), "x-app-usage": '{"call_count":40}'}
    c = build(facebook(fake), tmp_path)
    with pytest.raises(RateLimited) as e:
        run(c, {})
    assert e.value.reset_at is not None and e.value.reset_at > datetime.now(UTC) + timedelta(minutes=15)
    assert c.sleeps == [] and len(fake.requests) == 1  # stopped before the next call, not throttled by Meta
    fake.usage = {}
    mentions, _ = run(build(facebook(fake), tmp_path), {})
    assert len(mentions) == 3


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_an_app_level_throttle_without_usage_header_waits_a_quarter_of_an_hour(
    fake: FakeFacebook, tmp_path: Path
) -> None:
    fake.add("acme down")
    fake.fail_next(400, body={"error": {"message": "(#4) Application request limit reached", "code": 4}})
    with pytest.raises(RateLimited) as e:
        run(build(facebook(fake), tmp_path), {})
    assert e.value.reset_at is not None and e.value.reset_at > datetime.now(UTC) + timedelta(minutes=14)


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_an_invalid_token_is_a_source_error_at_once(fake: FakeFacebook, tmp_path: Path) -> None:
    from gripewatch.errors import SourceError

    c = build({**facebook(fake), "access_token": "wrong"}, tmp_path)
    with pytest.raises(SourceError, match="code 190"):
        run(c, {})
    assert c.sleeps == []


@pytest.mark.parametrize("fake", [FakeInstagram], indirect=True)
def test_instagram_collects_the_posts_that_tag_the_account(fake: FakeInstagram, tmp_path: Path) -> None:
    fake.add("my acme toaster died after a week @acme", author="tom", extra={"tag": True})
    fake.add("acme kettle looks great", author="maya")
    entry = {
        "type": "instagram",
        "ig_user_id": IG_USER_ID,
        "access_token": "test-page-token",
        "base_url": fake.base_url,
    }
    mentions, cursor = run(build(entry, tmp_path), {})
    assert sorted(m.text for m in mentions) == ["acme kettle looks great", "my acme toaster died after a week @acme"]
    assert run(build(entry, tmp_path), cursor)[0] == []
    off, _ = run(build({**entry, "mentions": False}, tmp_path), {})
    assert [m.text for m in off] == ["acme kettle looks great"]


@pytest.mark.parametrize("fake", [FakeYouTube], indirect=True)
def test_youtube_quota_exhaustion_stops_until_midnight_pacific(fake: FakeYouTube, tmp_path: Path) -> None:
    fake.add("acme kettle leaks")
    fake.quota_exhausted()
    entry = {
        "type": "youtube",
        "channel_id": CHANNEL_ID,
        "api_key": API_KEY,
        "base_url": fake.base_url + "/youtube/v3/",
    }
    c = build(entry, tmp_path)
    with pytest.raises(RateLimited) as e:
        run(c, {})
    reset = e.value.reset_at.astimezone(ZoneInfo("America/Los_Angeles"))  # type: ignore[union-attr]
    assert (reset.hour, reset.minute) == (0, 0) and reset > datetime.now(UTC)
    assert c.sleeps == []


def test_youtube_budget_is_the_daily_quota_spread_over_the_day(tmp_path: Path) -> None:
    entry = {"type": "youtube", "channel_id": CHANNEL_ID, "api_key": API_KEY}
    assert build(entry, tmp_path).edge.budget.limit == 104  # 10,000 units / 96 quarter-hours
    assert build({**entry, "quota_units_per_day": 960}, tmp_path).edge.budget.limit == 10
    assert build({**entry, "requests_per_15min": 7}, tmp_path).edge.budget.limit == 7


@pytest.mark.parametrize("fake", [FakeGooglePlay], indirect=True)
def test_google_play_signs_in_with_a_service_account_key(fake: FakeGooglePlay, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.public_key = key.public_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "play.json").write_text(
        json.dumps(
            {
                "type": "service_account",
                "client_email": "gripewatch@acme-play.iam.gserviceaccount.com",
                "private_key": pem.decode(),
                "token_uri": fake.base_url + "/token",
            }
        )
    )
    fake.add("app crashes when I open the camera", extra={"rating": 1})
    entry = {
        "type": "googleplay",
        "package_name": PACKAGE,
        "service_account_file": "play.json",
        "base_url": fake.base_url,
    }
    mentions, _ = run(build(entry, tmp_path), {})
    assert [(m.text, m.rating, m.raw["comments"][0]["userComment"]["appVersionName"]) for m in mentions] == [
        ("app crashes when I open the camera", 1, "4.2.1")
    ]
    assert [r[1] for r in fake.requests] == ["/token", f"/androidpublisher/v3/applications/{PACKAGE}/reviews"]


def test_google_play_needs_a_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAY_ACCESS_TOKEN", raising=False)
    src = {"name": "play", "type": "googleplay", "package_name": PACKAGE}
    out = CliRunner().invoke(cli, ["config", "check", "--config", str(write_config(tmp_path, {"sources": [src]}))])
    assert out.exit_code == 2 and "service_account_file" in out.output
    src["access_token"] = "${PLAY_ACCESS_TOKEN}"
    out = CliRunner().invoke(cli, ["config", "check", "--config", str(write_config(tmp_path, {"sources": [src]}))])
    assert out.exit_code == 2 and "sources[0].access_token" in out.output and "PLAY_ACCESS_TOKEN" in out.output


@pytest.mark.parametrize("fake", [FakeAppStore], indirect=True)
def test_app_store_keeps_a_watermark_per_country(fake: FakeAppStore, tmp_path: Path) -> None:
    fake.add("crashes on start", extra={"country": "us", "rating": 1})
    fake.add("stürzt ständig ab", extra={"country": "de", "rating": 1})
    entry = {"type": "appstore", "app_id": APP_ID, "countries": ["us", "de"], "base_url": fake.base_url}
    mentions, cursor = run(build(entry, tmp_path), {})
    assert sorted((m.url or "").split("/")[3] for m in mentions) == ["de", "us"]
    assert all(m.rating == 1 and "Review" in m.text for m in mentions)
    fake.add("still crashing", extra={"country": "de", "rating": 2})
    again, _ = run(build(entry, tmp_path), cursor)
    assert [(m.text, m.rating) for m in again] == [("Review\nstill crashing", 2)]


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "facebook", "page_id": PAGE_ID, "access_token": "${META_PAGE_TOKEN}"},
        {"type": "instagram", "ig_user_id": IG_USER_ID, "access_token": "${META_PAGE_TOKEN}"},
        {"type": "youtube", "channel_id": CHANNEL_ID, "api_key": "${YOUTUBE_API_KEY}"},
    ],
)
def test_a_missing_secret_names_the_key(entry: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("META_PAGE_TOKEN", raising=False)
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    cfg = write_config(tmp_path, {"sources": [{"name": "s", **entry}]})
    out = CliRunner().invoke(cli, ["config", "check", "--config", str(cfg)])
    key = "api_key" if entry["type"] == "youtube" else "access_token"
    assert out.exit_code == 2 and f"sources[0].{key}" in out.output


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_an_edited_comment_and_a_reply_in_its_thread(fake: FakeFacebook, tmp_path: Path) -> None:
    post = fake.add("acme winter sale", author="Acme")
    comment = fake.add("acme kettle lid broke", extra={"on": post.n})
    c = build(facebook(fake), tmp_path)
    _, cursor = run(c, {})
    fake.edit(comment, "acme kettle lid broke and the handle too")
    answer = fake.reply_as_brand(comment, "So sorry! DM us and we'll replace it")
    again, _ = run(c, cursor)
    edited = [(m.external_id, m.text) for m in again if m.edited]
    assert edited == [(fake.pid(comment), "acme kettle lid broke and the handle too")]
    reply = next(m for m in again if m.is_own)
    assert (reply.external_id, reply.in_reply_to, reply.conversation_id) == (
        fake.pid(answer),
        fake.pid(comment),
        fake.pid(post),
    )


@pytest.mark.parametrize("fake", [FakeFacebook], indirect=True)
def test_a_malformed_post_is_quarantined_once_not_on_every_run(fake: FakeFacebook, tmp_path: Path) -> None:
    fake.add("acme broken", malformed=True)
    c = build(facebook(fake), tmp_path)
    rejected, cursor = [], {}
    for _ in range(2):
        for page in c.collect(cursor):
            rejected += page.skipped
            cursor = page.cursor
    assert [r.external_id for r in rejected] == [fake.pid(fake.posts[0])]


@pytest.mark.parametrize(
    ("fake", "entry"),
    [
        (FakeFacebook, lambda f: facebook(f)),
        (FakeInstagram, lambda f: {"type": "instagram", "ig_user_id": IG_USER_ID, "access_token": f.token}),
        (FakeYouTube, lambda f: {"type": "youtube", "channel_id": CHANNEL_ID, "api_key": API_KEY}),
        (FakeAppStore, lambda f: {"type": "appstore", "app_id": APP_ID}),
        (
            FakeGooglePlay,
            lambda f: {"type": "googleplay", "package_name": PACKAGE, "access_token": "ya29.test-play-token"},
        ),
    ],
    indirect=["fake"],
)
def test_normalise_reads_a_kept_raw_item_alone(fake: FakePlatform, entry: Any, tmp_path: Path) -> None:
    """What ``gripewatch rejected retry`` needs: one raw item, as kept, back into the same mention."""
    fake.add("acme lost my parcel", author="cust")
    cfg = entry(fake)
    cfg["base_url"] = fake.base_url + ("/youtube/v3/" if cfg["type"] == "youtube" else "")
    c = build(cfg, tmp_path)
    (m,) = run(c, {})[0]
    again = c.normalise(m.raw)
    assert (again.external_id, again.text, again.created_at, again.rating) == (
        m.external_id,
        m.text,
        m.created_at,
        m.rating,
    )
