"""Binary classification metrics in numpy (no scikit-learn needed to evaluate)."""

from __future__ import annotations

from typing import Any

import numpy as np


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN with one class only."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    uniq, inv, counts = np.unique(score, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0  # 1-based average rank of each distinct score
    ranks = avg_rank[inv]
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean of the F1 of the positive and of the negative class."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    tp = int((y & pred).sum())
    tn = int((~y & ~pred).sum())
    fp = int((~y & pred).sum())
    fn = int((y & ~pred).sum())
    return (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2.0


def report(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Precision, recall and F1 of the complaint class, macro-F1, accuracy, ROC AUC, confusion matrix."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    tp = int((y & pred).sum())
    tn = int((~y & ~pred).sum())
    fp = int((~y & pred).sum())
    fn = int((y & ~pred).sum())
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "f1": round(_f1(tp, fp, fn), 4),
        "macro_f1": round(macro_f1(y, pred), 4),
        "accuracy": round((tp + tn) / len(y), 4) if len(y) else 0.0,
        "roc_auc": round(roc_auc(y, score), 4),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def best_threshold(y: np.ndarray, score: np.ndarray, grid: np.ndarray) -> float:
    """The threshold in ``grid`` (predict ``score >= t``) with the highest macro-F1.

    Ties go to the middle of the best run, so the choice is stable.
    """
    vals = np.array([macro_f1(y, score >= t) for t in grid])
    best = np.flatnonzero(vals >= vals.max() - 1e-12)
    return float(grid[best[len(best) // 2]])
