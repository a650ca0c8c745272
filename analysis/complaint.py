"""Complaint probability.

Foundation version: a transparent cue rule. Replaced by the trained model
(issue 3) behind the same function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CUES = re.compile(
    r"\b(still|again|never|refund|broken|worst|cancel|waiting|why|not working|"
    r"doesn'?t work|can'?t|won'?t|no one|nobody|charged|late|missing|down)\b",
    re.IGNORECASE,
)


def probabilities(texts: Sequence[str], sentiments: Sequence[float]) -> list[float]:
    """Probability that each text is a complaint, from cues and sentiment."""
    out = []
    for text, s in zip(texts, sentiments, strict=True):
        cues = len(_CUES.findall(text))
        p = 0.15 + 0.2 * min(cues, 3) + (0.25 if s <= -0.3 else 0.0) - (0.3 if s >= 0.5 else 0.0)
        out.append(round(min(max(p, 0.01), 0.99), 4))
    return out
