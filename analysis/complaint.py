"""Complaint probability from the two-tier cascade, with staff-readable reasons.

The fast tier (artifact format, formula, loading) is :mod:`analysis.model`; it scores every text. The
encoder tier (:mod:`analysis.encoder`) re-scores the texts whose fast probability falls in its
uncertain band -- a few percent of them, chosen so that the cascade keeps its speed target. How both
are trained and evaluated is :mod:`analysis.train`, :mod:`analysis.train_encoder` and docs/model.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gripewatch.analysis.encoder import EncoderTier, default_tier
from gripewatch.analysis.model import ComplaintModel, Scored, default_model, describe, score_batch


def score(
    texts: Sequence[str],
    vaders: Sequence[dict[str, float]],
    explain: bool = True,
    model: ComplaintModel | None = None,
    *,
    encoder: EncoderTier | None = None,
    rescore: Sequence[bool] | None = None,
    threshold: float | None = None,
) -> list[Scored]:
    """Calibrated complaint probability of each normalised text (VADER scores alongside).

    Texts whose fast probability is in the encoder's uncertain band are re-scored by it (only those
    with ``rescore[i]`` true, if given: noise and other languages are not); ``threshold`` (default: the
    fast model's) anchors the blend, so ``p >= threshold`` is the decision for both tiers.
    """
    m = model or default_model()
    fast = score_batch(texts, vaders, m, explain=explain)
    if rescore is not None and not any(rescore):
        return fast
    tier = encoder or default_tier()
    t = m.threshold if threshold is None else threshold
    idx = [
        i for i, s in enumerate(fast) if (rescore is None or rescore[i]) and tier.in_band(s.probability) and texts[i]
    ]
    if idx:
        probs = tier.rescore([texts[i] for i in idx], [fast[i].probability for i in idx], t)
        for i, p in zip(idx, probs, strict=True):
            fast[i] = replace(fast[i], probability=p, tier="encoder", fast_probability=fast[i].probability)
    return fast


def default_threshold() -> float:
    """The decision threshold recorded in the shipped artifact (chosen in cross-validation)."""
    return default_model().threshold


def reasons(scored: Scored, is_complaint: bool, limit: int = 4) -> list[str]:
    """The features that pushed the decision the way it went, strongest first.

    For a complaint, the features that raised the score (``'"still waiting" +0.81'``);
    otherwise those that lowered it.
    """
    return [describe(k, v) for k, v in scored.strongest(1.0 if is_complaint else -1.0, limit)]


def tier_reason(scored: Scored) -> str:
    """Which tier decided: ``'decided by: fast model'`` or the encoder with the fast model's probability."""
    if scored.tier == "encoder":
        return f"decided by: sentence encoder (fast model {scored.fast_probability or 0:.2f} was uncertain)"
    return "decided by: fast model"
