"""Per-epoch history (history.csv) written atomically after every validation epoch."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import lightning as L

from jetgnn.utils.files import atomic_path

COLUMNS = ("epoch", "train_loss", "val_loss", "val_auc", "train_jets_per_s", "lr")


def read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: (float(v) if v not in ("", None) and k != "epoch" else (int(v) if k == "epoch" else None))
                 for k, v in row.items()} for row in csv.DictReader(f)]


def write_history(path: Path, rows: list[dict]) -> None:
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in COLUMNS})


class HistoryCallback(L.Callback):
    """One row per epoch: mean training loss and training jets/s (measured here), validation loss and AUC
    (from the module's logs). On resume the rows of finished epochs are kept."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._loss_sum = 0.0
        self._jets = 0
        self._start = 0.0

    def on_train_epoch_start(self, trainer, module):
        self._loss_sum, self._jets, self._start = 0.0, 0, time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        n_jets = batch[0].num_graphs if isinstance(batch, (list, tuple)) else batch.num_graphs  # view pairs
        self._loss_sum += float(loss) * n_jets
        self._jets += n_jets

    def on_train_epoch_end(self, trainer, module):
        if not trainer.is_global_zero:
            return
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        metrics = trainer.callback_metrics
        epoch = trainer.current_epoch
        rows = [row for row in read_history(self.path) if row["epoch"] < epoch]
        rows.append({
            "epoch": epoch,
            "train_loss": self._loss_sum / max(self._jets, 1),
            "val_loss": float(metrics["val_loss"]) if "val_loss" in metrics else None,
            "val_auc": float(metrics["val_auc"]) if "val_auc" in metrics else None,
            "train_jets_per_s": self._jets / elapsed,
            "lr": trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None,
        })
        write_history(self.path, rows)
