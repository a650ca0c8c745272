"""Escalation triggers and severity: configurable regex lists, word-bounded.

Each trigger is a list of regular expressions written in lower case and
matched against the lower-cased text (a text triggers when any matches; one
lower-casing per text is much cheaper than ``re.IGNORECASE``). Regulator
names are plain names, matched as whole words, case-sensitively when written
in capitals (``FTC``, ``BBB``) so that ordinary words never match.
Defaults are chosen to miss near misses such as
"I could sue for how good this is", "cancel culture", "this burger is fire",
"dying to try it" or "killer deal" (see tests/test_analysis_rules.py).

:func:`escalations` returns ``(trigger, reason)`` pairs; :func:`severity`
turns probability, sentiment and triggers into low/medium/high/critical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

MANAGER = (
    r"\b(?:speak|talk|speaking|talking)\s+(?:to|with)\s+(?:a|your|the|ur|an?other)?\s*"
    r"(?:manager|supervisor|someone (?:senior|in charge)|team leader)\b",
    r"\b(?:want|need|demand|get me|put me through to|ask(?:ed|ing)? for)\s+(?:a|your|the|ur)\s+"
    r"(?:manager|supervisor)\b",
    r"\bescalat(?:e|ed|ing)\s+(?:this|my (?:complaint|case|issue))\b",
)
LEGAL = (
    r"\b(?:my |a )?(?:lawyers?|attorneys?|solicitors?)\b",
    r"\blegal action\b|\bsmall claims\b|\bclass action\b|\btake (?:you|them|this|it) to court\b",
    r"\b(?:sue|suing)\s+(?:you|u|them|the company|for (?:damages|negligence|breach))\b",
    r"\b(?:going to|gonna|will|i'll|i will|am)\s+(?:be\s+)?(?:sue|suing)\b",
    r"\b(?:report(?:ing|ed)? (?:you|this|them) to|complain(?:t|ing)? to) (?:the )?"
    r"(?:regulator|authorities)\b",
)
REGULATORS = (
    "FTC",
    "CFPB",
    "Ofcom",
    "Ofgem",
    "Ofwat",
    "BBB",
    "Better Business Bureau",
    "ombudsman",
    "trading standards",
    "FCA",
    "Financial Ombudsman",
    "attorney general",
    "consumer protection",
)
SAFETY = (
    r"\binjur(?:y|ies|ed)\b|\bhurt (?:me|my|myself|him|her|us|our)\b",
    r"\b(?:caught|set on|started a|catch) fire\b|\bfire hazard\b|\bwent up in flames\b|\bexplod(?:ed|ing)\b"
    r"|\bsmoke (?:came|coming|pouring) out\b|\bmelted\b|\boverheat(?:ed|ing)\b",
    r"\bfood poisoning\b|\ballergic reaction\b|\ballerg(?:y|ies|en)\b|\banaphyla\w+|\bepipen\b",
    r"\bburn(?:ed|t|s)?\s+(?:my|his|her|our)\s+(?:hand|hands|arm|leg|face|skin|mouth|tongue|fingers?|child|son"
    r"|daughter|baby|kid)\b",
    r"\b(?:in|to|at) (?:the )?(?:hospital|a&e|emergency room|er)\b|\bhospitali[sz]ed\b",
    r"\belectric(?:al)? shock\b|\bchok(?:ed|ing) on\b|\bglass in (?:my|the)\b"
    r"|\bmade (?:me|us|him|her|my \w+) (?:sick|ill|vomit)\b",
)
CHURN = (
    r"\bcancel(?:l?ing|l?ed)?\s+(?:my|our|the)\s+(?:account|subscription|contract|membership|plan|service"
    r"|broadband|policy|sub)\b",
    r"\bclos(?:e|ing) (?:my|our) account\b|\btak(?:e|ing) my (?:business|money|custom) elsewhere\b",
    r"\bswitch(?:ing|ed)?\s+(?:providers?|banks?|networks?|suppliers?|(?:over\s+)?to\s+\w+)\b",
    r"\b(?:never|won't|will not|not going to|wont)\s+(?:be\s+)?(?:buy|buying|shop|shopping|order|ordering|fly"
    r"|flying|use|using|com(?:e|ing) back|recommend|return|book|booking)\b[^.!?]{0,40}\bagain\b",
    r"\bnever again\b|\b(?:last|final) time (?:i|we) (?:use|buy|shop|order|fly)\b",
)
REPEAT = (
    r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|umpteenth|nth) time\b",
    r"\b(?:yet|once) again\b|\bagain and again\b|\bover and over\b",
    r"\bstill (?:no|not|waiting|nothing|haven't|hasn't|havent|hasnt|unresolved|broken|down)\b",
    r"\bno (?:reply|response|answer|update) (?:yet|still|again)\b",
    r"\b(?:called|emailed|messaged|contacted|tweeted|dm'?d|rang|chased|phoned)\s+(?:you\s+)?"
    r"(?:\d+|two|three|four|five|six|several|multiple|many|countless|numerous) times\b",
    r"\b(?:happened|broke|broken|down|crashed|late|cancell?ed|charged|failed|delayed|missing|wrong) again\b",
)

TRIGGER_REASONS = {
    "manager": "asks for a manager or supervisor",
    "legal": "legal or regulator threat",
    "safety": "safety issue",
    "churn": "churn intent",
    "repeat_contact": "repeated contact",
}
SEVERITIES = ("low", "medium", "high", "critical")


_MAX_ALTS = 64
_MAX_GATE = 12


def _alternatives(items: object) -> set[str] | None:
    """Every string parsed regex ``items`` can match, if it is made of literals, branches and ``?`` only."""
    outs = {""}
    for op, av in items:  # type: ignore[attr-defined]
        name = op.name
        if name == "LITERAL":
            outs = {o + chr(av) for o in outs}
            continue
        if name == "AT":  # zero-width
            continue
        if name == "BRANCH":
            subs = [_alternatives(b) for b in av[1]]
            if any(x is None for x in subs):
                return None
            alts: set[str] = set().union(*subs)  # type: ignore[arg-type]
        elif name == "SUBPATTERN" and not av[1] & re.IGNORECASE:
            alts = _alternatives(av[-1])  # type: ignore[assignment]
        elif name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] in (0, 1) and av[1] == 1:
            alts = _alternatives(av[2])  # type: ignore[assignment]
            if alts is not None and av[0] == 0:
                alts = alts | {""}
        else:
            return None
        if alts is None or len(outs) * len(alts) > _MAX_ALTS:
            return None
        outs = {o + a for o in outs for a in alts}
    return outs


def _required(items: object) -> frozenset[str] | None:
    """Literal strings at least one of which occurs in every match of parsed regex ``items``; ``None``: unknown."""
    candidates: list[frozenset[str]] = []
    run = {""}

    def flush() -> None:
        nonlocal run
        if "" not in run:
            candidates.append(frozenset(run))
        run = {""}

    for item in items:  # type: ignore[attr-defined]
        op, av = item
        name = op.name
        alts = _alternatives([item])
        if alts is not None:
            if len(run) * len(alts) > _MAX_ALTS:
                flush()
            run = {r + a for r in run for a in alts}
            continue
        flush()
        need: frozenset[str] | None = None
        if name == "SUBPATTERN":
            if av[1] & re.IGNORECASE:
                return None
            need = _required(av[-1])
        elif name == "ATOMIC_GROUP":
            need = _required(av)
        elif name == "BRANCH":
            subs = [_required(b) for b in av[1]]
            need = None if any(x is None for x in subs) else frozenset().union(*subs)  # type: ignore[arg-type]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            need = _required(av[2])
        if need:
            candidates.append(need)
    flush()
    # the cheapest useful candidate: fewest literals of three or more characters
    cands = [_minimal(c) for c in candidates]
    return min(cands, key=lambda c: (min(map(len, c)) < 3, len(c), -min(map(len, c)))) if cands else None


def _minimal(lits: frozenset[str] | set[str]) -> frozenset[str]:
    """``lits`` without the literals that contain another one ("lawyers" goes when "lawyer" is there)."""
    return frozenset(x for x in lits if not any(y != x and y in x for y in lits))


def literal_gate(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """A cheap pre-test for the alternation of ``patterns``: a plain-literal regex that finds something in
    every text the patterns match (``None`` when no useful one can be derived, e.g. with ``(?i)``).

    Regexes that start with ``\\b`` defeat the ``re`` engine's first-character
    scan and cost about 5x a literal search, and most texts match no trigger, so
    escalation, topic and spam patterns search only texts that pass their gate.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]

        lits: set[str] = set()
        for p in patterns:
            parsed = _parser.parse(p)
            need = None if parsed.state.flags & re.IGNORECASE else _required(parsed)
            if not need or min(map(len, need)) < 2:
                return None
            lits |= need
    except Exception:  # noqa: BLE001 - any parser change: simply no gate
        return None
    lits = set(_minimal(lits))
    if len(lits) > _MAX_GATE:  # a long alternation of literals costs as much as the patterns
        return None
    return re.compile("|".join(re.escape(x) for x in sorted(lits, key=lambda x: (-len(x), x))))


