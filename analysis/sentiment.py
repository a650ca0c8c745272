"""VADER sentiment (compound score in [-1, 1])."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_EMPTY = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def polarity(texts: Sequence[str]) -> list[dict[str, float]]:
    """VADER ``polarity_scores`` (neg, neu, pos, compound) of each (already normalised) text."""
    sia = _analyzer()
    return [sia.polarity_scores(t) if t else dict(_EMPTY) for t in texts]


def compound(texts: Sequence[str]) -> list[float]:
    """VADER compound score of each (already normalised) text."""
    return [p["compound"] for p in polarity(texts)]
