"""Slack notifier: the real ``slack_sdk.WebClient``; the outbox's only way to Slack.

New cases are posted to their channel; a card update is a ``chat.update`` of
the case's message; customer follow-ups, reminders and notes are replies in
its thread; escalations are posted to the escalations channel; ephemeral
refusals go to the person who clicked. Every posted message carries the
alert's idempotency key in its message metadata, so an alert whose earlier
attempt may have landed is looked up before it is posted again.

``check_channels`` refuses public channels (customer content stays private)
unless ``slack.allow_public_channels`` is true; it runs when ``slack serve``
starts and before a notifier built by ``from_config`` first posts.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from gripewatch.alerts import blocks, mrkdwn
from gripewatch.alerts.notify import Alert, Delivery
from gripewatch.config import Settings
from gripewatch.errors import ConfigError, NotifyError

EVENT_TYPE = "gripewatch_alert"
_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
#: Refusals of the token: nothing can be delivered until slack.token is fixed (kept, retried later).
_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "missing_scope"}
#: Refusals of one channel: its alerts are given up (kept for an operator); other channels may work.
_CHANNEL = {"channel_not_found", "not_in_channel", "is_archived"}
_PERMANENT = _CHANNEL | {
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "message_not_found",
    "cant_update_message",
}


class SlackNotifier:
    def __init__(self, client: WebClient, settings: Settings | None = None) -> None:
        self.client = client
        self.settings = settings
        self._checked = settings is None

    @classmethod
    def from_settings(cls, token: str, base_url: str, timeout: float = 10.0) -> SlackNotifier:
        return cls(WebClient(token=token, base_url=base_url, timeout=int(timeout)))

    @classmethod
    def from_config(cls, settings: Settings) -> SlackNotifier:
        """A notifier that checks the configured channels are private before its first post."""
        token = settings.slack.token.get_secret_value() if settings.slack.token else ""
        client = WebClient(token=token, base_url=settings.slack.base_url, timeout=int(settings.slack.timeout_seconds))
        return cls(client, settings)

    def send(self, alert: Alert) -> Delivery:
        try:
            if not self._checked and self.settings is not None:
                try:
                    check_channels(self.client, self.settings)
                except ConfigError as e:
                    raise NotifyError(str(e), retryable=True, config=True, halt=True) from None
                self._checked = True
            if alert.kind == "card_update":
                return self._update(alert)
            if alert.kind == "ephemeral":
                self.client.chat_postEphemeral(
                    channel=alert.channel, user=alert.payload["user"], text=mrkdwn.escape(alert.payload.get("text", ""))
                )
                return Delivery(channel=alert.channel)
            if alert.in_doubt:
                found = self._find(alert)
                if found:
                    return found
            resp = self.client.chat_postMessage(
                channel=alert.channel,
                text=blocks.fallback(alert.kind, alert.case_id, alert.payload),
                blocks=blocks.for_kind(alert.kind, alert.payload),
                thread_ts=alert.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                link_names=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": alert.key}},
            )
        except SlackApiError as e:
            raise _translate(e, alert.channel) from None
        except (SlackClientError, OSError) as e:
            raise NotifyError(f"Slack unreachable: {e.__class__.__name__}", retryable=True) from None
        return Delivery(channel=resp.get("channel") or alert.channel, ts=resp.get("ts"))

    def _update(self, alert: Alert) -> Delivery:
        """Rewrite the case's card in place (idempotent: the same content twice is harmless)."""
        if not alert.thread_ts:
            return Delivery(channel=alert.channel)  # the card was never posted: nothing to update
        resp = self.client.chat_update(
            channel=alert.channel,
            ts=alert.thread_ts,
            text=blocks.fallback(alert.kind, alert.case_id, alert.payload),
            blocks=blocks.for_kind(alert.kind, alert.payload),
        )
        return Delivery(channel=resp.get("channel") or alert.channel, ts=resp.get("ts"))

    def _find(self, alert: Alert) -> Delivery | None:
        """A message already posted for this alert, if Slack still shows it."""
        args: dict[str, Any] = {"channel": alert.channel, "limit": 200, "include_all_metadata": True}
        if alert.thread_ts:
            resp = self.client.conversations_replies(ts=alert.thread_ts, **args)
        else:
            resp = self.client.conversations_history(**args)
        msg = message_with_key(resp.get("messages") or [], EVENT_TYPE, alert.key)
        return Delivery(channel=resp.get("channel") or alert.channel, ts=msg.get("ts")) if msg else None