class Gated:
    """A compiled pattern searched only in texts that pass its :func:`literal_gate` (same results)."""

    __slots__ = ("pattern", "gate")

    def __init__(self, patterns: Sequence[str], flags: int = 0):
        self.pattern = re.compile("|".join(f"(?:{p})" for p in patterns), flags)
        self.gate = None if flags else literal_gate(patterns)

    def search(self, text: str) -> re.Match[str] | None:
        """``pattern.search(text)``, skipped when the gate finds nothing."""
        if self.gate is not None and self.gate.search(text) is None:
            return None
        return self.pattern.search(text)


@lru_cache(maxsize=64)
def compile_any(patterns: tuple[str, ...]) -> Gated | None:
    """One gated alternation of ``patterns``, for lower-cased text (``None`` when empty)."""
    return Gated(patterns) if patterns else None


class NameMatcher:
    """Whole-word matcher of plain names, each mapped to a canonical name.

    All-capital aliases (``UPS``) match the original text case-sensitively;
    others match the lower-cased text.
    """

    def __init__(self, names: dict[str, tuple[str, ...]]):
        self.canonical: dict[str, str] = {}
        caps: list[str] = []
        other: list[str] = []
        for canon, aliases in names.items():
            for a in aliases:
                if not a:
                    continue
                key = a if a.isupper() else a.lower()
                self.canonical[key] = canon
                (caps if a.isupper() else other).append(re.escape(key))
        self.caps = re.compile(r"\b(?:" + "|".join(caps) + r")\b") if caps else None
        self.other = re.compile(r"\b(?:" + "|".join(other) + r")\b") if other else None
        # plain-literal pre-tests (fast first-character scan), see literal_gate
        self.caps_gate = re.compile("|".join(caps)) if caps else None
        self.other_gate = re.compile("|".join(other)) if other else None

    def search(self, text: str, lowered: str) -> re.Match[str] | None:
        """First match (case-sensitive capitals first), or ``None``."""
        m = self.caps.search(text) if self.caps and self.caps_gate.search(text) else None  # type: ignore[union-attr]
        if m is None and self.other and self.other_gate.search(lowered):  # type: ignore[union-attr]
            m = self.other.search(lowered)
        return m

    def find(self, text: str, lowered: str) -> tuple[str, ...]:
        """Canonical names found, in the order of the mapping."""
        hits: set[str] = set()
        if self.caps and self.caps_gate.search(text):  # type: ignore[union-attr]
            hits.update(self.canonical[m] for m in self.caps.findall(text))
        if self.other and self.other_gate.search(lowered):  # type: ignore[union-attr]
            hits.update(self.canonical[m] for m in self.other.findall(lowered))
        return tuple(c for c in dict.fromkeys(self.canonical.values()) if c in hits)


