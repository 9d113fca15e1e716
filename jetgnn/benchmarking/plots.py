"""Comparison plots of ``jetgnn benchmark``: ROC with seed bands and a ratio panel, scores, training curves,
data-size scan."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from jetgnn.evaluation.plots import _save, new_figure

EFFICIENCIES = np.linspace(0.05, 1.0, 191)


def _rejection_curve(signal: np.ndarray, score: np.ndarray) -> np.ndarray:
    """1/eps_B on the EFFICIENCIES grid (interpolated ROC); NaN where no background passes."""
    fpr, tpr, _ = roc_curve(signal, score)
    eps_b = np.interp(EFFICIENCIES, tpr, fpr)
    with np.errstate(divide="ignore"):
        return np.where(eps_b > 0, 1.0 / np.where(eps_b > 0, eps_b, 1.0), np.nan)


def roc_comparison_plot(signal: np.ndarray, scores: dict[str, list[np.ndarray]], reference: str, path: Path) -> None:
    """Background rejection vs signal efficiency (log y): the mean over seeds with a min-max band per model,
    and below, the ratio of each model's mean to the reference model's."""
    curves = {label: np.array([_rejection_curve(signal, s) for s in seed_scores])
              for label, seed_scores in scores.items()}
    fig, (ax, ratio) = new_figure(2, 1, figsize=(6, 6.5), sharex=True, height_ratios=(3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmean(curves[reference], axis=0)
    for label, curve in curves.items():
        with np.errstate(all="ignore"), warnings.catch_warnings():  # NaN where no background passes
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(curve, axis=0)
            line, = ax.plot(EFFICIENCIES, mean, label=label)
            if len(curve) > 1:
                ax.fill_between(EFFICIENCIES, np.nanmin(curve, axis=0), np.nanmax(curve, axis=0),
                                color=line.get_color(), alpha=0.25, lw=0)
            ratio.plot(EFFICIENCIES, mean / ref, color=line.get_color())
    ax.set(ylabel="background rejection 1/eps_B", yscale="log", title="mean over seeds, band: min-max")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ratio.set(xlabel="signal efficiency", ylabel=f"ratio to {reference}", xlim=(0, 1))
    ratio.axhline(1, color="grey", lw=1)
    ratio.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def score_grid_plot(signal: np.ndarray, scores: dict[str, np.ndarray], path: Path) -> None:
    """Signal and background score distributions of each model's seed ensemble."""
    n = len(scores)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = new_figure(rows, cols, figsize=(4 * cols, 3.3 * rows), squeeze=False)
    bins = np.linspace(0, 1, 41)
    for ax, (label, score) in zip(axes.ravel(), scores.items(), strict=False):
        ax.hist(score[~signal], bins=bins, histtype="step", density=True, label="background")
        ax.hist(score[signal], bins=bins, histtype="step", density=True, label="signal")
        ax.set(title=f"{label} (ensemble)", xlabel="score", yscale="log")
        ax.legend(fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    _save(fig, path)


def training_curves_plot(histories: dict[str, list[list[dict]]], path: Path) -> None:
    """Validation loss per epoch, mean over seeds, per model."""
    fig, ax = new_figure(figsize=(6, 4.5))
    for label, seed_histories in histories.items():
        n_epochs = min(len(h) for h in seed_histories)
        if n_epochs == 0:
            continue
        values = np.array([[row.get("val_loss") or np.nan for row in h[:n_epochs]] for h in seed_histories])
        ax.plot(np.arange(n_epochs), np.nanmean(values, axis=0), marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="validation loss (mean over seeds)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def size_scan_plot(scan: dict, path: Path) -> None:
    """1 - AUC vs the number of training jets on log axes, with the power-law fit."""
    n = np.array([p["n_train_jets"] for p in scan["points"]], dtype=np.float64)
    one_minus = 1 - np.array([p["auc"] for p in scan["points"]])
    fig, ax = new_figure(figsize=(5.5, 4.5))
    ax.plot(n, one_minus, "o", label=scan["model"])
    if scan["fit"]:
        grid = np.geomspace(n.min(), n.max(), 50)
        ax.plot(grid, scan["fit"]["a"] * grid ** scan["fit"]["b"], "--",
                label=f"fit: 1 - AUC = {scan['fit']['a']:.3g} N^{scan['fit']['b']:.2f}")
    ax.set(xscale="log", yscale="log", xlabel="training jets N", ylabel="1 - AUC")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)
