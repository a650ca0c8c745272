"""Digest senders: Slack (Block Kit summary + chart upload), SMTP e-mail, a standalone HTML file.

Each sender takes a built :class:`~dashboards.digest.Digest` and the chart PNG;
failures raise :class:`~gripewatch.errors.NotifyError` (delivery) or
:class:`~gripewatch.errors.ConfigError` (settings) with secrets left out.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from gripewatch.config import DigestEmailConfig, Settings
from gripewatch.dashboards.digest import Digest
from gripewatch.dashboards.render import data_uri, render_html, render_slack_blocks, render_text, slack_fallback_text
from gripewatch.db import Database
from gripewatch.errors import ConfigError, InputError, NotifyError

log = logging.getLogger(__name__)

#: Slack message metadata of a posted digest; its payload's ``key`` names the period.
DIGEST_EVENT = "gripewatch_digest"


def digest_key(d: Digest) -> str:
    """The period a digest covers, as the key a retried job finds its earlier post by."""
    return f"{d.period.start.isoformat()}/{d.period.end.isoformat()}"


def send_slack(d: Digest, chart: bytes, client: WebClient, channel: str) -> str:
    """Post the summary to ``channel``, then upload the chart into its thread; return the message ts."""
    try:
        resp = client.chat_postMessage(
            channel=channel,
            text=slack_fallback_text(d),
            blocks=render_slack_blocks(d),
            unfurl_links=False,
            metadata={"event_type": DIGEST_EVENT, "event_payload": {"key": digest_key(d)}},
        )
        ts = resp.get("ts")
        client.files_upload_v2(
            channel=resp.get("channel") or channel,
            thread_ts=ts,
            content=chart,
            filename=f"digest-{d.period.start:%Y-%m-%d}.png",
            title=f"Complaints, sentiment and top problems · {d.period.label}",
        )
    except SlackApiError as e:
        error = e.response.get("error") if isinstance(e.response.data, dict) else e.response.status_code
        raise NotifyError(f"Slack refused the digest: {error}") from None
    except (SlackClientError, OSError) as e:
        raise NotifyError(f"Slack unreachable: {e.__class__.__name__}") from None
    return str(ts)


def find_posted(d: Digest, client: WebClient, channel: str) -> str | None:
    """The ts of this period's digest if it is already in ``channel`` (its metadata says so), else None.

    A look-up that fails (no ``channels:history``/``groups:history`` scope, Slack down) is logged and
    answers None: a digest posted twice is better than a digest never posted."""
    from gripewatch.alerts.slack import channel_id, message_with_key

    try:
        resp = client.conversations_history(channel=channel_id(client, channel), limit=200, include_all_metadata=True)
    except (SlackApiError, SlackClientError, OSError) as e:
        log.warning("could not check %s for an earlier digest post: %s", channel, e.__class__.__name__)
        return None
    msg = message_with_key(resp.get("messages") or [], DIGEST_EVENT, digest_key(d))
    return str(msg.get("ts")) if msg else None


def build_email(d: Digest, chart: bytes, cfg: DigestEmailConfig) -> EmailMessage:
    """A multipart/alternative message: plain text, and HTML with the chart inline (related part)."""
    if not cfg.recipients:
        raise ConfigError("digest.email.recipients: no recipients configured")
    msg = EmailMessage()
    msg["Subject"] = f"gripewatch digest · {d.period.label}"
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or "gripewatch")
    msg.set_content(render_text(d))
    cid = make_msgid(domain="gripewatch")
    msg.add_alternative(render_html(d, chart_src=f"cid:{cid[1:-1]}"), subtype="html")
    msg.get_payload()[1].add_related(  # type: ignore[index,union-attr]
        chart, maintype="image", subtype="png", cid=cid, filename="digest.png"
    )
    return msg


def send_email(d: Digest, chart: bytes, cfg: DigestEmailConfig) -> list[str]:
    """Send the digest over SMTP (STARTTLS or implicit TLS if configured); return the recipients."""
    msg = build_email(d, chart, cfg)
    if cfg.username and cfg.password is None:
        raise ConfigError("digest.email.password: not set (give it as ${ENV_VAR} in the config)")
    try:
        smtp_cls = smtplib.SMTP_SSL if cfg.ssl else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": ssl.create_default_context()} if cfg.ssl else {}
        with smtp_cls(cfg.host, cfg.port, timeout=cfg.timeout_seconds, **kwargs) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                smtp.login(cfg.username, cfg.password.get_secret_value())  # type: ignore[union-attr]
            refused = smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError:
        raise NotifyError(f"SMTP {cfg.host}:{cfg.port} refused the login of {cfg.username}", retryable=False) from None
    except (smtplib.SMTPException, OSError) as e:
        raise NotifyError(f"SMTP {cfg.host}:{cfg.port} failed: {e.__class__.__name__}: {str(e)[:200]}") from None
    return [r for r in cfg.recipients if r not in refused]


def write_file(d: Digest, chart: bytes, path: Path) -> Path:
    """Write the digest as one standalone HTML file (the chart embedded)."""
    try:
        path.write_text(render_html(d, chart_src=data_uri(chart)), encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror}") from None
    return path


def slack_client(settings: Settings) -> WebClient:
    if settings.slack.token is None:
        raise ConfigError(f"{settings.config_path}: slack.token: needed to post the digest to Slack")
    return WebClient(
        token=settings.slack.token.get_secret_value(),
        base_url=settings.slack.base_url,
        timeout=int(settings.slack.timeout_seconds),
    )


def send_scheduled_digest(db: Database, settings: Settings, now: datetime) -> list[str]:
    """The scheduled weekly digest of last week: to Slack (``channels.digest``; printed in console mode)
    and by e-mail when ``digest.email.recipients`` are set. Returns where it went."""
    from gripewatch.dashboards.load import make_digest

    digest, chart = make_digest(db, settings, "last-week", now)
    sent = []
    if settings.slack.mode == "api":
        client, channel = slack_client(settings), settings.slack.channels.digest
        if find_posted(digest, client, channel):  # a retried run: Slack has it already
            sent.append(f"slack {channel} (already posted)")
        else:
            send_slack(digest, chart, client, channel)
            sent.append(f"slack {channel}")
    else:
        print(render_text(digest), flush=True)
        sent.append("console")
    if settings.digest.email.recipients:
        send_email(digest, chart, settings.digest.email)
        sent.append("email")
    return sent
