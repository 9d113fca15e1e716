"""Tagger metrics as the field reports them (SPEC §7): AUC, accuracy, background rejection 1/eps_B at fixed
signal efficiency from the interpolated ROC curve (Top Tagging landscape paper, ParT)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


def rejection_at(y_true: np.ndarray, score: np.ndarray, efficiency: float) -> float:
    """Background rejection 1/eps_B at signal efficiency ``efficiency`` (linear interpolation of the ROC).

    Returns inf when no background passes at that efficiency.
    """
    fpr, tpr, _ = roc_curve(y_true, score)
    eps_b = float(np.interp(efficiency, tpr, fpr))
    return float("inf") if eps_b <= 0 else 1.0 / eps_b


def binary_metrics(y_true: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """auc, accuracy (score > 0.5), rejection_at_30 / rejection_at_50 and n_jets for signal = class 1."""
    y_true = np.asarray(y_true).astype(int)
    score = np.asarray(score, dtype=np.float64)
    if len(np.unique(y_true)) < 2:
        raise ValueError("metrics need jets of both classes")
    return {
        "auc": float(roc_auc_score(y_true, score)),
        "accuracy": float(np.mean((score > 0.5) == (y_true == 1))),
        "rejection_at_30": rejection_at(y_true, score, 0.3),
        "rejection_at_50": rejection_at(y_true, score, 0.5),
        "n_jets": int(len(y_true)),
    }


def multiclass_metrics(y_true: np.ndarray, probabilities: np.ndarray, label_names: list[str]) -> dict[str, float]:
    """Binary metrics of the last class against all others (e.g. b vs light+c), plus overall accuracy and
    one-vs-one AUCs ``auc_<last>_vs_<other>``."""
    y_true = np.asarray(y_true).astype(int)
    signal = probabilities.shape[1] - 1
    out = binary_metrics(y_true == signal, probabilities[:, signal])
    out["accuracy"] = float(np.mean(probabilities.argmax(1) == y_true))
    for k, name in enumerate(label_names[:-1]):
        sel = (y_true == signal) | (y_true == k)
        pair = probabilities[sel][:, [k, signal]]
        out[f"auc_{label_names[-1]}_vs_{name}"] = float(roc_auc_score(y_true[sel] == signal,
                                                                      pair[:, 1] / pair.sum(1).clip(1e-12)))
    return out
