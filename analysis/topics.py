"""Topics, third parties and competitors of a mention.

A taxonomy maps each topic to regex patterns written in lower case (matched
against the lower-cased text); a text gets
every topic that matches, and a complaint that matches none gets ``"other"``.
Third parties (couriers, payment providers) and competitors are plain names
matched as whole words (all-capital names such as ``UPS`` case-sensitively, so
"ups and downs" is not UPS).
"""

from __future__ import annotations

from collections.abc import Mapping

from gripewatch.analysis.rules import Gated, NameMatcher, compile_any, compile_names

DEFAULT_TOPICS: dict[str, tuple[str, ...]] = {
    "delivery": (
        r"\bdeliver(?:y|ies|ed|ing)?\b",
        r"\bparcels?\b",
        r"\bpackages?\b",
        r"\bcouriers?\b",
        r"\bship(?:ping|ped|ment)\b",
        r"\bdispatch(?:ed)?\b",
        r"\btracking\b",
        r"\bwhere(?:'s| is) my (?:order|parcel|package|stuff)\b",
        r"\b(?:not|never|hasn't|still not) (?:arrived|turned up|come)\b",
        r"\bmissing (?:items?|order|parcel)\b",
    ),
    "billing_refunds": (
        r"\brefund(?:s|ed|ing)?\b",
        r"\b(?:over|double |twice |wrongly )?charg(?:ed|es|ing)\b",
        r"\bbill(?:s|ed|ing)?\b",
        r"\binvoices?\b",
        r"\bpayments?\b",
        r"\bmoney back\b",
        r"\bdirect debit\b",
        r"\bcredit card\b",
    ),
    "outage_bug": (
        r"\bout(?:age|ages)\b",
        r"\b(?:site|app|server|service|network|website|system|wifi|internet|broadband)s?"
        r" (?:is |are |keeps going |went |goes )?(?:down|offline)\b",
        r"\bnot (?:working|loading)\b",
        r"\b(?:doesn't|does not|won't|will not|isn't) (?:work|load|open)\b",
        r"\bcrash(?:es|ed|ing)?\b",
        r"\bbugs?\b|\bbuggy\b",
        r"\berror(?: message| code)?s?\b",
        r"\bglitch(?:es|y)?\b",
        r"\bno (?:signal|service|internet|connection)\b",
    ),
    "account_login": (
        r"\blog ?in\b|\blog(?:ged)? (?:me )?out\b|\bsign(?:ed)? ?in\b",
        r"\bpasswords?\b",
        r"\blocked out\b",
        r"\baccount (?:locked|suspended|hacked|closed|blocked|disabled)\b",
        r"\bhacked\b",
        r"\b2fa\b",
        r"\bverification code\b|\bone[- ]time (?:code|password)\b",
    ),
    "product_quality": (
        r"\bbroken\b",
        r"\bfaulty\b",
        r"\bdefect(?:ive|s)?\b",
        r"\bpoor(?:ly)? (?:quality|made)\b",
        r"\bstopped working\b",
        r"\bfell apart\b|\bfalling apart\b",
        r"\bdamaged\b",
        r"\bripped\b|\btorn\b",
        r"\bstale\b|\bmouldy\b|\bmoldy\b|\bundercooked\b|\braw (?:chicken|meat)\b|\bcold food\b",
        r"\bcheap(?:ly)? made\b|\bquality\b",
    ),
    "staff_service": (
        r"\bstaff\b",
        r"\brude\b",
        r"\bcustomer (?:service|care|support)\b",
        r"\bagents?\b",
        r"\bemployees?\b",
        r"\bunhelpful\b",
        r"\bon hold\b",
        r"\bcall cent(?:re|er)\b",
        r"\bno (?:one|body) (?:replied|answers?|helps?)\b",
        r"\bignor(?:ed|ing)\b",
        r"\bmanager\b|\bwaiter\b|\bcashier\b",
    ),
    "pricing": (
        r"\bprices?\b|\bpricing\b",
        r"\bexpensive\b|\boverpriced\b",
        r"\brip[- ]?off\b",
        r"\bprice (?:rise|hike|increase)\b|\b(?:price )?hikes?\b",
        r"\bcosts? (?:too much|more)\b",
        r"\bfees?\b",
    ),
}

#: How people read each topic (digest, dashboard, spike alerts); other names: see :func:`display_name`.
DISPLAY_NAMES: dict[str, str] = {
    "delivery": "Delivery",
    "billing_refunds": "Billing and refunds",
    "outage_bug": "Outages and bugs",
    "account_login": "Account and login",
    "product_quality": "Product quality",
    "staff_service": "Staff and service",
    "pricing": "Pricing",
    "other": "Other",
}


def display_name(topic: str) -> str:
    """A topic in words: ``"billing_refunds"`` → ``"Billing and refunds"``; a configured ``"late_trains"`` →
    ``"Late trains"``."""
    return DISPLAY_NAMES.get(topic) or (topic.replace("_", " ").strip().capitalize() or topic)


DEFAULT_THIRD_PARTIES: dict[str, tuple[str, ...]] = {
    "UPS": ("UPS",),
    "FedEx": ("FedEx", "Fed Ex"),
    "DHL": ("DHL",),
    "USPS": ("USPS",),
    "Royal Mail": ("Royal Mail",),
    "Evri": ("Evri", "Hermes"),
    "Amazon Logistics": ("Amazon Logistics", "AMZL"),
    "PayPal": ("PayPal",),
    "Stripe": ("Stripe",),
    "Klarna": ("Klarna",),
    "Visa": ("Visa",),
    "Mastercard": ("Mastercard", "MasterCard"),
    "Apple Pay": ("Apple Pay", "ApplePay"),
}


def compile_taxonomy(taxonomy: Mapping[str, tuple[str, ...]]) -> list[tuple[str, Gated]]:
    """``[(topic, compiled patterns)]`` of a taxonomy, to match many texts with :func:`topics_of`."""
    out = []
    for name, patterns in taxonomy.items():
        pat = compile_any(tuple(patterns))
        if pat is not None:
            out.append((name, pat))
    return out


def topics_of(lowered: str, compiled: list[tuple[str, Gated]], is_complaint: bool) -> tuple[str, ...]:
    """Topics of lower-cased text under a :func:`compile_taxonomy` result (see :func:`topics`)."""
    found = tuple(name for name, pat in compiled if pat.search(lowered))
    return found or (("other",) if is_complaint else ())


def topics(lowered: str, taxonomy: Mapping[str, tuple[str, ...]], is_complaint: bool) -> tuple[str, ...]:
    """Topics of lower-cased text in taxonomy order; ``("other",)`` for a complaint that matches none."""
    return topics_of(lowered, compile_taxonomy(taxonomy), is_complaint)


def name_matcher(names: Mapping[str, tuple[str, ...]]) -> NameMatcher | None:
    """Cached matcher of canonical names and their aliases (``None`` when there are none)."""
    return compile_names(tuple((k, tuple(v)) for k, v in names.items())) if names else None


def mentioned(text: str, names: Mapping[str, tuple[str, ...]], lowered: str | None = None) -> tuple[str, ...]:
    """Canonical names whose aliases occur in ``text`` as whole words."""
    matcher = name_matcher(names)
    return matcher.find(text, text.lower() if lowered is None else lowered) if matcher else ()
