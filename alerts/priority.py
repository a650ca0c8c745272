"""Transparent priority: a score made of named parts, each shown on the alert.

``score(facts, weights)`` is pure: it returns every part's points and the
priority they add up to (``critical``/``high``/``normal``/``low`` by the
thresholds in ``cases.priority.thresholds``). A case's priority never drops
while it is open: joining mentions and waiting time can only raise it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gripewatch.config import PriorityWeights

RANK = {"low": 0, "normal": 1, "high": 2, "critical": 3}
LABELS = {
    "severity": "severity",
    "escalation": "escalation triggers",
    "reach": "reach",
    "customer_value": "customer value",
    "repeat_contact": "repeated contact",
    "waiting": "waiting time",
}


@dataclass(frozen=True)
class Facts:
    """What the score is computed from (the case's worst mention and its customer)."""

    severity: str = "low"
    escalation: tuple[str, ...] = ()
    followers: int | None = None
    tier: str | None = None
    lifetime_value: float | None = None
    mentions: int = 1
    waiting_hours: float = 0.0


@dataclass(frozen=True)
class Priority:
    level: str
    score: float
    parts: dict[str, float]  # part -> points, only the parts that scored

    def explain(self) -> str:
        """``"severity +35 · reach +10"`` — the "why" line of the alert."""
        return " · ".join(f"{LABELS.get(k, k)} +{v:g}" for k, v in self.parts.items()) or "no risk factors"


def score(f: Facts, w: PriorityWeights) -> Priority:
    parts = {
        "severity": w.severity.get(f.severity, 0.0),
        "escalation": w.escalation * len(f.escalation),
        "reach": max((pts for n, pts in w.reach if (f.followers or 0) >= n), default=0.0),
        "customer_value": w.tier.get((f.tier or "").lower(), 0.0)
        + min(w.lifetime_value_max, w.lifetime_value_per_1000 * (f.lifetime_value or 0) / 1000),
        "repeat_contact": min(w.repeat_contact_max, w.repeat_contact * max(0, f.mentions - 1)),
        "waiting": waiting_points(f.waiting_hours, w),
    }
    parts = {k: round(v, 1) for k, v in parts.items() if v > 0}
    total = round(sum(parts.values()), 1)
    return Priority(level_for(total, w), total, parts)


def waiting_points(hours: float, w: PriorityWeights) -> float:
    """Points for ``hours`` without a first response (``waiting_per_hour``, capped at ``waiting_max``)."""
    return min(w.waiting_max, w.waiting_per_hour * max(0.0, hours))


def merge(old: Mapping[str, float], new: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """A case's parts only rise while it is open: each keeps its highest value. Returns (parts, total)."""
    parts = dict(old)
    for k, v in new.items():
        parts[k] = max(v, parts.get(k, 0))
    return parts, round(sum(parts.values()), 1)


def level_for(total: float, w: PriorityWeights) -> str:
    for level in ("critical", "high", "normal"):
        if total >= w.thresholds.get(level, float("inf")):
            return level
    return "low"


def higher(a: str, b: str) -> str:
    return a if RANK.get(a, 1) >= RANK.get(b, 1) else b
