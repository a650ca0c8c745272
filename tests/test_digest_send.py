"""Sending the demo digest: SMTP (aiosmtpd on 127.0.0.1), the fake Slack with the chart upload, a file."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from slack_sdk import WebClient

from gripewatch.cli import cli
from gripewatch.config import DigestEmailConfig
from gripewatch.dashboards import send
from gripewatch.dashboards.load import make_digest
from gripewatch.db import open_database
from gripewatch.errors import NotifyError
from tests.conftest import write_config
from tests.dashboard_helpers import NOW, demo_data, load_demo


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    with socket.socket() as sock:  # a free port (aiosmtpd cannot be given port 0)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield ctl, inbox
    ctl.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'demo.db'}"
    settings = demo_data(url)
    db = open_database(url)
    load_demo(db, settings)
    digest, chart = make_digest(db, settings, "2026-W47", NOW)
    yield folder, url, digest, chart
    db.dispose()


def _port(ctl: Controller) -> int:
    return int(ctl.port)


def test_email_is_multipart_with_text_html_and_inline_chart(smtp, demo) -> None:  # type: ignore[no-untyped-def]
    ctl, inbox = smtp
    _folder, _url, digest, chart = demo
    cfg = DigestEmailConfig(
        host="127.0.0.1",
        port=_port(ctl),
        sender="digest@acme.example",
        recipients=("boss@acme.example", "cx@acme.example"),
    )
    assert send.send_email(digest, chart, cfg) == ["boss@acme.example", "cx@acme.example"]
    [(sender, rcpts, raw)] = inbox.messages
    assert sender == "digest@acme.example" and rcpts == ["boss@acme.example", "cx@acme.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "gripewatch digest · week 2026-W47 (16 Nov – 22 Nov 2026)"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",))
    assert "TOP RECURRING PROBLEMS" in text and "complaints in" in text
    html = html_part.get_content()
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content() == chart and chart.startswith(b"\x89PNG")
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html and "Top recurring problems" in html


def test_email_failures_are_clear(demo) -> None:  # type: ignore[no-untyped-def]
    _folder, _url, digest, chart = demo
    with pytest.raises(NotifyError, match="SMTP 127.0.0.1:1 failed"):
        send.send_email(digest, chart, DigestEmailConfig(host="127.0.0.1", port=1, recipients=("a@b.c",)))


def test_slack_digest_posts_blocks_and_uploads_the_chart(fake_slack, demo) -> None:  # type: ignore[no-untyped-def]
    _folder, _url, digest, chart = demo
    client = WebClient(token="xoxb-test", base_url=fake_slack.base_url)
    ts = send.send_slack(digest, chart, client, "#social-digest")
    [msg] = fake_slack.posted("#social-digest")
    assert msg["ts"] == ts and msg["blocks"][0]["type"] == "header" and "2026-W47" in msg["text"]
    methods = [m for m, _ in fake_slack.requests]
    assert methods == ["chat.postMessage", "files.getUploadURLExternal", "files.completeUploadExternal"]
    [(file_id, up)] = fake_slack.uploads.items()
    assert up["content"] == chart and up["channel"] == "#social-digest" and up["filename"].endswith(".png")
    complete = dict(fake_slack.requests)["files.completeUploadExternal"]
    assert complete.get("thread_ts") == ts


def test_slack_refusal_is_a_notify_error(fake_slack, demo) -> None:  # type: ignore[no-untyped-def]
    _folder, _url, digest, chart = demo
    fake_slack.fail_next(200, error="channel_not_found")
    with pytest.raises(NotifyError, match="channel_not_found"):
        send.send_slack(digest, chart, WebClient(token="xoxb-test", base_url=fake_slack.base_url), "#nope")


def test_cli_digest_to_file_slack_and_email(tmp_path: Path, demo, fake_slack, smtp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _folder, url, _digest, _chart = demo
    ctl, inbox = smtp
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    cfg = write_config(
        tmp_path,
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "slack": {"mode": "api", "token": "${SLACK_BOT_TOKEN}", "base_url": fake_slack.base_url},
            "digest": {"email": {"host": "127.0.0.1", "port": _port(ctl), "recipients": ["boss@acme.example"]}},
        },
    )
    runner = CliRunner()
    out = tmp_path / "digest.html"
    r = runner.invoke(cli, ["digest", "--config", str(cfg), "--period", "2026-W47", "--output", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "data:image/png;base64," in html and "Top recurring problems" in html
    r = runner.invoke(cli, ["digest", "--config", str(cfg), "--period", "2026-W47", "--to", "slack"])
    assert r.exit_code == 0 and "posted to #social-digest" in r.output, r.output
    assert fake_slack.posted("#social-digest") and fake_slack.uploads
    r = runner.invoke(cli, ["digest", "--config", str(cfg), "--period", "2026-W47", "--to", "email"])
    assert r.exit_code == 0 and "boss@acme.example" in r.output, r.output
    assert len(inbox.messages) == 1
    r = runner.invoke(cli, ["digest", "--config", str(cfg), "--period", "2026-W99"])
    assert r.exit_code == 1 and "no such ISO week" in r.output


def test_scheduled_digest_is_not_posted_twice_when_the_job_is_retried(tmp_path: Path, demo, fake_slack, smtp) -> None:  # type: ignore[no-untyped-def]
    """The job is retried when e-mail fails after the Slack post (or the database drops before the run is
    recorded): the retry finds its own Slack message by metadata and only re-tries what did not go out."""
    from gripewatch.config import load_settings

    _folder, url, _digest, _chart = demo
    ctl, inbox = smtp
    cfg = write_config(
        tmp_path,
        {
            "database": {"url": url},
            "brands": [{"name": "Acme", "keywords": ["acme"], "handles": {"x": "AcmeHelp"}}],
            "slack": {"mode": "api", "token": "xoxb-test", "base_url": fake_slack.base_url},
            "digest": {"email": {"host": "127.0.0.1", "port": 1, "recipients": ["boss@acme.example"]}},
        },
    )
    settings = load_settings(cfg)
    db = open_database(url)
    try:
        with pytest.raises(NotifyError, match="SMTP"):  # Slack went out, e-mail did not: the job fails
            send.send_scheduled_digest(db, settings, NOW)
        assert len(fake_slack.posted("#social-digest")) == 1
        fixed = settings.digest.email.model_copy(update={"port": _port(ctl)})
        settings = settings.model_copy(update={"digest": settings.digest.model_copy(update={"email": fixed})})
        sent = send.send_scheduled_digest(db, settings, NOW)  # the retry
        assert sent == ["slack #social-digest (already posted)", "email"]
        assert len(fake_slack.posted("#social-digest")) == 1 and len(inbox.messages) == 1
        later = send.send_scheduled_digest(db, settings, NOW.replace(year=NOW.year + 1))  # another period
        assert later[0] == "slack #social-digest" and len(fake_slack.posted("#social-digest")) == 2
    finally:
        db.dispose()
