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

import heapq
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from analysis.features import DENSE_NAMES, dense, mask, sparse_keys

ARTIFACT_DIR = Path(__file__).resolve().parent
NPZ_NAME = "complaint_model.npz"
JSON_NAME = "complaint_model.json"

#: Staff-readable names of the dense cues (shown in ``reasons``).
CUE_LABELS = {
    "vader_compound": "sentiment",
    "vader_negative": "negative words",
    "vader_positive": "positive words",
    "starts_with_mention": "addressed to an account",
    "has_link": "contains a link",
    "cue_negation": "negation",
    "cue_still_again": '"still"/"again"',
    "cue_waiting": "waiting/delay words",
    "cue_money": "money/refund words",
    "cue_broken": "broken/not working",
    "cue_second_person": "speaks to the brand (you/your)",
    "cue_first_person": "first person",
    "cue_question": "question",
    "cue_why_how": '"why"/"where is"',
    "cue_demand": "demand to fix",
    "cue_time": "time expression",
    "cue_extreme": "strong negative word",
    "cue_thanks": "thanks/praise",
    "cue_exclaim": "exclamation",
    "shouting": "capitals",
    "length": "text length",
}


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
    meta: dict = field(default_factory=dict)

    def decision(self, keys: Sequence[str], dense_vec: Sequence[float]) -> tuple[float, list[tuple[str, float]]]:
        """Raw score ``z`` and each feature's contribution (name, value) for one text."""
        w = self.weights
        contrib: list[tuple[str, float]] = []
        z = self.bias
        for k in set(keys):
            v = w.get(k)
            if v is not None:
                z += v
                contrib.append((k, v))
        raw = np.asarray(dense_vec, dtype=np.float64)
        d = (raw - self.dense_mean) / self.dense_std * self.dense_coef
        z += float(d.sum())
        # a cue that is absent is not a reason ("negation -0.3" on a text without negation)
        rows = zip(DENSE_NAMES, d.tolist(), raw.tolist(), strict=True)
        contrib.extend((n, v) for n, v, r in rows if r != 0)
        return z, contrib

    def calibrate(self, z: float) -> float:
        """Platt-calibrated probability of a raw score."""
        t = self.platt_a * z + self.platt_b
        return 1.0 / (1.0 + math.exp(-t)) if t > -500 else 0.0


@dataclass(frozen=True)
class Scored:
    """Complaint probability of one text and the features behind it, strongest first."""

    probability: float
    contributions: tuple[tuple[str, float], ...]


def save(model_arrays: dict[str, np.ndarray], meta: dict, directory: Path = ARTIFACT_DIR) -> None:
    """Write the artifact pair (``.npz`` arrays, ``.json`` metadata) to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / NPZ_NAME, "wb") as fh:
        np.savez_compressed(fh, **model_arrays)
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

    ``contributions`` is empty unless ``explain``; when set it holds the
    features ordered by absolute contribution to the raw score.
    """
    m = model or default_model()
    out = []
    for text, vader in zip(texts, vaders, strict=True):
        masked = mask(text)
        z, contrib = m.decision(sparse_keys(masked), dense(text, masked, vader))
        p = m.calibrate(z)
        if explain:
            out.append(Scored(p, tuple(heapq.nlargest(8, contrib, key=lambda kv: abs(kv[1])))))
        else:
            out.append(Scored(p, ()))
    return out


def describe(name: str, value: float) -> str:
    """Staff-readable form of one contribution: ``'"still waiting" +0.81'``."""
    if name.startswith("w:"):
        label = f'"{name[2:]}"'
    else:
        label = CUE_LABELS.get(name, name)
    return f"{label} {value:+.2f}"
