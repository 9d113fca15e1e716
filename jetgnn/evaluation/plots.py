"""Standard plots of a run: ROC (background rejection vs signal efficiency, with its binomial band) and score
distributions, in the mplhep style of ``jetgnn.utils.plotting``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_curve

from jetgnn.evaluation.metrics import binomial_rejection
from jetgnn.utils.plotting import EFFICIENCY_LABEL, REJECTION_LABEL, figure


def roc_plot(y_true, score, path: Path, label: str = "") -> None:
    """1/eps_B vs eps_S (log scale) with a band of +-1 binomial standard deviation of the rejection."""
    y_true = np.asarray(y_true).astype(bool)
    fpr, tpr, _ = roc_curve(y_true, score)
    keep = (fpr > 0) & (tpr > 0.05)
    rejection, sigma = binomial_rejection(fpr[keep], int((~y_true).sum()))
    with figure(path) as (_, ax):
        line, = ax.plot(tpr[keep], rejection, label=label or None)
        ax.fill_between(tpr[keep], np.maximum(rejection - sigma, 1.0), rejection + sigma, color=line.get_color(),
                        alpha=0.25, lw=0, label="binomial uncertainty")
        ax.set(xlabel=EFFICIENCY_LABEL, ylabel=REJECTION_LABEL, yscale="log", xlim=(0, 1))
        for eff in (0.3, 0.5):
            ax.axvline(eff, color="grey", ls=":", lw=1)
        ax.legend()
        ax.grid(alpha=0.3, which="both")


def scores_plot(y_true, score, label_names, path: Path) -> None:
    with figure(path) as (_, ax):
        bins = np.linspace(0, 1, 41)
        for k, name in enumerate(label_names):
            if (y_true == k).any():  # evaluation data may lack a class
                ax.hist(score[y_true == k], bins=bins, histtype="step", density=True, lw=1.5, label=name)
        ax.set(xlabel=f"tagger score ({label_names[-1]})", ylabel="density", yscale="log")
        ax.legend()


def confusion_matrix_plot(confusion: np.ndarray, names, path: Path, xlabel: str = "predicted class",
                          ylabel: str = "true class", title: str = "row-normalised") -> None:
    """Row-normalised confusion matrix (rows: truth, with their counts; columns: prediction) as a png."""
    confusion = np.asarray(confusion)
    rows = confusion.sum(1, keepdims=True)
    fraction = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    size = max(5.0, 1.1 * len(names) + 2.5)
    with figure(path, figsize=(size + 1.5, size)) as (fig, ax):
        image = ax.imshow(fraction, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{fraction[i, j]:.2f}", ha="center", va="center",
                        color="white" if fraction[i, j] > 0.6 else "black", fontsize=11)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), [f"{n} ({int(c)})" for n, c in zip(names, rows[:, 0], strict=True)])
        ax.minorticks_off()
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        fig.colorbar(image, ax=ax)