@lru_cache(maxsize=64)
def compile_names(names: tuple[tuple[str, tuple[str, ...]], ...]) -> NameMatcher:
    """Cached :class:`NameMatcher` of ``((canonical, aliases), ...)``."""
    return NameMatcher(dict(names))


def escalations(
    text: str,
    rules: Sequence[tuple[str, Gated | NameMatcher | None]],
    is_complaint: bool,
    prior_contacts: int = 0,
    repeat_contact_min: int = 1,
    lowered: str | None = None,
) -> list[tuple[str, str]]:
    """``(trigger, reason)`` pairs found in ``text`` (``lowered`` is ``text.lower()`` if known).

    ``rules`` is ``[(trigger, compiled pattern)]`` (several entries may share a
    trigger, e.g. legal patterns and regulator names). Churn and repeated-contact
    wording only counts on complaints ("can't wait to fly again" is praise);
    manager, legal and safety count on any text. ``prior_contacts`` (known to
    the pipeline) at or over ``repeat_contact_min`` is a repeated contact too.
    """
    found: dict[str, str] = {}
    low = text.lower() if lowered is None else lowered
    for trigger, pat in rules:
        if pat is None or trigger in found:
            continue
        if trigger in ("churn", "repeat_contact") and not is_complaint:
            continue
        m = pat.search(text, low) if isinstance(pat, NameMatcher) else pat.search(low)
        if m:
            found[trigger] = f'{TRIGGER_REASONS.get(trigger, trigger)}: "{m.group(0).strip()}"'
    known_repeat = bool(prior_contacts and repeat_contact_min and prior_contacts >= repeat_contact_min)
    if known_repeat and "repeat_contact" not in found:
        found["repeat_contact"] = f"repeated contact: {prior_contacts} earlier contact(s)"
    return list(found.items())


def severity(probability: float, is_complaint: bool, sentiment: float, triggers: Iterable[str]) -> tuple[str, str]:
    """Severity and the reason for it.

    critical: safety or legal trigger on a complaint, or three or more triggers;
    high: any other trigger on a complaint, or a confident (p >= 0.9) and very
    negative (compound <= -0.6) complaint; medium: other complaints, and
    non-complaints with a safety or legal trigger; low: the rest.
    """
    t = set(triggers)
    if not is_complaint:
        if t & {"safety", "legal"}:
            return "medium", f"severity medium: {', '.join(sorted(t & {'safety', 'legal'}))} wording"
        return "low", "severity low: not a complaint"
    if t & {"safety", "legal"} or len(t) >= 3:
        return "critical", f"severity critical: {', '.join(sorted(t))}"
    if t:
        return "high", f"severity high: {', '.join(sorted(t))}"
    if probability >= 0.9 and sentiment <= -0.6:
        return "high", "severity high: confident and very negative complaint"
    return "medium", "severity medium: complaint"
