"""Charts as server-rendered SVG (no JavaScript, no CDN): horizontal bars and day columns.

Each chart is drawn on a narrow canvas (360 units wide) and scaled to its box by the browser,
so its text stays readable from a 390 px phone to a desktop. Every label is escaped: topic,
brand and source names come from configuration and analysis, and are text, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH = 360
INK, MUTED, LINE, ACCENT, LIGHT = "#111827", "#4b5563", "#e5e7eb", "#1d4ed8", "#93c5fd"


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def hbars(title: str, items: Sequence[tuple[str, float]], empty: str = "Nothing in this period.") -> Markup:
    """One bar per (label, value), labels above their bars (long names never squeeze the bars)."""
    if not items or not any(v for _, v in items):
        return Markup(f'<p class="muted empty-chart">{escape(empty)}</p>')
    top = max(v for _, v in items) or 1
    row, y0 = 34, 6
    height = y0 + row * len(items) + 4
    label = escape(f"{title}: " + ", ".join(f"{name} {_fmt(v)}" for name, v in items))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{label}" '
        'preserveAspectRatio="xMinYMin meet">'
    ]
    for i, (name, v) in enumerate(items):
        y = y0 + i * row
        w = max(2.0, (WIDTH - 60) * v / top) if v else 0
        parts.append(f'<text x="0" y="{y + 11}" font-size="12" fill="{INK}">{escape(name[:48])}</text>')
        parts.append(f'<rect x="0" y="{y + 16}" width="{w:.1f}" height="12" rx="2" fill="{ACCENT}"/>')
        parts.append(f'<text x="{w + 6:.1f}" y="{y + 26}" font-size="12" fill="{MUTED}">{_fmt(v)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def day_columns(
    title: str, days: Sequence[date], total: Sequence[int], part: Sequence[int], width: int = WIDTH
) -> Markup:
    """Mentions (light) and complaints (dark) per day, with a few date labels and the peak value.

    ``width`` is the canvas: the page draws a wide one for desktops and a narrow one for phones."""
    if not days or not any(total):
        return Markup('<p class="muted empty-chart">No mentions in this period.</p>')
    top = max(total) or 1
    left, plot_h, height = 4, 120, 150
    step = (width - left) / len(days)
    bar = max(1.0, step * 0.8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}: '
        f"{sum(total):,} mentions, {sum(part):,} complaints over {len(days)} days, "
        f'at most {top:,} mentions on a day" preserveAspectRatio="xMinYMin meet">',
        f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="{LINE}"/>',
        f'<text x="{width}" y="11" font-size="11" fill="{MUTED}" text-anchor="end">peak {top:,} a day</text>',
    ]
    for i, (n, c) in enumerate(zip(total, part, strict=True)):
        x = left + i * step
        h_all, h_part = plot_h * n / top * 0.85, plot_h * c / top * 0.85
        parts.append(
            f'<rect x="{x:.1f}" y="{plot_h - h_all:.1f}" width="{bar:.1f}" height="{h_all:.1f}" fill="{LIGHT}"/>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{plot_h - h_part:.1f}" width="{bar:.1f}" height="{h_part:.1f}" fill="{ACCENT}"/>'
        )
    labels = min(len(days), 4 if width <= 400 else 8)
    for k in range(labels):
        i = round(k * (len(days) - 1) / max(1, labels - 1))
        x = left + i * step + bar / 2
        anchor = "start" if k == 0 else "end" if k == labels - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{plot_h + 16}" font-size="11" fill="{MUTED}" text-anchor="{anchor}">'
            f"{days[i]:%d %b}</text>"
        )
    parts.append(
        f'<rect x="0" y="{height - 10}" width="10" height="10" fill="{LIGHT}"/>'
        f'<text x="14" y="{height - 1}" font-size="11" fill="{MUTED}">mentions</text>'
        f'<rect x="84" y="{height - 10}" width="10" height="10" fill="{ACCENT}"/>'
        f'<text x="98" y="{height - 1}" font-size="11" fill="{MUTED}">complaints</text></svg>'
    )
    return Markup("".join(parts))
