"""Block Kit for every alert kind (pure: payload in, blocks out).

The case card shows priority and why, the post quoted with a link, the author
with followers and a VIP badge, sentiment/complaint score with the reasons,
topics, SLA due times, owner, who did what and when, the suggested reply, and
the buttons Acknowledge · Assign to me · Replied · Resolve · Escalate · Not a
complaint (``action_id`` ``gw_<action>``, ``value`` the case id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gripewatch.alerts import mrkdwn

BUTTONS = {
    "acknowledge": ("Acknowledge", None),
    "assign_me": ("Assign to me", None),
    "replied": ("Replied", None),
    "resolve": ("Resolve", "primary"),
    "escalate": ("Escalate", "danger"),
    "not_complaint": ("Not a complaint", None),
}
ACTION_PREFIX = "gw_"
_ICON = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_yellow_circle:",
    "low": ":white_circle:",
}
_LABEL = {
    "severity": "severity",
    "escalation": "escalation",
    "reach": "reach",
    "customer_value": "customer value",
    "repeat_contact": "repeated contact",
    "waiting": "waiting",
}


def esc(s: object) -> str:
    """Customer or third-party text as inert mrkdwn (see :mod:`alerts.mrkdwn`)."""
    return mrkdwn.escape(s)


def _md(text: str) -> dict[str, Any]:
    return mrkdwn.section(text)


def hm(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%a %H:%M UTC") if iso else "-"


def why(p: dict[str, Any]) -> str:
    parts = p.get("priority_parts") or {}
    return " + ".join(f"{_LABEL.get(k, k)} {v:g}" for k, v in parts.items()) or "no risk factors"


def author_line(p: dict[str, Any]) -> str:
    """The customer: their handle in a code span (shown exactly, underscores and all), name, followers, VIP."""
    a = p.get("author") or {}
    who = f"`@{mrkdwn.code(a.get('handle') or '?', inline=True)}`"
    if a.get("name"):
        who += f" ({esc(a['name'])})"
    if isinstance(a.get("followers"), int):
        who += f" · {a['followers']:,} followers"
    if a.get("vip"):
        who += f" · :star: VIP{' (' + esc(a['tier']) + ')' if a.get('tier') else ''}"
    return who


def quote(text: str | None) -> str:
    """The customer's post as a block quote, escaped line by line."""
    return "\n".join("> " + line for line in esc((text or "")[:2500]).splitlines() or [""])


def post_link(url: str | None) -> str:
    """`` · view post`` linking an http(s) post URL; any other URL is shown as text, never as a link."""
    if not url:
        return ""
    out = mrkdwn.link(url, "view post")
    return f" · {out}" if out.startswith("<") else f" · post (not a web link): {out}"


def owner_line(p: dict[str, Any]) -> str:
    if p.get("assignee"):
        return f"Owner: {mrkdwn.user(p['assignee'])}"
    return esc(p.get("queue_note") or "Owner: nobody yet")


def sla_line(p: dict[str, Any]) -> str:
    out = []
    for clock, v in (p.get("sla") or {}).items():
        mark = " :rotating_light: breached" if v.get("breached") else ""
        out.append(f"{clock.replace('_', ' ')} due {hm(v.get('due_at'))}{mark}")
    return "SLA: " + (" · ".join(out) if out else "met")


