"""The whole analysis of a batch of texts: dataclasses in, dataclasses out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gripewatch.analysis import complaint, language, noise, rules, sentiment
from gripewatch.analysis.rules import NameMatcher
from gripewatch.analysis.settings import AnalysisSettings
from gripewatch.analysis.text import normalise
from gripewatch.analysis.topics import compile_taxonomy, name_matcher, topics_of


@dataclass(frozen=True)
class Analysis:
    """Scores of one text. ``reasons`` are short, human-readable strings shown to staff.

    ``noise`` is "retweet", "spam", "link_only", "own_post" or ``None``; noise
    is never a complaint. ``topics`` are given for complaints and for texts
    with an escalation trigger only (to keep analysis fast); ``fingerprint`` is
    :func:`analysis.noise.near_duplicate_key`.

    ``language`` is an ISO 639-1 code or ``"und"`` (:mod:`analysis.language`). A text in a language the
    complaint model was not trained on (anything but English or ``und``) is not scored:
    ``complaint_probability`` is ``None``, ``needs_review`` is true and it counts as a complaint, so a case
    opens and a person reads it. ``tier`` says what decided: ``"fast"`` (the linear model), ``"encoder"``
    (the fast score was in the uncertain band and the sentence encoder re-scored it), ``"review"`` (not
    scored, see above) or ``"noise"``.
    """

    sentiment: float
    complaint_probability: float | None
    is_complaint: bool
    severity: str = "low"
    topics: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default_factory=tuple)
    third_parties: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    noise: str | None = None
    fingerprint: str = ""
    language: str = "en"
    needs_review: bool = False
    tier: str = "fast"

    @property
    def is_noise(self) -> bool:
        """True for retweets, spam, link-only posts and the brand's own posts."""
        return self.noise is not None


def _nth(seq: Sequence[object] | None, i: int, default: object) -> object:
    return seq[i] if seq is not None and i < len(seq) and seq[i] is not None else default


def analyse_batch(
    texts: Sequence[object],
    settings: AnalysisSettings | None = None,
    *,
    prior_contacts: Sequence[int | None] | None = None,
    own_post: Sequence[bool] | None = None,
    cascade: bool = True,
) -> list[Analysis]:
    """Analyse ``texts`` (any objects; normalised here); one result each, in order. Never raises on text.

    ``prior_contacts[i]``: how many earlier contacts the pipeline knows for the
    author of text i (at ``settings.repeat_contact_min`` or more it is a repeated
    contact). ``own_post[i]``: the text was posted by one of the brand's own
    accounts -- it gets probability 0, no complaint, ``noise="own_post"``. ``cascade`` false: the
    fast model decides every text (the encoder tier is not consulted; for benchmarks and tests).
    """
    settings = settings or AnalysisSettings()
    threshold = settings.complaint_threshold
    if threshold is None:
        threshold = complaint.default_threshold()
    clean = [normalise(t) for t in texts]
    lows = [t.lower() for t in clean]
    kinds = [
        "own_post" if own_post and _nth(own_post, i, False) else noise.noise_kind(t, low)
        for i, (t, low) in enumerate(zip(clean, lows, strict=True))
    ]
    langs = language.detect_batch(clean)
    vaders = sentiment.polarity(clean)
    english = [cascade and k is None and language.is_english(lang) for k, lang in zip(kinds, langs, strict=True)]
    scored = complaint.score(clean, vaders, explain=settings.explain, rescore=english, threshold=threshold)
    patterns = settings.rule_patterns()
    taxonomy = compile_taxonomy(settings.topics)
    third = name_matcher(settings.third_parties)
    rivals = name_matcher({c: (c,) for c in settings.competitors})
    out = []
    by_rule: list[str]
    for i, (text, low, kind, lang, vader, sc) in enumerate(zip(clean, lows, kinds, langs, vaders, scored, strict=True)):
        if kind is None and not language.is_english(lang):
            out.append(_needs_review(text, low, lang, vader["compound"], third, rivals))
            continue
        p = sc.probability
        if kind == "own_post":
            p = 0.0
        elif kind is not None:
            p = min(p, settings.noise_probability_cap)
        is_c = kind is None and p >= threshold
        prior = int(_nth(prior_contacts, i, 0)) if prior_contacts else 0  # type: ignore[call-overload]
        trig = rules.escalations(text, patterns, True, prior, settings.repeat_contact_min, low)
        by_rule = [t for t, _ in trig if t in settings.rule_complaints]
        calm = vader["compound"] < settings.rule_complaint_max_sentiment
        if kind is None and not is_c and by_rule and calm:
            is_c = True
        if not is_c:  # "can't wait to fly again" is no repeated contact
            trig = [(t, r) for t, r in trig if t not in ("churn", "repeat_contact")]
        sev, sev_reason = rules.severity(p, is_c, vader["compound"], [t for t, _ in trig])
        reasons: list[str] = []
        if kind is not None:
            reasons.append(f"not a complaint: {kind.replace('_', ' ')}")
        elif by_rule and p < threshold and is_c:
            reasons.append(f"complaint by rule ({', '.join(by_rule)}) although model probability is {p:.2f}")
        elif settings.explain:
            reasons += complaint.reasons(sc, is_c, settings.max_reasons)
        if kind is None:
            reasons.append(complaint.tier_reason(sc))
        reasons += [r for _, r in trig]
        if is_c or sev != "low":
            reasons.append(sev_reason)
        out.append(
            Analysis(
                sentiment=vader["compound"],
                complaint_probability=round(p, 4),
                is_complaint=is_c,
                severity=sev,
                topics=topics_of(low, taxonomy, is_c) if is_c or trig else (),
                escalation=tuple(t for t, _ in trig),
                reasons=tuple(reasons),
                third_parties=third.find(text, low) if third else (),
                competitors=rivals.find(text, low) if rivals else (),
                noise=kind,
                fingerprint=noise.near_duplicate_key(text),
                language=lang,
                tier=sc.tier if kind is None else "noise",
            )
        )
    return out


def _needs_review(
    text: str, low: str, lang: str, compound: float, third: NameMatcher | None, rivals: NameMatcher | None
) -> Analysis:
    """A mention in a language the complaint model does not read: not scored, a case for a person."""
    return Analysis(
        sentiment=compound,
        complaint_probability=None,
        is_complaint=True,
        severity="medium",
        reasons=(f"needs review: written in {lang!r}, which the complaint model does not read; a person decides",),
        third_parties=third.find(text, low) if third else (),
        competitors=rivals.find(text, low) if rivals else (),
        fingerprint=noise.near_duplicate_key(text),
        language=lang,
        needs_review=True,
        tier="review",
    )


def analyse(
    text: object, settings: AnalysisSettings | None = None, *, prior_contacts: int | None = None, own_post: bool = False
) -> Analysis:
    """Analyse one text (see :func:`analyse_batch`)."""
    return analyse_batch([text], settings, prior_contacts=[prior_contacts], own_post=[own_post])[0]
