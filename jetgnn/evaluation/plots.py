"""Standard plots of a run: ROC (background rejection vs signal efficiency), score distributions, losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from jetgnn.utils.files import atomic_path


def new_figure(*args, figsize: tuple[float, float], **kwargs):
    """(Figure, axes) without pyplot: the package's plots never switch or use the caller's backend (a notebook's
    inline plots keep working) and leave no open figures behind. Arguments as for ``Figure.subplots``."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def _save(fig, path: Path) -> None:
    """Write a figure atomically (temporary file in the same folder, then rename)."""
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)


def roc_plot(y_true, score, path: Path, label: str = "") -> None:
    fpr, tpr, _ = roc_curve(y_true, score)
    keep = (fpr > 0) & (tpr > 0.05)
    fig, ax = new_figure(figsize=(5.5, 4.5))
    ax.plot(tpr[keep], 1.0 / fpr[keep], label=label)
    ax.set(xlabel="signal efficiency", ylabel="background rejection 1/eps_B", yscale="log", xlim=(0, 1))
    for eff in (0.3, 0.5):
        ax.axvline(eff, color="grey", ls=":", lw=1)
    if label:
        ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _save(fig, path)


def scores_plot(y_true, score, label_names, path: Path) -> None:
    fig, ax = new_figure(figsize=(5.5, 4.5))
    bins = np.linspace(0, 1, 41)
    for k, name in enumerate(label_names):
        ax.hist(score[y_true == k], bins=bins, histtype="step", density=True, lw=1.5, label=name)
    ax.set(xlabel=f"tagger score ({label_names[-1]})", ylabel="density", yscale="log")
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def loss_plot(history: list[dict], path: Path) -> None:
    fig, ax = new_figure(figsize=(5.5, 4.5))
    epochs = [row["epoch"] for row in history]
    for key in ("train_loss", "val_loss"):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax.plot(epochs, values, marker="o", label=key)
    ax.set(xlabel="epoch", ylabel="cross-entropy loss")
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