def card(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The case card (posted once, then updated in place)."""
    status = esc(p.get("status", "new"))
    priority = esc(p.get("priority", "normal"))
    head = (
        f"{_ICON.get(p.get('priority', ''), '')} *Case #{p['case_id']}* · *{priority}* priority"
        f" (score {p.get('priority_score', 0):g}: {esc(why(p))}) · {esc(p.get('brand') or '')} · status *{status}*"
    )
    scores = (
        f"sentiment {p.get('sentiment') or 0:+.2f} · complaint {p.get('complaint_probability') or 0:.0%}"
        f" · severity {p.get('severity', '?')}"
        + (f" · {p['mention_count']} mentions" if (p.get("mention_count") or 1) > 1 else "")
    )
    facts = [scores]
    for label, key in (("Why", "reasons"), ("Topics", "topics"), ("Escalation", "escalation")):
        if p.get(key):
            facts.append(f"{label}: {', '.join(str(x).replace('_', ' ') for x in p[key])}")
    history = " · ".join(
        f"{hm(h['at'])} {esc(h['text'])}" + (f" by {mrkdwn.user(h['actor'])}" if h["actor"][:1] in "UW" else "")
        for h in (p.get("history") or [])[-5:]
    )
    blocks = [
        _md(head),
        _md(f"{quote(p.get('text'))}\n{author_line(p)} on {esc(p.get('platform') or '?')}{post_link(p.get('url'))}"),
        {"type": "context", "elements": [mrkdwn.element(esc(t)) for t in facts]},
        _md(f"{owner_line(p)} · {sla_line(p)}"),
        _md(
            "*Suggested reply* (edit it, then answer yourself — nothing is posted for you):\n"
            f"```{mrkdwn.code(p.get('suggested_reply', ''))}```"
        ),
    ]
    if history:
        blocks.append({"type": "context", "elements": [mrkdwn.element(history)]})
    actions = [a for a in p.get("actions", []) if a in BUTTONS]
    if actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"case_{p['case_id']}",
                "elements": [_button(a, p["case_id"]) for a in actions],
            }
        )
    return blocks


def _button(action: str, case_id: int) -> dict[str, Any]:
    label, style = BUTTONS[action]
    b: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_PREFIX + action,
        "text": {"type": "plain_text", "text": label},
        "value": str(case_id),
    }
    if style:
        b["style"] = style
    return b


def mention_update(p: dict[str, Any]) -> list[dict[str, Any]]:
    """A customer's new mention, in the case's thread, addressed to the owner."""
    owner = f"{mrkdwn.user(p['assignee'])} " if p.get("assignee") else ""
    raised = f" Priority raised {esc(p['raised_from'])} → *{esc(p['priority'])}*." if p.get("raised_from") else ""
    return [
        _md(
            f"{owner}the customer wrote again on case #{p['case_id']}.{raised}\n{quote(p.get('text'))}\n"
            f"{author_line(p)}{post_link(p.get('url'))}"
        )
    ]


def text_note(p: dict[str, Any]) -> list[dict[str, Any]]:
    """A thread note or an escalation post: text gripewatch wrote, its user mentions kept."""
    title = f"*{esc(p['title'])}*\n" if p.get("title") else ""
    return [_md(f"{title}{mrkdwn.ours(p.get('text', ''))}")]


def ops(p: dict[str, Any]) -> list[dict[str, Any]]:
    """An operations alert (failing or silent source, possible outage); its dashboard links, if any."""
    links = ", ".join(mrkdwn.link(url, label) for label, url in p.get("case_links") or [])
    more = f"\nOn the dashboard: {links}" if links else ""
    return [_md(f":warning: *{esc(p.get('title', 'gripewatch'))}*\n{esc(p.get('text', ''))}{more}")]


def fallback(kind: str, case_id: int | None, p: dict[str, Any]) -> str:
    """The message's ``text`` (notifications, clients without blocks): escaped like the blocks."""
    handle = esc((p.get("author") or {}).get("handle") or "someone")
    if kind in ("new_case", "card_update"):
        head = f"{esc(p.get('priority', 'normal'))} case #{case_id} ({esc(p.get('status'))})"
        return f"{head} from @{handle}: {esc((p.get('text') or '')[:200])}"
    if kind == "case_update":
        return f"@{handle} wrote again on case #{case_id}: {esc((p.get('text') or '')[:200])}"
    if kind in ("note", "escalation"):
        return esc(p["title"]) if p.get("title") else mrkdwn.ours(p.get("text") or kind)
    return esc(p.get("title") or p.get("text") or kind)


def for_kind(kind: str, p: dict[str, Any]) -> list[dict[str, Any]]:
    if kind in ("new_case", "card_update"):
        return card(p)
    if kind == "case_update":
        return mention_update(p)
    if kind == "ops":
        return ops(p)
    return text_note(p)
