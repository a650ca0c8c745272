"""Slack notifier: the real ``slack_sdk.WebClient`` posting Block Kit messages.

New cases are posted to the alert's channel; updates of a case go into the
thread of its first message. Every message carries the alert's idempotency
key in its message metadata, so an alert that was in doubt (the process died
mid-send) is looked up in the channel's recent history before it is posted
again.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts.notify import Alert, Delivery
from gripewatch.errors import NotifyError

EVENT_TYPE = "gripewatch_alert"
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
}


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, token: str, base_url: str, timeout: float = 10.0) -> SlackNotifier:
        return cls(WebClient(token=token, base_url=base_url, timeout=int(timeout)))

    def send(self, alert: Alert) -> Delivery:
        try:
            if alert.in_doubt:
                found = self._find(alert)
                if found:
                    return found
            resp = self.client.chat_postMessage(
                channel=alert.channel,
                text=fallback_text(alert),
                blocks=blocks(alert),
                thread_ts=alert.thread_ts,
                unfurl_links=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"key": alert.key}},
            )
        except SlackApiError as e:
            raise _translate(e) from None
        except (SlackClientError, OSError) as e:
            raise NotifyError(f"Slack unreachable: {e.__class__.__name__}", retryable=True) from None
        return Delivery(channel=resp.get("channel") or alert.channel, ts=resp.get("ts"))

    def _find(self, alert: Alert) -> Delivery | None:
        """A message already posted for this alert, if Slack still shows it."""
        args: dict[str, Any] = {"channel": alert.channel, "limit": 200, "include_all_metadata": True}
        if alert.thread_ts:
            resp = self.client.conversations_replies(ts=alert.thread_ts, **args)
        else:
            resp = self.client.conversations_history(**args)
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get("key") == alert.key:
                return Delivery(channel=resp.get("channel") or alert.channel, ts=msg.get("ts"))
        return None


def _translate(e: SlackApiError) -> NotifyError:
    status = e.response.status_code
    error = (e.response.data or {}).get("error", "unknown_error") if isinstance(e.response.data, dict) else "http_error"
    if status == 429:
        retry = float(e.response.headers.get("Retry-After", e.response.headers.get("retry-after", 1)) or 1)
        return NotifyError(f"Slack rate limit (retry after {retry:.0f}s)", retryable=True, retry_after=retry)
    if status >= 500:
        return NotifyError(f"Slack server error {status}", retryable=True)
    return NotifyError(f"Slack refused the message: {error}", retryable=error not in _PERMANENT)


def fallback_text(alert: Alert) -> str:
    p = alert.payload
    handle = (p.get("author") or {}).get("handle") or "someone"
    if alert.kind == "new_case":
        return f"New {p.get('priority', 'normal')} case #{alert.case_id} from @{handle}: {p.get('text', '')[:200]}"
    if alert.kind == "case_update":
        return f"@{handle} wrote again on case #{alert.case_id}: {p.get('text', '')[:200]}"
    return str(p.get("title") or p.get("text") or alert.kind)


def blocks(alert: Alert) -> list[dict[str, Any]]:
    p = alert.payload
    if alert.kind == "ops":
        return [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f":warning: *{p.get('title', 'gripewatch')}*\n{p.get('text', '')}"},
            }
        ]
    author = p.get("author") or {}
    who = f"*@{author.get('handle', '?')}*"
    if author.get("name"):
        who += f" ({_esc(author['name'])})"
    if author.get("followers") is not None:
        who += f" · {author['followers']:,} followers"
    quote = "\n".join("> " + line for line in _esc(p.get("text", "")[:2800]).splitlines() or [""])
    link = f"<{p['url']}|view post>" if p.get("url") else ""
    head = (
        f"*New case #{alert.case_id}* · priority *{p.get('priority', 'normal')}* · {p.get('brand') or ''}"
        if alert.kind == "new_case"
        else f"*Case #{alert.case_id}*: the customer wrote again"
    )
    facts = (
        f"sentiment {p.get('sentiment', 0):+.2f} · complaint {p.get('complaint_probability', 0):.0%}"
        f" · severity {p.get('severity', '?')}"
    )
    extra = [
        f"{label}: {', '.join(p[key])}"
        for label, key in (("Topics", "topics"), ("Escalation", "escalation"), ("Why", "reasons"))
        if p.get(key)
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{quote}\n{who} on {p.get('platform', '?')} {link}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(t)} for t in [facts, *extra]][:10]},
    ]


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
