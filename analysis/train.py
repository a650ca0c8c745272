"""Training and honest evaluation of the complaint model (needs the ``train`` extra: scikit-learn).

Entry points (the ``gripewatch model`` commands call them):

* :func:`train` -- cross-validate, fit on all rows, compare with the current
  artifact and write ``complaint_model.npz``/``.json`` (refusing a model whose
  macro-F1 is more than 0.01 worse unless ``force``).
* :func:`evaluate` -- metrics of the model and of a VADER-only baseline on the
  same rows: by ``cv``-fold cross-validation (for the training file) or by
  scoring the shipped artifact (for any other labelled file).

Nothing is fitted on a test fold: each outer training fold gets its own
vocabulary, NB ratios, standardisation, classifier and, from an inner 5-fold
split of that training fold only, its Platt calibration and threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from gripewatch.analysis import model as model_mod
from gripewatch.analysis.dataset import Row, file_sha256, load_rows
from gripewatch.analysis.features import DENSE_NAMES, extract
from gripewatch.analysis.metrics import best_threshold, report
from gripewatch.analysis.sentiment import polarity

#: Default training parameters (recorded in the artifact).
PARAMS = {"C": 0.3, "nb_alpha": 1.0, "min_df": 2, "inner_folds": 5, "seed": 0, "threshold_rule": "balanced"}
_THRESHOLDS = np.round(np.linspace(0.2, 0.8, 61), 3)
_VADER_THRESHOLDS = np.round(np.linspace(-0.9, 0.9, 73), 3)


@dataclass
class Featurised:
    """Features of a list of rows, computed once and shared by every fold."""

    keys: list[frozenset[str]]
    dense: np.ndarray
    compound: np.ndarray
    y: np.ndarray
    domains: list[str]
    rule_complaint: np.ndarray | None = None
    noise: np.ndarray | None = None
    english: np.ndarray | None = None  # English or undetermined: the English tiers score it


def featurise(rows: Sequence[Row]) -> Featurised:
    """Compute sparse keys, dense cues and VADER compound for ``rows``."""
    from gripewatch.analysis import language

    texts = [r.text for r in rows]
    vaders = polarity(texts)
    feats = [extract(t, v) for t, v in zip(texts, vaders, strict=True)]
    return Featurised(
        keys=[frozenset(x.keys) for x in feats],
        dense=np.array([x.dense for x in feats], dtype=np.float64).reshape(len(feats), len(DENSE_NAMES)),
        compound=np.array([v["compound"] for v in vaders]),
        y=np.array([r.label for r in rows], dtype=int),
        domains=[r.domain for r in rows],
        english=np.array([language.is_english(x) for x in language.detect_batch(texts)], dtype=bool),
        **_product_rules(texts, vaders),
    )


def _product_rules(texts: Sequence[str], vaders: Sequence[dict[str, float]]) -> dict[str, np.ndarray]:
    """Per text: noise (never a complaint) and complaint-by-rule, exactly as :func:`analysis.analyse_batch`
    decides them with default settings. The rules are fixed in advance, nothing is fitted, so the CV of
    model + rules is as honest as the model's."""
    from gripewatch.analysis import noise, rules
    from gripewatch.analysis.settings import AnalysisSettings

    s = AnalysisSettings()
    pats = s.rule_patterns()
    rule, noisy = [], []
    for t, v in zip(texts, vaders, strict=True):
        low = t.lower()
        trig = rules.escalations(t, pats, True, 0, s.repeat_contact_min, low)
        calm = v["compound"] < s.rule_complaint_max_sentiment
        rule.append(calm and any(k in s.rule_complaints for k, _ in trig))
        noisy.append(noise.noise_kind(t, low) is not None)
    return {"rule_complaint": np.array(rule, bool), "noise": np.array(noisy, bool)}


def _matrix(f: Featurised, idx: np.ndarray, vocab: dict[str, int]) -> sp.csr_matrix:
    rows, cols = [], []
    for r, i in enumerate(idx):
        for k in f.keys[i]:
            j = vocab.get(k)
            if j is not None:
                rows.append(r)
                cols.append(j)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(idx), len(vocab)))


