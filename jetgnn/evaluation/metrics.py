"""Tagger metrics as the field reports them (SPEC §7): AUC, accuracy, background rejection 1/eps_B at fixed
signal efficiency from the interpolated ROC curve (Top Tagging landscape paper, ParT), with its binomial
uncertainty and the number of background jets it rests on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


@dataclass(frozen=True)
class Rejection:
    """Background rejection 1/eps_B at a signal efficiency.

    value : 1/eps_B (inf when no background passes); uncertainty : its binomial standard deviation
    sigma(eps_B) / eps_B^2 with sigma(eps_B) = sqrt(eps_B (1 - eps_B) / N_B) (None when no background passes);
    n_background : background jets passing, eps_B N_B (from the interpolated ROC, so not always whole).
    """

    value: float
    uncertainty: float | None
    n_background: float

    def entries(self, key: str) -> dict[str, float | None]:
        """``{key: value, key_uncertainty: ..., key_n_background: ...}`` for metrics.json."""
        return {key: self.value, f"{key}_uncertainty": self.uncertainty, f"{key}_n_background": self.n_background}


def binomial_rejection(eps_b, n_background: int):
    """(1/eps_B, its binomial standard deviation) for background efficiencies ``eps_b`` (array or float) of
    ``n_background`` jets; inf / NaN where eps_B = 0."""
    eps_b = np.asarray(eps_b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(eps_b > 0, 1.0 / eps_b, np.inf)
        sigma = np.where(eps_b > 0, np.sqrt(eps_b * (1 - eps_b) / max(n_background, 1)) / eps_b**2, np.nan)
    return value, sigma


def background_rejection(y_true: np.ndarray, score: np.ndarray, efficiency: float) -> Rejection:
    """Background rejection at signal efficiency ``efficiency`` (linear interpolation of the ROC), with its
    binomial uncertainty; signal = ``y_true`` true / 1."""
    y_true = np.asarray(y_true).astype(bool)
    fpr, tpr, _ = roc_curve(y_true, score)
    eps_b = float(np.interp(efficiency, tpr, fpr))
    n_background = int((~y_true).sum())
    value, sigma = binomial_rejection(eps_b, n_background)
    return Rejection(float(value), float(sigma) if eps_b > 0 else None, eps_b * n_background)


def rejection_at(y_true: np.ndarray, score: np.ndarray, efficiency: float) -> float:
    """Background rejection 1/eps_B at signal efficiency ``efficiency``; inf when no background passes."""
    return background_rejection(y_true, score, efficiency).value


def binary_metrics(y_true: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """auc, accuracy (score > 0.5), rejection_at_30 / rejection_at_50 (each with ``_uncertainty`` and
    ``_n_background``) and n_jets for signal = class 1."""
    y_true = np.asarray(y_true).astype(int)
    score = np.asarray(score, dtype=np.float64)
    if len(np.unique(y_true)) < 2:
        raise ValueError("metrics need jets of both classes")
    out = {
        "auc": float(roc_auc_score(y_true, score)),
        "accuracy": float(np.mean((score > 0.5) == (y_true == 1))),
    }
    for efficiency in (30, 50):
        out.update(background_rejection(y_true, score, efficiency / 100).entries(f"rejection_at_{efficiency}"))
    out["n_jets"] = int(len(y_true))
    return out


#: signal scores at which data without every class reports the fraction of jets above (efficiency at a score)
SCORE_THRESHOLDS = (0.1, 0.5, 0.9)


def class_counts_text(counts, label_names) -> str:
    """``"500 QCD, 0 Tbqq"``."""
    return ", ".join(f"{int(n)} {name}" for n, name in zip(counts, label_names, strict=True))


def score_metrics(y_true: np.ndarray, probabilities: np.ndarray, label_names: list[str]) -> dict:
    """What jets of only some classes tell (no AUC or rejection, which need every class): ``n_jets``,
    ``accuracy`` (each jet's predicted class is its label), and per present class ``n_<class>``, the mean and
    10/50/90% quantiles of the signal score (the last class's probability; the score of binary taggers),
    ``score_mean_<class>``, ``score_q10_<class>`` ..., and the fraction of its jets above each of
    :data:`SCORE_THRESHOLDS`, ``efficiency_<class>_at_score_0.5`` ...; ``auc`` is None and ``note`` says why.

    Shapes: y_true [n] class indices; probabilities [n] (binary) or [n, n_classes]."""
    y_true = np.asarray(y_true).astype(int)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        signal, predicted = probabilities, (probabilities > 0.5).astype(int)
    else:
        signal, predicted = probabilities[:, -1], probabilities.argmax(1)
    counts = np.bincount(y_true, minlength=len(label_names))
    out: dict = {"auc": None, "note": f"AUC and background rejection need jets of every class (found "
                                      f"{class_counts_text(counts, label_names)}); score distributions and "
                                      f"efficiencies at fixed scores only",
                 "n_jets": int(len(y_true)), "accuracy": float(np.mean(predicted == y_true))}
    for k, name in enumerate(label_names):
        score = signal[y_true == k]
        if not len(score):
            continue
        out[f"n_{name}"] = int(len(score))
        out[f"score_mean_{name}"] = float(score.mean())
        for q in (10, 50, 90):
            out[f"score_q{q}_{name}"] = float(np.percentile(score, q))
        for threshold in SCORE_THRESHOLDS:
            out[f"efficiency_{name}_at_score_{threshold:g}"] = float(np.mean(score > threshold))
    return out


def multiclass_metrics(y_true: np.ndarray, probabilities: np.ndarray, label_names: list[str]) -> dict[str, float]:
    """Binary metrics of the last class against all others (e.g. b vs light+c), plus overall accuracy, the
    one-vs-rest AUC of every class ``auc_<class>_vs_rest``, one-vs-one AUCs ``auc_<last>_vs_<other>`` and the
    ``confusion_matrix`` (rows: true class, columns: arg-max prediction, counts)."""
    y_true = np.asarray(y_true).astype(int)
    signal = probabilities.shape[1] - 1
    out = binary_metrics(y_true == signal, probabilities[:, signal])
    out["accuracy"] = float(np.mean(probabilities.argmax(1) == y_true))
    for k, name in enumerate(label_names):
        if 0 < (y_true == k).sum() < len(y_true):
            out[f"auc_{name}_vs_rest"] = float(roc_auc_score(y_true == k, probabilities[:, k]))
    n = len(label_names)
    out["confusion_matrix"] = np.bincount(y_true * n + probabilities.argmax(1), minlength=n * n).reshape(n, n).tolist()
    for k, name in enumerate(label_names[:-1]):
        if not (y_true == k).any():  # a class without jets in these data
            continue
        sel = (y_true == signal) | (y_true == k)
        pair = probabilities[sel][:, [k, signal]]
        out[f"auc_{label_names[-1]}_vs_{name}"] = float(roc_auc_score(y_true[sel] == signal,
                                                                      pair[:, 1] / pair.sum(1).clip(1e-12)))
    return out


#: charm fraction in the b-tagging discriminant D_b (ATLAS DL1/GN1 convention)
CHARM_FRACTION = 0.05


def flavour_metrics(y_true: np.ndarray, probabilities: np.ndarray, label_names: list[str],
                    b_efficiencies: tuple[float, ...] = (0.7, 0.85),
                    charm_fraction: float = CHARM_FRACTION) -> dict[str, float]:
    """Light and c rejection at fixed b-jet efficiencies with the discriminant
    D_b = ln(p_b / (f_c p_c + (1 - f_c) p_light)): ``rejection_light_at_70``, ``rejection_c_at_70`` (and at 85%,
    where hadron-level light rejections are not limited by the number of light jets), each with ``_uncertainty``
    and ``_n_background``. Empty unless the classes include light, c and b."""
    if not {"light", "c", "b"} <= set(label_names):
        return {}
    y_true = np.asarray(y_true).astype(int)
    i_light, i_c, i_b = (label_names.index(n) for n in ("light", "c", "b"))
    p = np.clip(probabilities, 1e-12, None)
    d_b = np.log(p[:, i_b] / (charm_fraction * p[:, i_c] + (1 - charm_fraction) * p[:, i_light]))
    out = {}
    for efficiency in b_efficiencies:
        tag = int(round(100 * efficiency))
        for name, k in (("light", i_light), ("c", i_c)):
            sel = (y_true == i_b) | (y_true == k)
            if len(np.unique(y_true[sel])) == 2:
                rejection = background_rejection(y_true[sel] == i_b, d_b[sel], efficiency)
                out.update(rejection.entries(f"rejection_{name}_at_{tag}"))
    return out
