"""Comparison plots of ``jetgnn benchmark``: ROC with binomial bands and a ratio panel with the seed spread,
scores, training curves, data-size scan."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from jetgnn.evaluation.metrics import binomial_rejection
from jetgnn.utils.plotting import EFFICIENCY_LABEL, REJECTION_LABEL, figure

EFFICIENCIES = np.linspace(0.05, 1.0, 191)


def _rejection_curve(signal: np.ndarray, score: np.ndarray) -> np.ndarray:
    """1/eps_B on the EFFICIENCIES grid (interpolated ROC); NaN where no background passes."""
    fpr, tpr, _ = roc_curve(signal, score)
    eps_b = np.interp(EFFICIENCIES, tpr, fpr)
    with np.errstate(divide="ignore"):
        return np.where(eps_b > 0, 1.0 / np.where(eps_b > 0, eps_b, 1.0), np.nan)


def roc_comparison_plot(signal: np.ndarray, scores: dict[str, list[np.ndarray]], reference: str, path: Path) -> None:
    """Background rejection vs signal efficiency (log y): the mean over seeds with a band of +-1 binomial standard
    deviation (N_B background jets), and below, the ratio of each model's mean to the reference model's with the
    min-max band over seeds."""
    n_background = int((~np.asarray(signal, dtype=bool)).sum())
    curves = {label: np.array([_rejection_curve(signal, s) for s in seed_scores])
              for label, seed_scores in scores.items()}
    with figure(path, 2, 1, figsize=(8, 9), sharex=True, height_ratios=(3, 1)) as (_, (ax, ratio)), \
            np.errstate(all="ignore"), warnings.catch_warnings():  # NaN where no background passes
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = np.nanmean(curves[reference], axis=0)
        for label, curve in curves.items():
            mean = np.nanmean(curve, axis=0)
            _, sigma = binomial_rejection(1.0 / mean, n_background)
            line, = ax.plot(EFFICIENCIES, mean, label=label)
            ax.fill_between(EFFICIENCIES, np.maximum(mean - sigma, 1.0), mean + sigma, color=line.get_color(),
                            alpha=0.25, lw=0)
            ratio.plot(EFFICIENCIES, mean / ref, color=line.get_color())
            if len(curve) > 1:
                ratio.fill_between(EFFICIENCIES, np.nanmin(curve, axis=0) / ref, np.nanmax(curve, axis=0) / ref,
                                   color=line.get_color(), alpha=0.2, lw=0)
        ax.set(ylabel=REJECTION_LABEL, yscale="log", title="mean over seeds; band: binomial uncertainty")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        ratio.set(xlabel=EFFICIENCY_LABEL, ylabel=f"ratio to {reference}", xlim=(0, 1))
        ratio.axhline(1, color="grey", lw=1)
        ratio.grid(alpha=0.3)


def score_grid_plot(signal: np.ndarray, scores: dict[str, np.ndarray], path: Path) -> None:
    """Signal and background score distributions of each model's seed ensemble."""
    n = len(scores)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    with figure(path, rows, cols, figsize=(6 * cols, 5 * rows), squeeze=False) as (_, axes):
        bins = np.linspace(0, 1, 41)
        for ax, (label, score) in zip(axes.ravel(), scores.items(), strict=False):
            ax.hist(score[~signal], bins=bins, histtype="step", density=True, label="background")
            ax.hist(score[signal], bins=bins, histtype="step", density=True, label="signal")
            ax.set(title=f"{label} (ensemble)", xlabel="score", yscale="log")
            ax.legend(fontsize=12)
        for ax in axes.ravel()[n:]:
            ax.set_visible(False)


def training_curves_plot(histories: dict[str, list[list[dict]]], path: Path) -> None:
    """Validation loss per epoch, mean over seeds, per model."""
    with figure(path) as (_, ax):
        for label, seed_histories in histories.items():
            n_epochs = min(len(h) for h in seed_histories)
            if n_epochs == 0:
                continue
            values = np.array([[row.get("val_loss") or np.nan for row in h[:n_epochs]] for h in seed_histories])
            ax.plot(np.arange(n_epochs), np.nanmean(values, axis=0), marker="o", label=label)
        ax.set(xlabel="epoch", ylabel="validation loss (mean over seeds)")
        ax.legend()
        ax.grid(alpha=0.3)


def size_scan_plot(scans, path: Path) -> None:
    """1 - AUC vs the number of training jets on log axes, one colour per scanned model, with the power-law
    fits (``scans``: one scan dict or a list of them)."""
    scans = [scans] if isinstance(scans, dict) else list(scans)
    with figure(path) as (_, ax):
        for k, scan in enumerate(scans):
            n = np.array([p["n_train_jets"] for p in scan["points"]], dtype=np.float64)
            one_minus = 1 - np.array([p["auc"] for p in scan["points"]])
            ax.plot(n, one_minus, "o", color=f"C{k}", label=scan["model"])
            if scan["fit"]:
                grid = np.geomspace(n.min(), n.max(), 50)
                ax.plot(grid, scan["fit"]["a"] * grid ** scan["fit"]["b"], "--", color=f"C{k}",
                        label=f"fit: {scan['fit']['a']:.3g} N^{scan['fit']['b']:.2f}")
        ax.set(xscale="log", yscale="log", xlabel="training jets N", ylabel="1 - AUC")
        ax.legend(fontsize=10 if len(scans) > 2 else None)
        ax.grid(alpha=0.3, which="both")
