"""Per-epoch history (history.csv) of a run, and its loss plot."""

from __future__ import annotations

import csv
from pathlib import Path

from jetgnn.utils.files import atomic_path
from jetgnn.utils.plotting import figure

COLUMNS = ("epoch", "train_loss", "val_loss", "val_auc", "train_jets_per_s", "lr")


def read_history(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return [{k: (float(v) if v not in ("", None) and k != "epoch" else (int(v) if k == "epoch" else None))
                 for k, v in row.items()} for row in csv.DictReader(f)]


def write_history(path: Path, rows: list[dict]) -> None:
    """The COLUMNS, then any other column a row has (e.g. the terms of an anomaly model's loss), in order."""
    extra = list(dict.fromkeys(k for row in rows for k in row if k not in COLUMNS))
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*COLUMNS, *extra])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in (*COLUMNS, *extra)})


def loss_plot(history: list[dict], path: Path, ylabel: str = "loss") -> None:
    """Training and validation loss per epoch."""
    with figure(path) as (_, ax):
        epochs = [row["epoch"] for row in history]
        for key in ("train_loss", "val_loss"):
            values = [row.get(key) for row in history]
            if any(v is not None for v in values):
                ax.plot(epochs, values, marker="o", label=key.replace("_", " "))
        ax.set(xlabel="epoch", ylabel=ylabel)
        ax.legend()
