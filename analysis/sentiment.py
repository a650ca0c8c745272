"""VADER sentiment (compound score in [-1, 1])."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Praise idioms VADER reads as violence ("killing it" scores -0.66): read as "doing great" instead.
# Past tenses ("your update killed it") are left alone: they are as often literal.
_IDIOMS = re.compile(r"\b(?:killing|killin|crushing|smashing|slaying|nailed|nailing) it\b", re.I)

_EMPTY = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def polarity(texts: Sequence[str]) -> list[dict[str, float]]:
    """VADER ``polarity_scores`` (neg, neu, pos, compound) of each (already normalised) text."""
    sia = _analyzer()
    return [sia.polarity_scores(_praise_read(t)) if t else dict(_EMPTY) for t in texts]


def _praise_read(text: str) -> str:
    """The text VADER reads: praise idioms ("killing it") replaced by plain praise."""
    return _IDIOMS.sub("doing great", text) if " it" in text and _IDIOMS.search(text) else text


def compound(texts: Sequence[str]) -> list[float]:
    """VADER compound score of each (already normalised) text."""
    return [p["compound"] for p in polarity(texts)]
