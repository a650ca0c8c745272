"""Charts as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gripewatch.dashboards.digest import Digest  # noqa: E402

INK, MUTED, ACCENT, WARN, GOOD = "#1f2937", "#9ca3af", "#2563eb", "#dc2626", "#059669"


def _style(ax) -> None:  # type: ignore[no-untyped-def]
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color(MUTED)
    ax.spines["bottom"].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def digest_chart(d: Digest) -> bytes:
    """Complaints per day (vs. the period before), sentiment per day, and the top problems."""
    rows = 3 if d.problems else 2
    fig, axes = plt.subplots(rows, 1, figsize=(7.2, 2.5 * rows + 0.4), gridspec_kw={"hspace": 0.65})
    ax = axes[0]
    _style(ax)
    labels = [f"{x.day:%a}\n{x.day:%d %b}" for x in d.days]
    xs = range(len(d.days))
    ax.bar(xs, [x.complaints for x in d.days], color=ACCENT, width=0.6, label="complaints")
    ax.plot(xs, [x.previous_complaints for x in d.days], color=MUTED, marker="o", linewidth=1.5, label="period before")
    ax.set_xticks(list(xs), labels)
    ax.set_title("Complaints per day", loc="left", fontsize=11, color=INK, fontweight="bold")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    for s in d.spikes:
        day = s.start.astimezone(d.period.start.tzinfo).date()
        if day in [x.day for x in d.days]:
            i = [x.day for x in d.days].index(day)
            ax.annotate(
                "spike",
                (i, d.days[i].complaints),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8,
                color=WARN,
                fontweight="bold",
            )
    ax = axes[1]
    _style(ax)
    sent = [x.sentiment if x.sentiment is not None else float("nan") for x in d.days]
    ax.axhline(0, color=MUTED, linewidth=0.8)
    ax.plot(xs, sent, color=INK, marker="o", linewidth=1.8)
    ax.fill_between(xs, sent, 0, where=[v < 0 for v in sent], color=WARN, alpha=0.15, interpolate=True)
    ax.fill_between(xs, sent, 0, where=[v >= 0 for v in sent], color=GOOD, alpha=0.15, interpolate=True)
    ax.set_ylim(-1, 1)
    ax.set_xticks(list(xs), labels)
    ax.set_title("Average sentiment per day (−1 … +1)", loc="left", fontsize=11, color=INK, fontweight="bold")
    if d.problems:
        ax = axes[2]
        _style(ax)
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
        ax.grid(axis="y", visible=False)
        probs = list(reversed(d.problems))
        ys = range(len(probs))
        ax.barh(ys, [p.count for p in probs], color=WARN, height=0.55, label="this period")
        ax.scatter([p.previous for p in probs], ys, color=MUTED, zorder=3, label="period before")
        ax.set_yticks(list(ys), [p.label for p in probs])
        ax.set_title("Top recurring problems (complaints)", loc="left", fontsize=11, color=INK, fontweight="bold")
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _png(fig)


def trend_chart(days: Sequence[date], mentions: Sequence[int], complaints: Sequence[int]) -> bytes:
    """Mentions and complaints per day (the dashboard's trend chart)."""
    fig, ax = plt.subplots(figsize=(8, 2.6))
    _style(ax)
    xs = range(len(days))
    ax.bar(xs, mentions, color="#bfdbfe", width=0.8, label="mentions")
    ax.bar(xs, complaints, color=ACCENT, width=0.8, label="complaints")
    step = max(1, len(days) // 10)
    ax.set_xticks(list(xs)[::step], [f"{d:%d %b}" for d in days][::step])
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    return _png(fig)
