"""VADER sentiment (compound score in [-1, 1])."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound(texts: Sequence[str]) -> list[float]:
    """VADER compound score of each (already normalised) text."""
    sia = _analyzer()
    return [sia.polarity_scores(t)["compound"] if t else 0.0 for t in texts]
