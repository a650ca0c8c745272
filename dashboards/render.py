"""Renderers of a :class:`~dashboards.digest.Digest`: HTML (e-mail and file), Slack Block Kit, plain text."""

from __future__ import annotations

import base64
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from gripewatch.alerts import mrkdwn
from gripewatch.dashboards.digest import Digest
from gripewatch.dashboards.figures import satisfaction_lines
from gripewatch.dashboards.spikes import ALL

_env = Environment(loader=PackageLoader("gripewatch.dashboards", "templates"), autoescape=select_autoescape(["html"]))


def fmt_minutes(m: float | None) -> str:
    if m is None:
        return "–"
    return f"{m:.0f} min" if m < 120 else f"{m / 60:.1f} h"


def fmt_hours(h: float | None) -> str:
    if h is None:
        return "–"
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} d"


def change(now: float, before: float) -> str:
    if not before:
        return "new" if now else "±0"
    return f"{(now - before) / before:+.0%}"


def spike_label(s: Any) -> str:
    from gripewatch.analysis.topics import display_name

    return "all complaints" if s.topic == ALL else display_name(s.topic)


def http_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL that is safe in an href, else None (shown as text).

    The one test of what becomes a link, in the dashboard and in the digest alike."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    from urllib.parse import urlsplit

    if any(ord(ch) < 0x21 or ch in '"<>`\\' for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


_env.filters.update(minutes=fmt_minutes, hours=fmt_hours, http_url=http_url)
_env.globals.update(change=change, spike_label=spike_label, satisfaction_lines=satisfaction_lines)


def render_html(d: Digest, chart_src: str | None = None, embedded: bool = False) -> str:
    """The digest as one HTML page (inline styles, so it survives e-mail clients).

    ``chart_src`` is the chart's URL: ``cid:...`` in e-mail, a data URI in a file. ``embedded``
    leaves out the document's head and body, for the dashboard's page (which keeps its navigation).
    """
    return _env.get_template("digest.html").render(d=d, chart_src=chart_src, embedded=embedded)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def render_text(d: Digest) -> str:
    """The digest as plain text (the e-mail's text part)."""
    return _env.get_template("digest.txt").render(d=d)


def _mrkdwn(s: object) -> str:
    return mrkdwn.escape(s)


def render_slack_blocks(d: Digest) -> list[dict[str, Any]]:
    """The digest summary as Slack Block Kit blocks (at most 50, each text under 3000 chars)."""
    t = d.total
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Weekly digest · {d.period.label}"[:150]}},
        _section("\n".join(f"• {_mrkdwn(h)}" for h in d.highlights)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Mentions*\n{t.mentions:,} ({change(t.mentions, t.previous_mentions)})"},
                {
                    "type": "mrkdwn",
                    "text": f"*Complaints*\n{t.complaints:,} ({change(t.complaints, t.previous_complaints)}) · "
                    f"{t.rate:.0%} rate",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*First response*\nmedian {fmt_minutes(d.sla.first_response_median_min)} · "
                    f"p90 {fmt_minutes(d.sla.first_response_p90_min)}",
                },
                {
                    "type": "mrkdwn",
                    "text": f"*Backlog*\n{d.backlog_open} open · {d.backlog_unassigned} unassigned",
                },
            ],
        },
    ]
    if d.problems:
        lines = []
        for p in d.problems:
            q = f"\n> _{_mrkdwn(p.quotes[0].text[:200])}_ — {_mrkdwn(p.quotes[0].author)}" if p.quotes else ""
            lines.append(f"*{_mrkdwn(p.label)}* · {p.count} ({change(p.count, p.previous)}){q}")
        blocks += [{"type": "divider"}, _section("*Top recurring problems*\n" + "\n".join(lines))]
    if d.spikes:
        lines = [
            f"• {_mrkdwn(s.brand)} {_mrkdwn(spike_label(s))}: {s.count} in "
            f"{s.start:%a %H:%M}–{s.end:%H:%M} UTC "
            f"({s.compared})"
            for s in d.spikes[:10]
        ]
        blocks.append(_section("*Spikes*\n" + "\n".join(lines)))
    if d.high_reach:
        lines = [
            f"• {_mrkdwn(q.author)}: {_mrkdwn(q.text[:160])}" + (f" (case #{q.case_id})" if q.case_id else "")
            for q in d.high_reach
        ]
        blocks.append(_section(f"*VIP and high-reach complaints* ({d.high_reach_count})\n" + "\n".join(lines)))
    if d.satisfaction is not None:
        lines = [f"• {_mrkdwn(x)}" for x in satisfaction_lines(d.satisfaction)]
        blocks.append(_section("*Satisfaction*\n" + "\n".join(lines)))
    if d.agents:
        lines = [f"• {_mrkdwn(a.name)}: {a.open} open, {a.resolved} resolved" for a in d.agents[:10]]
        blocks.append(_section("*Team*\n" + "\n".join(lines)))
    ctx = f"Generated {d.generated_at:%Y-%m-%d %H:%M} UTC by gripewatch"
    if d.dashboard_url:
        ctx += f" · {mrkdwn.link(d.dashboard_url, 'open the dashboard')}"
    blocks.append({"type": "context", "elements": [mrkdwn.element(ctx)]})
    return blocks[:50]


def _section(text: str) -> dict[str, Any]:
    return mrkdwn.section(text)


def slack_fallback_text(d: Digest) -> str:
    return f"Weekly digest {_mrkdwn(d.period.label)}: " + _mrkdwn(" ".join(d.highlights)[:2500])
