"""Console notifier: each alert as a readable card in the terminal (the default)."""

from __future__ import annotations

import itertools

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from alerts.notify import Alert, Delivery

_COLOURS = {"critical": "bold red", "high": "red", "normal": "yellow", "low": "cyan"}


class ConsoleNotifier:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=False)
        self._ids = itertools.count(1)

    def send(self, alert: Alert) -> Delivery:
        self.console.print(render(alert))
        return Delivery(channel=alert.channel, ts=f"console.{next(self._ids)}")


def render(alert: Alert) -> Panel:
    p = alert.payload
    author = p.get("author") or {}
    who = f"@{author.get('handle')}" if author.get("handle") else "unknown author"
    if author.get("followers") is not None:
        who += f" ({author['followers']:,} followers)"
    body = Text()
    body.append(f"“{p.get('text', '')}”\n", style="italic")
    body.append(f"{who} on {p.get('platform', '?')}", style="bold")
    if p.get("url"):
        body.append(f"  {p['url']}")
    body.append(
        f"\nsentiment {p.get('sentiment', 0):+.2f} · complaint {p.get('complaint_probability', 0):.0%}"
        f" · severity {p.get('severity', '?')}"
    )
    for label, key in (("topics", "topics"), ("escalation", "escalation"), ("why", "reasons")):
        if p.get(key):
            body.append(f"\n{label}: {', '.join(p[key])}")
    priority = p.get("priority", "normal")
    if alert.kind == "new_case":
        title = f"NEW CASE #{alert.case_id} · {priority.upper()} · {p.get('brand') or 'no brand'} → {alert.channel}"
    elif alert.kind == "case_update":
        title = f"↳ case #{alert.case_id} · customer wrote again ({p.get('mention_count', '?')} mentions)"
    else:
        title = f"OPS · {p.get('title', alert.kind)}"
    return Panel(body, title=title, title_align="left", border_style=_COLOURS.get(priority, "white"))
