"""Complaint probability from the trained model, with staff-readable reasons.

The model itself (artifact format, formula, loading) is :mod:`analysis.model`;
how it is trained and evaluated is :mod:`analysis.train` and docs/model.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from gripewatch.analysis.model import ComplaintModel, Scored, default_model, describe, score_batch


def score(
    texts: Sequence[str], vaders: Sequence[dict[str, float]], explain: bool = True, model: ComplaintModel | None = None
) -> list[Scored]:
    """Calibrated complaint probability of each normalised text (VADER scores alongside)."""
    return score_batch(texts, vaders, model or default_model(), explain=explain)


def default_threshold() -> float:
    """The decision threshold recorded in the shipped artifact (chosen in cross-validation)."""
    return default_model().threshold


def reasons(scored: Scored, is_complaint: bool, limit: int = 4) -> list[str]:
    """The features that pushed the decision the way it went, strongest first.

    For a complaint, the features that raised the score (``'"still waiting" +0.81'``);
    otherwise those that lowered it.
    """
    return [describe(k, v) for k, v in scored.strongest(1.0 if is_complaint else -1.0, limit)]
