"""The complaint model at run time: plain-data artifact in, probabilities out.

The model is one linear scorer over binary word 1-2-gram features (NB-weighted
at training time, the weights stored already multiplied out) plus a few
standardised dense cue features (:mod:`analysis.features`), followed by Platt
calibration::

    z = bias + sum(weight[k] for k in set(keys)) + dense_coef . (dense - mean) / std
    p = 1 / (1 + exp(-(platt_a * z + platt_b)))

It is stored as ``complaint_model.npz`` (arrays only, read with
``allow_pickle=False``) beside ``complaint_model.json`` (training data SHA-256,
parameters, cross-validated metrics). Inference needs numpy only; scikit-learn
is used by :mod:`analysis.train` alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from gripewatch.analysis.features import DENSE_NAMES, Features, extract

ARTIFACT_DIR = Path(__file__).resolve().parent
_FLOOR = 0.05  # contributions smaller than this are never reasons
NPZ_NAME = "complaint_model.npz"
JSON_NAME = "complaint_model.json"

#: Staff-readable names of the dense cues (shown in ``reasons``).
CUE_LABELS = {
    "vader:compound": "sentiment",
    "vader:negative": "negative words",
    "vader:positive": "positive words",
    "text:starts_with_mention": "addressed to an account",
    "text:has_link": "contains a link",
    "cue:negation": "negation",
    "cue:still_again": '"still"/"again"',
    "cue:waiting": "waiting/delay words",
    "cue:money": "money/refund words",
    "cue:problem": "problem words (lost, deleted, crashed...)",
    "cue:not_received": "not received / no response / not working",
    "cue:inability": "can't/won't",
    "cue:frustration": "frustration words",
    "cue:second_person": "speaks to the brand (you/your)",
    "cue:first_person": "first person",
    "cue:question": "question",
    "cue:why_how": '"why"/"where is"',
    "cue:demand": "demand to fix",
    "cue:contact": "support/contact words",
    "cue:time": "time expression",
    "cue:extreme": "strong negative word",
    "cue:thanks": "thanks/praise",
    "cue:exclaim": "exclamation",
    "text:shouting": "capitals",
    "text:length": "text length",
}
assert set(CUE_LABELS) == set(DENSE_NAMES)


@dataclass(frozen=True)
class ComplaintModel:
    """A loaded complaint model (see the module docstring for the formula)."""

    weights: dict[str, float]
    bias: float
    dense_mean: np.ndarray
    dense_std: np.ndarray
    dense_coef: np.ndarray
    platt_a: float
    platt_b: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)

    def decisions(
        self, feats: Sequence[Features], explain: bool = False
    ) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        """Raw scores ``z`` of a batch and, if ``explain``, each text's feature contributions (name, value).

        Only contributions larger than 0.05 in size are listed (smaller ones are
        never shown as reasons), and a dense cue that is absent (value 0) is not.
        """
        w = self.weights
        get = w.get
        n = len(feats)
        dense = np.array([f.dense for f in feats], dtype=np.float64).reshape(n, len(DENSE_NAMES))
        dc = (dense - self.dense_mean) * (self.dense_coef / self.dense_std)
        z = dc.sum(axis=1) + self.bias
        contribs: list[list[tuple[str, float]]] = []
        if not explain:
            for i, f in enumerate(feats):
                z[i] += sum(v for v in map(get, f.keys) if v is not None)
            return z, contribs
        for i, (f, drow, crow) in enumerate(zip(feats, dense.tolist(), dc.tolist(), strict=True)):
            vals = list(map(get, f.keys))
            z[i] += sum(filter(None, vals))
            c = [(k, v) for k, v in zip(f.keys, vals, strict=True) if v is not None and (v > _FLOOR or v < -_FLOOR)]
            c.extend(
                (name, v)
                for name, r, v in zip(DENSE_NAMES, drow, crow, strict=True)
                if r and (v > _FLOOR or v < -_FLOOR)
            )
            contribs.append(c)
        return z, contribs

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        """Platt-calibrated probabilities of raw scores."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.platt_a * z + self.platt_b, -500, 500)))


@dataclass(frozen=True, slots=True)
class Scored:
    """Complaint probability of one text and its features' contributions (name, value) over 0.05 in size.

    ``tier`` is ``"fast"`` or, when the sentence encoder re-scored the text, ``"encoder"``; then
    ``fast_probability`` is what the fast model alone said.
    """

    probability: float
    contributions: tuple[tuple[str, float], ...] | list[tuple[str, float]]
    tier: str = "fast"
    fast_probability: float | None = None

    def strongest(self, sign: float, limit: int, floor: float = _FLOOR) -> list[tuple[str, float]]:
        """Up to ``limit`` contributions of the given ``sign`` above ``floor``, strongest first."""
        picked = [kv for kv in self.contributions if kv[1] * sign > floor]
        picked.sort(key=itemgetter(1), reverse=sign > 0)
        return picked[:limit]


def save(model_arrays: dict[str, np.ndarray], meta: dict[str, Any], directory: Path = ARTIFACT_DIR) -> None:
    """Write the artifact pair (``.npz`` arrays, ``.json`` metadata) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / NPZ_NAME, "wb") as fh:
        np.savez_compressed(fh, **model_arrays)  # type: ignore[arg-type]
    (directory / JSON_NAME).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load(directory: Path = ARTIFACT_DIR) -> ComplaintModel:
    """Read an artifact pair without pickle. Raises ``FileNotFoundError`` if absent."""
    with np.load(directory / NPZ_NAME, allow_pickle=False) as npz:
        vocab = npz["vocab"].tolist()
        weights = dict(zip(vocab, npz["weights"].astype(np.float64).tolist(), strict=True))
        scal = npz["scalars"].astype(np.float64)
        model = ComplaintModel(
            weights=weights,
            bias=float(scal[0]),
            platt_a=float(scal[1]),
            platt_b=float(scal[2]),
            threshold=float(scal[3]),
            dense_mean=npz["dense_mean"].astype(np.float64),
            dense_std=npz["dense_std"].astype(np.float64),
            dense_coef=npz["dense_coef"].astype(np.float64),
            meta=json.loads((directory / JSON_NAME).read_text()),
        )
    if tuple(model.meta.get("dense_names", DENSE_NAMES)) != DENSE_NAMES:
        raise ValueError("complaint model artifact was trained with other dense features; retrain it")
    return model


@lru_cache(maxsize=1)
def default_model() -> ComplaintModel:
    """The shipped model, loaded once per process."""
    return load(ARTIFACT_DIR)


def score_batch(
    texts: Sequence[str], vaders: Sequence[dict[str, float]], model: ComplaintModel | None = None, explain: bool = True
) -> list[Scored]:
    """Score normalised ``texts`` (with their VADER ``polarity_scores``) in one pass.

    ``contributions`` is empty unless ``explain``.
    """
    m = model or default_model()
    feats = [extract(t, v) for t, v in zip(texts, vaders, strict=True)]
    z, contribs = m.decisions(feats, explain)
    probs = m.calibrate(z).tolist()
    if explain:
        return [Scored(p, c) for p, c in zip(probs, contribs, strict=True)]
    return [Scored(p, ()) for p in probs]


def describe(name: str, value: float) -> str:
    """Staff-readable form of one contribution: ``'"still waiting" +0.81'``."""
    label = CUE_LABELS.get(name) or f'"{name}"'
    return f"{label} {value:+.2f}"
