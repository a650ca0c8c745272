"""Console notifier: each alert as a readable card in the terminal (the default).

It shows the same information as the Slack card — priority and why, the post,
the customer (followers, VIP), scores and reasons, topics, owner, SLA due
times, the suggested reply and the buttons a Slack user would have — so
``gripewatch demo`` shows exactly what staff would see.
"""

from __future__ import annotations

import itertools
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from gripewatch.alerts.blocks import BUTTONS, hm, owner_line, sla_line, why
from gripewatch.alerts.notify import Alert, Delivery
from gripewatch.analysis.topics import display_name
from gripewatch.terminal import visible_all

_COLOURS = {"critical": "bold red", "high": "red", "normal": "yellow", "low": "cyan"}


#: cards shown in full per delivery run by ``run-once`` and ``serve`` (``make_notifier``); a big replay's
#: other alerts are counted and summed up in one line (``finish``), so printing never holds delivery up
SUMMARY_AFTER = 50


class ConsoleNotifier:
    """Prints each alert as a card; with ``max_cards``, only that many per run and a summary of the rest."""

    def __init__(self, console: Console | None = None, max_cards: int | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=False)
        self._ids = itertools.count(1)
        self.max_cards = max_cards
        self.shown = 0
        self.unshown: dict[str, int] = {}  # kind -> alerts delivered but not printed since the last summary

    def send(self, alert: Alert) -> Delivery:
        if self.max_cards is None or self.shown < self.max_cards:
            self.console.print(render(alert))
            self.shown += 1
        else:
            self.unshown[alert.kind] = self.unshown.get(alert.kind, 0) + 1
        return Delivery(channel=alert.channel, ts=alert.thread_ts or f"console.{next(self._ids)}")

    def finish(self) -> None:
        """One line for the alerts delivered but not printed in this run; the next run starts afresh."""
        if self.unshown:
            kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(self.unshown.items()))
            total = sum(self.unshown.values())
            self.console.print(
                f"… and {total:,} more alerts, not printed one by one ({kinds}): `gripewatch cases list` shows them"
            )
        self.shown, self.unshown = 0, {}


def _who(p: dict) -> str:  # type: ignore[type-arg]
    author = p.get("author") or {}
    who = f"@{author.get('handle')}" if author.get("handle") else "unknown author"
    if author.get("followers") is not None:
        who += f" ({author['followers']:,} followers)"
    if author.get("vip"):
        who += " ★ VIP"
    return who


def render(alert: Alert) -> Panel | Text:
    p = visible_all(alert.payload)  # customer text never acts on the terminal (ESC, bidi overrides)
    priority = p.get("priority", "normal")
    if alert.kind in ("incident", "incident_update", "incident_note"):
        from gripewatch.alerts.incident_card import headline

        if alert.kind == "incident_note":
            return Text(f"  ↳ incident #{p.get('incident_id')}: {p.get('text', '')}", style="magenta")
        quotes = "".join(f"\n“{q['text'][:200]}” — @{q.get('handle')}" for q in p.get("quotes") or [])
        by_status = ", ".join(f"{k} {v}" for k, v in (p.get("by_status") or {}).items())
        body = Text(f"{p.get('cases', 0)} cases ({by_status}); topics: {', '.join(p.get('topics') or []) or '-'}")
        body.append(quotes, style="italic")
        verb = "INCIDENT" if alert.kind == "incident" else "↻ INCIDENT UPDATED"
        return Panel(body, title=f"{verb} · {headline(p)}", title_align="left", border_style="red")
    if alert.kind == "card_update":
        return Text(
            f"  ↻ case #{alert.case_id} card updated: {p.get('last_change', '')} · status {p.get('status')}"
            f" · {priority} · {_owner(p)}",
            style="dim",
        )
    if alert.kind == "redact":
        return Text(f"  ↻ case #{alert.case_id} message {p.get('ts')} rewritten: {p.get('text', '')}", style="dim")
    if alert.kind in ("note", "escalation", "ephemeral"):
        tag = {"note": "↳", "escalation": "‼ ESCALATION", "ephemeral": "(only you)"}[alert.kind]
        return Text(f"  {tag} case #{alert.case_id}: {p.get('title') or ''} {p.get('text', '')}", style="magenta")
    body = Text()
    body.append(f"“{p.get('text', '')}”\n", style="italic")
    body.append(f"{_who(p)} on {p.get('platform', '?')}", style="bold")
    if p.get("url"):
        body.append(f"  {p['url']}")
    body.append(
        f"\nsentiment {p.get('sentiment') or 0:+.2f} · complaint {p.get('complaint_probability') or 0:.0%}"
        f" · severity {p.get('severity', '?')}"
    )
    for label, key in (("topics", "topics"), ("escalation", "escalation"), ("why", "reasons")):
        if p.get(key):
            shown = [display_name(str(x)) for x in p[key]] if key == "topics" else p[key]
            body.append(f"\n{label}: {', '.join(shown)}")
    if alert.kind == "new_case":
        body.append(f"\npriority {priority} (score {p.get('priority_score', 0):g}: {why(p)})")
        body.append(f"\n{_owner(p)} · {sla_line(p)}")
        body.append("\nsuggested reply: ", style="bold")
        body.append(p.get("suggested_reply", ""))
        if p.get("actions"):
            body.append("\n[" + "] [".join(BUTTONS[a][0] for a in p["actions"] if a in BUTTONS) + "]", style="dim")
        title = f"NEW CASE #{alert.case_id} · {priority.upper()} · {p.get('brand') or 'no brand'} → {alert.channel}"
    elif alert.kind == "case_update":
        owner = f" → {p.get('assignee_name') or p['assignee']}" if p.get("assignee") else ""
        raised = f" · priority raised to {priority}" if p.get("raised_from") else ""
        title = (
            f"↳ case #{alert.case_id} · customer wrote again ({p.get('mention_count', '?')} mentions){owner}{raised}"
        )
    else:
        title = f"OPS · {p.get('title', alert.kind)}"
    if p.get("created_at"):
        body.append(f"\nposted {hm(p['created_at'])}", style="dim")
    return Panel(body, title=Text(title), title_align="left", border_style=_COLOURS.get(priority, "white"))


def _owner(p: dict[str, Any]) -> str:
    """The owner by name in the terminal (Slack's card mentions them by id instead)."""
    if p.get("assignee"):
        return f"Owner: {p.get('assignee_name') or p['assignee']}"
    return owner_line(p)