def fit_linear(f: Featurised, idx: np.ndarray, params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Fit the NB-weighted logistic regression on rows ``idx``; return artifact arrays (no calibration)."""
    from sklearn.linear_model import LogisticRegression

    df: dict[str, int] = {}
    for i in idx:
        for k in f.keys[i]:
            df[k] = df.get(k, 0) + 1
    names = sorted(k for k, c in df.items() if c >= params["min_df"])
    vocab = {k: j for j, k in enumerate(names)}
    x = _matrix(f, idx, vocab)
    y = f.y[idx]
    a = params["nb_alpha"]
    p = a + np.asarray(x[y == 1].sum(0)).ravel()
    q = a + np.asarray(x[y == 0].sum(0)).ravel()
    ratio = np.log(p / p.sum()) - np.log(q / q.sum())
    mean, std = f.dense[idx].mean(0), f.dense[idx].std(0) + 1e-6
    xd = sp.hstack([x.multiply(ratio).tocsr(), sp.csr_matrix((f.dense[idx] - mean) / std)]).tocsr()
    clf = LogisticRegression(
        C=params["C"], class_weight="balanced", solver="liblinear", max_iter=5000, random_state=params["seed"]
    ).fit(xd, y)
    coef = clf.coef_.ravel()
    return {
        "vocab": np.array(names, dtype=str),
        "weights": (coef[: len(names)] * ratio).astype(np.float32),
        "dense_mean": mean,
        "dense_std": std,
        "dense_coef": coef[len(names) :],
        "bias": np.float64(clf.intercept_[0]),
    }


def decision(arrays: dict[str, np.ndarray], f: Featurised, idx: np.ndarray) -> np.ndarray:
    """Raw scores of rows ``idx`` -- the same formula as :class:`analysis.model.ComplaintModel`."""
    vocab = {k: j for j, k in enumerate(arrays["vocab"].tolist())}
    z = _matrix(f, idx, vocab) @ arrays["weights"].astype(np.float64)
    z += ((f.dense[idx] - arrays["dense_mean"]) / arrays["dense_std"]) @ arrays["dense_coef"]
    out: np.ndarray = z + float(arrays["bias"])
    return out


def _sigmoid(t: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(t, -500, 500)))
    return out


def fit_calibrated(
    f: Featurised, idx: np.ndarray, params: dict[str, Any], inner_oof: list[np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Fit on ``idx``; Platt scaling and threshold come from inner cross-validation of ``idx`` only.

    ``inner_oof``, if given, receives the inner out-of-fold calibrated probabilities of ``idx`` (the
    encoder tier chooses its band and blend weight on them).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    inner = StratifiedKFold(params["inner_folds"], shuffle=True, random_state=params["seed"])
    oof = np.zeros(len(idx))
    for tr, te in inner.split(idx, f.y[idx]):
        oof[te] = decision(fit_linear(f, idx[tr], params), f, idx[te])
    platt = LogisticRegression(C=1e4, solver="lbfgs").fit(oof[:, None], f.y[idx])
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    if params["threshold_rule"] == "balanced":  # where the class-balanced raw score crosses 0
        threshold = round(float(_sigmoid(np.array(b))), 3)
    else:  # best macro-F1 on the inner out-of-fold probabilities
        threshold = best_threshold(f.y[idx], _sigmoid(a * oof + b), _THRESHOLDS)
    if inner_oof is not None:
        inner_oof.append(_sigmoid(a * oof + b))
    arrays = fit_linear(f, idx, params)
    arrays["scalars"] = np.array([float(arrays.pop("bias")), a, b, threshold])
    return arrays


def predict(arrays: dict[str, np.ndarray], f: Featurised, idx: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of rows ``idx`` under fitted ``arrays``."""
    a = dict(arrays, bias=arrays["scalars"][0])
    return _sigmoid(arrays["scalars"][1] * decision(a, f, idx) + arrays["scalars"][2])


def cross_validate(
    f: Featurised, folds: int = 10, params: dict[str, Any] | None = None, by_domain: bool = False
) -> dict[str, Any]:
    """Out-of-fold metrics of the model and of VADER alone (threshold chosen on each training fold).

    ``by_domain``: leave-one-domain-out over the domains that hold both classes
    (the others, e.g. random tweets, always stay in training); otherwise
    stratified ``folds``-fold.
    """
    from sklearn.model_selection import StratifiedKFold

    params = {**PARAMS, **(params or {})}
    n = len(f.y)
    if by_domain:
        doms = np.array(f.domains)
        held = sorted(d for d in set(f.domains) if len(set(f.y[doms == d])) == 2)
        splits = [(np.flatnonzero(doms != d), np.flatnonzero(doms == d)) for d in held]
    else:
        skf = StratifiedKFold(folds, shuffle=True, random_state=params["seed"])
        splits = list(skf.split(np.zeros(n), f.y))
    prob, pred, base_pred = np.full(n, np.nan), np.zeros(n, bool), np.zeros(n, bool)
    per_fold = []
    for tr, te in splits:
        arrays = fit_calibrated(f, tr, params)
        prob[te] = predict(arrays, f, te)
        pred[te] = prob[te] >= arrays["scalars"][3]
        t = best_threshold(f.y[tr], -f.compound[tr], -_VADER_THRESHOLDS[::-1])
        base_pred[te] = -f.compound[te] >= t
        per_fold.append(
            {
                "n": len(te),
                "threshold": round(float(arrays["scalars"][3]), 3),
                **({"domain": f.domains[te[0]]} if by_domain else {}),
                "macro_f1": report(f.y[te], pred[te], prob[te])["macro_f1"],
            }
        )
    done = ~np.isnan(prob)
    res = {
        "scheme": "leave-one-domain-out" if by_domain else f"stratified {folds}-fold",
        "model": report(f.y[done], pred[done], prob[done]),
        "vader_baseline": report(f.y[done], base_pred[done], -f.compound[done]),
        "folds": per_fold,
    }
    if f.rule_complaint is not None and f.noise is not None:  # the decision analyse_batch ships
        shipped = ~f.noise & (pred | f.rule_complaint)
        res["model_with_rules"] = report(f.y[done], shipped[done], prob[done])
    return res


@dataclass
class TrainResult:
    """What :func:`train` did: new metrics, the old artifact's, and whether it was written."""

    cv: dict[str, Any]
    lodo: dict[str, Any] | None
    previous_macro_f1: float | None
    replaced: bool
    message: str
    meta: dict[str, Any] = field(default_factory=dict)
    previous_cascade_macro_f1: float | None = None


def _feedback_rows(include_feedback: str | Path | None, feedback: Iterable[tuple[str, int]] | None) -> list[Row]:
    rows = load_rows(include_feedback, domain="feedback") if include_feedback else []
    rows += [Row(text=str(t), label=int(bool(int(y))), domain="feedback") for t, y in (feedback or [])]
    return rows


def train(
    data_path: str | Path,
    include_feedback: str | Path | None = None,
    *,
    feedback: Iterable[tuple[str, int]] | None = None,
    out_dir: str | Path | None = None,
    folds: int = 10,
    lodo: bool = True,
    force: bool = False,
    params: dict[str, Any] | None = None,
) -> TrainResult:
    """Train both tiers on ``data_path`` (CSV/JSONL with text,label[,domain]) plus staff feedback.

    ``include_feedback`` is a CSV/JSONL file of corrections and ``feedback``
    (text, label) pairs; both are added to the training rows. The fast model and
    the encoder tier (:mod:`analysis.train_encoder`) are cross-validated together;
    the new ``folds``-fold CV macro-F1 of the fast model and of the cascade are
    compared with those recorded by the artifacts already in ``out_dir`` (default:
    the shipped ones); if either is more than 0.01 lower the artifacts are kept
    unless ``force``. Returns a :class:`TrainResult`.
    """
    import shutil

    from gripewatch.analysis import encoder as enc_mod
    from gripewatch.analysis import train_encoder as te

    params = {**PARAMS, **(params or {})}
    out = Path(out_dir) if out_dir else model_mod.ARTIFACT_DIR
    rows = load_rows(data_path)
    extra = _feedback_rows(include_feedback, feedback)
    f = featurise(rows + extra)
    emb = te.embed([r.text for r in rows + extra])
    cv = te.cross_validate(f, emb, folds, fast_params=params)
    lodo_res = te.cross_validate(f, emb, by_domain=True, fast_params=params) if lodo else None
    previous = _recorded(out / model_mod.JSON_NAME, "model")
    previous_cascade = _recorded(out / enc_mod.HEAD_NAME, "cascade")
    new, new_cascade = cv["model"]["macro_f1"], cv["cascade"]["macro_f1"]
    worse = [
        f"{name} CV macro-F1 {n:.4f} < {o:.4f} - 0.01"
        for name, n, o in (("fast model", new, previous), ("cascade", new_cascade, previous_cascade))
        if o is not None and n < o - 0.01
    ]
    if worse and not force:
        msg = f"kept the current model: {'; '.join(worse)} (use --force)"
        return TrainResult(cv, lodo_res, previous, False, msg, previous_cascade_macro_f1=previous_cascade)
    tier = te.fit_tier(f, emb, np.arange(len(f.y)), fast_params=params)
    arrays = tier["fast"]
    fb = None
    if extra:
        fb = hashlib.sha256(json.dumps([(r.text, r.label) for r in extra]).encode()).hexdigest()
    vader_t = best_threshold(f.y, -f.compound, -_VADER_THRESHOLDS[::-1])
    training_data = {
        "file": Path(data_path).name,
        "sha256": file_sha256(data_path),
        "rows": len(rows),
        "feedback_rows": len(extra),
        "feedback_sha256": fb,
    }
    meta = {
        "format": 2,
        "model": "NB-weighted logistic regression, word 1-2-grams + dense cues, Platt-calibrated",
        "training_data": training_data,
        "params": params,
        "dense_names": list(DENSE_NAMES),
        "vocabulary_size": int(len(arrays["vocab"])),
        "threshold": round(float(arrays["scalars"][3]), 3),
        "vader_baseline_threshold": -vader_t,
        "cv": _tier_metrics(cv, "model"),
        "lodo": _tier_metrics(lodo_res, "model") if lodo_res else None,
    }
    model_mod.save(arrays, meta, out)
    if out.resolve() != enc_mod.ARTIFACT_DIR.resolve():
        for name in (enc_mod.ONNX_NAME, enc_mod.TOKENIZER_NAME):
            shutil.copyfile(enc_mod.ARTIFACT_DIR / name, out / name)
    head = te.head_artifact(tier)
    head.update(training_data=training_data, cv=cv, lodo=lodo_res)
    enc_mod.save_head(head, out)
    msg = f"wrote {out / model_mod.NPZ_NAME} and {out / enc_mod.HEAD_NAME}: CV macro-F1 fast {new:.4f}" + (
        f" (was {previous:.4f})" if previous is not None else ""
    )
    msg += f", cascade {new_cascade:.4f}" + (f" (was {previous_cascade:.4f})" if previous_cascade is not None else "")
    return TrainResult(cv, lodo_res, previous, True, msg, meta, previous_cascade)


def _recorded(path: Path, tier: str) -> float | None:
    """The CV macro-F1 of ``tier`` recorded in an artifact's JSON, if there is one."""
    try:
        return float(json.loads(path.read_text())["cv"][tier]["macro_f1"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _tier_metrics(res: dict[str, Any], tier: str) -> dict[str, Any]:
    """The fast model's share of a cascade CV result (what ``complaint_model.json`` records)."""
    keep = (tier, "model_with_rules", "vader_baseline")
    return {"scheme": res["scheme"], **{k: res[k] for k in keep if k in res}}


def evaluate(
    rows: Sequence[Row], cv: int = 0, model: model_mod.ComplaintModel | None = None, lodo: bool = False
) -> dict[str, Any]:
    """Metrics of each tier, the cascade and the VADER-only baseline on labelled ``rows``.

    ``cv`` >= 2: cross-validate fresh tiers on ``rows`` (use this for the
    training file -- scoring the artifact on its own training data would flatter
    it); ``lodo``: leave-one-domain-out (with ``cv`` too, the result is
    ``{"cv": ..., "lodo": ...}``). ``cv`` 0 and no ``lodo``: score the shipped
    (or given) artifacts at their threshold; the baseline uses the VADER threshold
    recorded at training time.
    """
    from gripewatch.analysis import complaint
    from gripewatch.analysis import train_encoder as te

    f = featurise(rows)
    if cv >= 2 or lodo:
        emb = te.embed([r.text for r in rows])
        res = {"cv": te.cross_validate(f, emb, cv)} if cv >= 2 else {}
        if lodo:
            res["lodo"] = te.cross_validate(f, emb, by_domain=True)
        return res if len(res) > 1 else next(iter(res.values()))
    m = model or model_mod.default_model()
    texts = [r.text for r in rows]
    vaders = polarity(texts)
    english = f.english.tolist() if f.english is not None else None
    scored = complaint.score(texts, vaders, explain=False, model=m, rescore=english)
    prob = np.array([s.probability for s in scored])
    fast = np.array([s.fast_probability if s.fast_probability is not None else s.probability for s in scored])
    vt = float(m.meta.get("vader_baseline_threshold", -0.05))
    return {
        "scheme": "shipped artifact",
        "threshold": m.threshold,
        "coverage": round(float(np.mean([s.tier == "encoder" for s in scored])), 4) if scored else 0.0,
        "model": report(f.y, fast >= m.threshold, fast),
        "cascade": report(f.y, prob >= m.threshold, prob),
        "vader_baseline": report(f.y, f.compound <= vt, -f.compound),
    }