def message_with_key(messages: list[dict[str, Any]], event_type: str, key: str) -> dict[str, Any] | None:
    """The message among ``messages`` whose metadata is ``event_type`` with payload ``key`` (what we posted it
    with), or None -- how a retry finds out that an earlier attempt landed."""
    for msg in messages:
        meta = msg.get("metadata") or {}
        if meta.get("event_type") == event_type and (meta.get("event_payload") or {}).get("key") == key:
            return msg
    return None


def configured_channels(settings: Settings) -> list[str]:
    """Every channel customer content can be posted to."""
    ch = settings.slack.channels
    names = [ch.alerts, ch.escalations, *(r.channel for r in settings.slack.routing)]
    return list(dict.fromkeys(names))


def check_channels(client: WebClient, settings: Settings) -> None:
    """Raise ConfigError naming the first public channel (unless public channels are allowed) or unknown one."""
    where = settings.config_path or "config"
    try:
        ids = _channel_ids(client, [c for c in configured_channels(settings) if not _ID.match(c)])
    except SlackApiError as e:
        err = (e.response.data or {}).get("error", "error") if isinstance(e.response.data, dict) else "error"
        raise ConfigError(
            f"{where}: slack.token: Slack refused it for conversations.list: {err} "
            "(check the token and the app's scopes channels:read, groups:read)"
        ) from None
    for name in configured_channels(settings):
        cid = name if _ID.match(name) else ids.get(name.lstrip("#"))
        if cid is None:
            raise ConfigError(f"{where}: slack channel {name}: not found or the bot cannot see it (invite the bot)")
        try:
            info = client.conversations_info(channel=cid).get("channel") or {}
        except SlackApiError as e:
            err = (e.response.data or {}).get("error", "error") if isinstance(e.response.data, dict) else "error"
            raise ConfigError(f"{where}: slack channel {name}: conversations.info failed: {err}") from None
        public = not info.get("is_private", False) and not info.get("is_im", False) and not info.get("is_mpim", False)
        if public and not settings.slack.allow_public_channels:
            raise ConfigError(
                f"{where}: slack channel {name} is public; customer content is posted only to private channels "
                "(make it private, or set slack.allow_public_channels: true)"
            )


def channel_id(client: WebClient, channel: str) -> str:
    """The ID of ``channel`` (a name such as ``#social-digest`` or already an ID), as conversations.history
    wants it; the name itself when the bot cannot see such a channel."""
    if _ID.match(channel):
        return channel
    return _channel_ids(client, [channel]).get(channel.lstrip("#"), channel)


def _channel_ids(client: WebClient, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    wanted = {n.lstrip("#") for n in names}
    found: dict[str, str] = {}
    cursor = None
    while True:
        resp = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
        )
        for c in resp.get("channels") or []:
            if c.get("name") in wanted:
                found[c["name"]] = c["id"]
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor or wanted <= found.keys():
            return found


def _translate(e: SlackApiError, channel: str = "") -> NotifyError:
    status = e.response.status_code
    error = (e.response.data or {}).get("error", "unknown_error") if isinstance(e.response.data, dict) else "http_error"
    if status == 429:
        retry = float(e.response.headers.get("Retry-After", e.response.headers.get("retry-after", 1)) or 1)
        return NotifyError(f"Slack rate limit (retry after {retry:.0f}s)", retryable=True, retry_after=retry)
    if status >= 500:
        return NotifyError(f"Slack server error {status}", retryable=True)
    if error in _TOKEN:
        return NotifyError(
            f"Slack refused the token: {error} (check slack.token and the app's scopes)", config=True, halt=True
        )
    if error in _CHANNEL:
        return NotifyError(
            f"Slack refused the message to {channel or 'the channel'}: {error} "
            "(invite the bot to the channel, or fix slack.channels)",
            retryable=False,
            config=True,
        )
    return NotifyError(f"Slack refused the message: {error}", retryable=error not in _PERMANENT)


def fallback_text(alert: Alert) -> str:
    return blocks.fallback(alert.kind, alert.case_id, alert.payload)
