"""The incident card (Block Kit, pure): one message for a brand's cases that share a problem.

It shows the count and how far they have got, the topics, a few quotes from
different customers, the latest status update, a link to the queue filtered to
the incident, and the buttons Acknowledge all · Resolve all · Schedule
follow-ups (``action_id`` ``gw_incident_<action>``, ``value`` the incident id).
Every customer string goes through :func:`slack_text`, in this one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gripewatch.alerts import mrkdwn

INCIDENT_PREFIX = "gw_incident_"
BUTTONS = {
    "acknowledge": ("Acknowledge all", None),
    "resolve": ("Resolve all", "primary"),
    "follow_up": ("Schedule follow-ups", None),
}


def slack_text(s: object) -> str:
    """Customer text made inert for Slack mrkdwn (the one helper every customer string here goes through)."""
    return mrkdwn.escape(s)


def _md(text: str) -> dict[str, Any]:
    return mrkdwn.section(text)


def _hm(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%a %H:%M UTC") if iso else "-"


def headline(p: dict[str, Any]) -> str:
    n = p.get("cases", 0)
    who = f"{n} customer{'s' if n != 1 else ''}"
    return f"Incident #{p['incident_id']} · {p.get('brand') or ''}: {who} with one problem"


def blocks(p: dict[str, Any]) -> list[dict[str, Any]]:
    by_status = ", ".join(f"{k} {v}" for k, v in (p.get("by_status") or {}).items())
    head = (
        f":rotating_light: *{slack_text(headline(p))}* · status *{p.get('status', 'open')}*\n"
        f"{p.get('cases', 0)} cases ({by_status}) · {p.get('answered', 0)} answered · "
        f"since {_hm(p.get('customer_since'))}"
    )
    out = [_md(head)]
    if p.get("topics"):
        topics = "Topics: " + ", ".join(slack_text(t) for t in p["topics"])
        out.append({"type": "context", "elements": [mrkdwn.element(topics)]})
    quotes = "\n".join(
        f"> {slack_text(q['text'][:280])}\n> — @{slack_text(q.get('handle') or '?')}" for q in p.get("quotes") or []
    )
    if quotes:
        out.append(_md(quotes))
    if p.get("updates"):
        last = p["updates"][-1]
        out.append(_md(f"*Latest update* ({_hm(last.get('at'))}): {slack_text(last.get('text', ''))}"))
    link = mrkdwn.link(p["queue_url"], f"Open the {p.get('cases', 0)} cases in the queue") if p.get("queue_url") else ""
    out.append(
        _md(
            (link + " · " if link else "")
            + "Every member is still a case with its owner, SLA and suggested reply; new members are not posted "
            "one by one unless critical, VIP or escalated."
        )
    )
    acts = [a for a in p.get("actions") or [] if a in BUTTONS]
    if acts:
        out.append(
            {
                "type": "actions",
                "block_id": f"incident_{p['incident_id']}",
                "elements": [_button(a, p["incident_id"]) for a in acts],
            }
        )
    return out


def _button(action: str, incident_id: int) -> dict[str, Any]:
    label, style = BUTTONS[action]
    b: dict[str, Any] = {
        "type": "button",
        "action_id": INCIDENT_PREFIX + action,
        "text": {"type": "plain_text", "text": label},
        "value": str(incident_id),
    }
    if style:
        b["style"] = style
    return b


def note_blocks(p: dict[str, Any]) -> list[dict[str, Any]]:
    return [_md(f"*{slack_text(p.get('title', 'Incident update'))}*\n{slack_text(p.get('text', ''))}")]
