"""Digest figures that must be true for their period and name their base. Pure.

- :func:`breaches`: an SLA breach belongs to the period its due time fell in (and only once that
  time has passed): a quiet week has no breaches, however many old cases are still open. The base
  is the number of cases whose due time fell in the period.
- :func:`satisfaction`: follow-ups sent, the customers' first replies after resolution judged
  satisfied or not, and the reopen rate (cases reopened in the period per case resolved in it).
- :func:`by_name`: staff by their ``staff[].name``, never a Slack id.
- :func:`reach_worthy`: VIP and high-reach lists show complaints only (not what staff corrected
  to "not a complaint").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OPEN = ("new", "acknowledged", "waiting", "escalated")


@dataclass(frozen=True)
class Breaches:
    response_due: int  # cases whose first-response due time fell in the period (and has passed)
    response: int  # … of those answered late or not at all
    resolution_due: int
    resolution: int

    @property
    def response_met(self) -> float | None:
        return 1 - self.response / self.response_due if self.response_due else None


def breaches(
    cases: Iterable[Any], start: datetime, end: datetime, now: datetime, due: Callable[[Any, int], datetime]
) -> Breaches:
    """Breaches of the clocks whose due time fell in [start, end) and before ``now``.

    ``due(case, 0)`` is the first-response due time, ``due(case, 1)`` the resolution one; a case
    closed as not a complaint owes nothing.
    """
    until = min(end, now)
    counts = [0, 0, 0, 0]
    for c in cases:
        if c.status == "not_complaint":
            continue
        for which, done in ((0, c.first_response_at), (1, c.resolved_at)):
            at = due(c, which)
            if start <= at < until:
                counts[2 * which] += 1
                if (done or now) > at:
                    counts[2 * which + 1] += 1
    return Breaches(counts[0], counts[1], counts[2], counts[3])


@dataclass(frozen=True)
class Satisfaction:
    follow_ups: int  # follow-up reminders sent in the period
    replies: int  # customers who wrote after their case was resolved (first time, in the period)
    satisfied: int
    unsatisfied: int
    resolved: int  # cases resolved in the period (the base of the reopen rate)
    reopened: int  # cases reopened in the period

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None


def satisfaction(events: Iterable[Any], resolved: int) -> Satisfaction:
    """From the period's case events (``kind`` and ``detail``) and the number of cases resolved in it."""
    evs = list(events)
    sat = [e for e in evs if e.kind == "satisfaction"]
    yes = sum(1 for e in sat if (getattr(e, "detail", None) or {}).get("satisfied") is True)
    no = sum(1 for e in sat if (getattr(e, "detail", None) or {}).get("satisfied") is False)
    return Satisfaction(
        follow_ups=sum(1 for e in evs if e.kind == "follow_up"),
        replies=len(sat),
        satisfied=yes,
        unsatisfied=no,
        resolved=resolved,
        reopened=len({e.case_id for e in evs if e.kind == "reopened"}),
    )


def by_name(slack_id: str | None, staff: Mapping[str, str]) -> str | None:
    """A staff member's name (``staff[].name``); someone not on the roster keeps their id."""
    if slack_id is None:
        return None
    return staff.get(slack_id, slack_id)


def reach_worthy(complaint: Any) -> bool:
    """Whether a complaint row belongs in the VIP and high-reach lists: staff did not correct it."""
    return not getattr(complaint, "corrected", False)


def usual(expected: float, rate: float, window_hours: int) -> str:
    """A spike's usual volume for people: the median of the same hours of earlier weeks, or -- when that
    median is 0 -- the baseline's average rate ("usually 0.3 an hour"), never "usual 0 (15.0×)"."""
    if expected >= 1:
        return f"usually {expected:.0f} in {window_hours} h"
    if rate <= 0:
        return "usually none at these hours"
    return f"usually {rate:.1f} an hour"


def satisfaction_lines(s: Satisfaction | None) -> list[str]:
    """The satisfaction section for people, each figure with its base."""
    if s is None:
        return []
    judged = s.satisfied + s.unsatisfied
    reopen = f"Reopen rate {s.reopen_rate:.0%}" if s.reopen_rate is not None else "No reopen rate yet"
    return [
        f"{s.follow_ups} follow-up{'' if s.follow_ups == 1 else 's'} sent to check in after a resolution.",
        f"{s.replies} customer{'' if s.replies == 1 else 's'} wrote after their case was resolved: "
        f"{s.satisfied} of {judged} judged satisfied, {s.unsatisfied} not.",
        f"{reopen}: {s.reopened} case{'' if s.reopened == 1 else 's'} reopened, {s.resolved} resolved in the period.",
    ]
