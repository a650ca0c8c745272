"""The whole analysis of a batch of texts: dataclasses in, dataclasses out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from analysis import complaint, sentiment
from analysis.text import normalise


@dataclass(frozen=True)
class AnalysisSettings:
    """What analysis needs from config (``analysis:`` in config.yaml)."""

    complaint_threshold: float = 0.5


@dataclass(frozen=True)
class Analysis:
    """Scores of one text. ``reasons`` are short, human-readable strings."""

    sentiment: float
    complaint_probability: float
    is_complaint: bool
    severity: str = "low"
    topics: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default_factory=tuple)


def analyse_batch(texts: Sequence[object], settings: AnalysisSettings | None = None) -> list[Analysis]:
    """Analyse ``texts`` (any objects; normalised here) and return one result each, in order."""
    settings = settings or AnalysisSettings()
    clean = [normalise(t) for t in texts]
    sents = sentiment.compound(clean)
    probs = complaint.probabilities(clean, sents)
    return [
        Analysis(
            sentiment=s,
            complaint_probability=p,
            is_complaint=p >= settings.complaint_threshold,
            severity="medium" if p >= settings.complaint_threshold else "low",
        )
        for s, p in zip(sents, probs, strict=True)
    ]


def analyse(text: object, settings: AnalysisSettings | None = None) -> Analysis:
    """Analyse one text."""
    return analyse_batch([text], settings)[0]
