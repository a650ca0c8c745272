"""The checks a reply passes before gripewatch posts it (pure: a :class:`Draft` in, a :class:`Verdict` out).

``check(draft)`` runs both guards:

* the **promise guard** finds time promises ("within the hour", "today", "in 30
  minutes", "by tomorrow", "right away", "asap", …) and resolution promises
  ("we'll fix it", "your refund is on its way"). A time promise sooner than the
  team's measured p90 first-response time for the case's priority — or any time
  promise while too few responses were measured to know — is a *warning* carrying
  the measured figure and a suggested wording; resolution promises are warnings
  too. Warnings are shown to the writer, who may still send: a person decides.
* the **privacy guard** refuses a *public* reply that contains what looks like an
  order number, e-mail address, phone number, postcode, street address, card or
  account number (``reply.privacy_patterns``), or the customer's full name; the
  private path is offered instead. Refusals never repeat the detail they found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from gripewatch.alerts.reply import promise

#: What looks like a customer detail (``reply.privacy_patterns``; case-insensitive, ``(?-i:…)`` where case matters).
DEFAULT_PATTERNS: dict[str, str] = {
    "order_number": r"\b(?:order|booking|ticket|reference|ref|invoice|tracking|parcel)\s*(?:no\.?|number|num|id)?"
    r"\s*[:#]?\s*#?[a-z]{0,3}-?\d{4,}\b|#\d{4,}\b",
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "phone": r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?\(?\d{2,5}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}(?![\w])",
    "postcode": r"(?-i:\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b)",
    "address": r"(?-i:\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:St|Street|Rd|Road|Ave|Avenue|Lane|Ln|Drive|Dr|Close|Way"
    r"|Court|Ct|Place|Pl|Blvd|Boulevard|Crescent|Terrace|Square|Sq)\b)",
    "card_number": r"\b(?:\d[ -]?){12,18}\d\b",
    "account_number": r"\b(?:account|acct|a/c)\s*(?:no\.?|number|num|#)?\s*[:#]?\s*\d{6,}\b"
    r"|(?-i:\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}\b)",
}
_LABELS = {
    "order_number": "an order number",
    "email": "an e-mail address",
    "phone": "a phone number",
    "postcode": "a postcode",
    "address": "a street address",
    "card_number": "a card number",
    "account_number": "an account number",
    "customer_name": "the customer's full name",
}


@dataclass(frozen=True)
class Draft:
    """A reply as written, and what the guards need to know about its case."""

    text: str
    public: bool
    priority: str
    measured_p90: timedelta | None  # first-response p90 of the priority; None: too few measurements
    now: datetime  # the team's local time (for "today", "by tomorrow")
    customer_name: str | None = None  # the display name on the case
    patterns: Mapping[str, str] = field(default_factory=lambda: DEFAULT_PATTERNS)


@dataclass(frozen=True)
class Promise:
    phrase: str  # as written
    kind: str  # "time" | "resolution"
    within: timedelta | None  # how soon a time promise promises


@dataclass(frozen=True)
class Finding:
    guard: str  # "promise" | "privacy"
    kind: str  # "time" | "resolution" | a privacy pattern name
    phrase: str  # what was found (empty for privacy findings: the detail is not repeated)
    message: str
    suggestion: str | None = None  # the whole reply, reworded


@dataclass(frozen=True)
class Verdict:
    warnings: tuple[Finding, ...]  # the writer may send anyway
    refused: tuple[Finding, ...]  # not in public: offer the private path

    @property
    def may_send(self) -> bool:
        return not self.refused

    @property
    def offer_private(self) -> bool:
        return bool(self.refused)


def _end_of_day(now: datetime, days: int = 0) -> timedelta:
    end = datetime.combine(now.date() + timedelta(days=days + 1), time(0), tzinfo=now.tzinfo)
    return end - now


_UNITS = {"min": 60, "minute": 60, "mins": 60, "minutes": 60, "hour": 3600, "hours": 3600, "hrs": 3600, "hr": 3600}
_UNITS |= {"day": 86400, "days": 86400}
_N = r"(\d+|a|an|one|two|three|four|five|six|ten|twelve|fifteen|twenty|thirty|forty-five)"
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
_WORDS |= {"twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45}


def _amount(m: re.Match[str], now: datetime) -> timedelta:
    n = m.group(1).lower()
    count = int(n) if n.isdigit() else _WORDS[n]
    return timedelta(seconds=count * _UNITS[m.group(2).lower()])


_TIME: list[tuple[str, Callable[[re.Match[str], datetime], timedelta]]] = [
    (rf"\b(?:within|in|inside)\s+(?:the\s+next\s+)?{_N}\s+(minutes?|mins|hours?|hrs?|days?)\b", _amount),
    (r"\b(?:within|in)\s+(?:the|an|the\s+next)\s+hour\b", lambda m, now: timedelta(hours=1)),
    (r"\b(?:in|within)\s+half\s+an\s+hour\b", lambda m, now: timedelta(minutes=30)),
    (r"\bin\s+a\s+few\s+minutes\b", lambda m, now: timedelta(minutes=10)),
    (
        r"\b(?:right\s+away|straight\s+away|immediately|right\s+now|at\s+once|asap|as\s+soon\s+as\s+possible)\b",
        lambda m, now: timedelta(0),
    ),  # fmt: skip
    (r"\b(?:shortly|in\s+a\s+moment|in\s+a\s+minute|in\s+no\s+time)\b", lambda m, now: timedelta(minutes=15)),
    (r"\b(?:by\s+)?(?:end\s+of\s+(?:the\s+)?day|eod|close\s+of\s+business|cob)\b", lambda m, now: _end_of_day(now)),
    (r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", lambda m, now: _end_of_day(now)),
    (r"\b(?:by\s+)?tomorrow\b", lambda m, now: _end_of_day(now, 1)),
]
_TIME_RE = [(re.compile(p, re.IGNORECASE), f) for p, f in _TIME]
_RESOLUTION_RE = re.compile(
    r"\b(?:we|i)(?:'ll|’ll|\s+will|\s+are\s+going\s+to|'re\s+going\s+to|\s+am\s+going\s+to)\s+"
    r"(?:get\s+(?:it|this|that)\s+)?(?:fix|sort|solve|resolve|replace|refund|repair|make\s+it\s+right)(?:ed)?"
    r"(?:\s+(?:it|this|that|everything|the\s+\w+|your\s+\w+))?(?:\s+out)?"
    r"|\b(?:your\s+)?(?:refund|replacement|order|parcel|package|money)\s+(?:is|has\s+been|will\s+be)\s+"
    r"(?:on\s+its\s+way|issued|processed|sent|refunded|credited)"
    r"|\bwe\s+guarantee\b|\bi\s+promise\b",
    re.IGNORECASE,
)
_SOFTER = "we're looking into this and will keep you updated"


def find_promises(text: str, now: datetime) -> list[Promise]:
    """Every time and resolution promise in ``text``, in order (overlapping matches: the first wins)."""
    found: list[tuple[int, int, Promise]] = []
    taken: list[tuple[int, int]] = []
    for rx, horizon in _TIME_RE:
        for m in rx.finditer(text):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            taken.append(m.span())
            found.append((m.start(), m.end(), Promise(m.group(0), "time", horizon(m, now))))
    for m in _RESOLUTION_RE.finditer(text):
        found.append((m.start(), m.end(), Promise(m.group(0), "resolution", None)))
    return [p for _, _, p in sorted(found, key=lambda f: f[0])]


def _promise_findings(d: Draft) -> list[Finding]:
    out = []
    honest = promise(d.measured_p90)  # "within 5 hours", or "as soon as we can"
    for p in find_promises(d.text, d.now):
        if p.kind == "resolution":
            msg = (
                f"“{p.phrase}” promises an outcome nobody has checked yet: promise only what the team can keep"
                " (say what you will do, not how it ends)."
            )
            out.append(Finding("promise", "resolution", p.phrase, msg, d.text.replace(p.phrase, _SOFTER, 1)))
            continue
        if d.measured_p90 is None:
            msg = (
                f"“{p.phrase}” promises a time, but the team's first-response time for {d.priority} cases is not"
                " measured yet (too few answered cases): promise no particular time."
            )
        elif p.within is not None and p.within < d.measured_p90:
            msg = (
                f"“{p.phrase}” is sooner than the team manages: {d.priority} cases got a first response within"
                f" {honest.removeprefix('within ')} (p90, measured)."
            )
        else:
            continue
        out.append(Finding("promise", "time", p.phrase, msg, d.text.replace(p.phrase, honest, 1)))
    return out


def _privacy_findings(d: Draft) -> list[Finding]:
    if not d.public:
        return []
    kinds = [k for k, rx in d.patterns.items() if re.search(rx, d.text, re.IGNORECASE)]
    name = (d.customer_name or "").split()
    if len(name) >= 2 and re.search(r"\b" + r"\s+".join(map(re.escape, name)) + r"\b", d.text, re.IGNORECASE):
        kinds.append("customer_name")
    return [
        Finding(
            "privacy",
            k,
            "",
            f"This looks like {_LABELS.get(k, k.replace('_', ' '))}: it cannot go in a public reply."
            " Send it as a private message instead, or take it out.",
        )
        for k in kinds
    ]


def refusal(refused: tuple[Finding, ...]) -> str:
    """One sentence naming every kind of detail found (never the detail itself)."""
    labels = [_LABELS.get(f.kind, f.kind.replace("_", " ")) for f in refused]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return f"This looks like it contains {listed}: customer details cannot go in a public reply."


def check(draft: Draft) -> Verdict:
    """Both guards over one draft."""
    return Verdict(tuple(_promise_findings(draft)), tuple(_privacy_findings(draft)))
