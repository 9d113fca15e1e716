"""Lightning callbacks of a training run: the datasets' epoch, throughput, the per-epoch history.csv and pruning."""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.nn.utils.prune
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, ModelPruning

from jetgnn.training.history import read_history, write_history
from jetgnn.utils.malloc import release_free_memory


def _train_datasets(trainer) -> list:
    loaders = trainer.train_dataloader
    if loaders is None:
        return []
    loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
    return [loader.dataset for loader in loaders if hasattr(loader, "dataset")]


class DatasetEpoch(L.Callback):
    """Sets the epoch of the training datasets from ``trainer.current_epoch`` before every epoch.

    Lightning calls ``set_epoch`` only on samplers, never on an IterableDataset; a counter inside the dataset
    would advance only in a DataLoader worker's copy (every epoch would repeat the first order) and would
    restart at 0 after ``--resume``. (The datamodule's loader also starts its workers only once the epoch is
    settled: ``jetgnn.datasets.datamodule.EpochLoader``.)
    """

    def on_train_epoch_start(self, trainer, pl_module):
        for dataset in _train_datasets(trainer):
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(trainer.current_epoch)


class EpochSeed(L.Callback):
    """Seeds torch's random numbers (dropout, random augmentations on the main process) from (seed, epoch) at the
    start of every epoch, so that a run resumed from an epoch's checkpoint continues exactly as the uninterrupted
    run (Lightning's checkpoints do not hold the random state)."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def on_train_epoch_start(self, trainer, pl_module):
        state = np.random.SeedSequence([self.seed, trainer.current_epoch, trainer.global_rank]).generate_state(2)
        torch.manual_seed(int(state[0]) << 32 | int(state[1]))


class ReleaseFreeMemory(L.Callback):
    """After a training batch, at most once per ``interval_s`` seconds, returns the heap's free pages to the OS
    when more than ``keep`` bytes are free (:func:`jetgnn.utils.malloc.release_free_memory`); not added to any
    training by default (with it, a DDP-with-workers streaming test hung once, cause unknown).
    Measured before the heap growth of streaming training was traced to oneDNN's primitive cache (now switched off
    by :func:`jetgnn.utils.malloc.tune_malloc`): a streaming PFN training grew to 2.5 GB over 200,000 jets with
    265 MB really in use (benchmarks/streaming_memory.py). Measured peaks on 2 cores then (PFN,
    200,000 jets, one epoch): none 2,544 MB at ~3,300 jets/s; every 2 s (the default) 2,000 MB at 3,061; every
    0.5 s 1,505 MB at 2,393; after every batch 1,258 MB at 1,557 (the pages fault in again)."""

    def __init__(self, keep: int = 256 * 2**20, interval_s: float = 2.0):
        self.keep, self.interval_s = int(keep), float(interval_s)
        self._last = time.monotonic()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            release_free_memory(self.keep)


def _n_jets(batch) -> int:
    return batch[0].num_graphs if isinstance(batch, (list, tuple)) else batch.num_graphs  # view pairs: one view


class JetThroughput(L.Callback):
    """Logs ``train_jets_per_s``: training jets per second of wall time over each epoch (data loading, forward,
    backward and optimiser steps; validation excluded), summed over DDP ranks."""

    def on_train_epoch_start(self, trainer, pl_module):
        self._jets, self._start = 0, time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._jets += _n_jets(batch)

    def on_validation_start(self, trainer, pl_module):
        self._paused = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        if hasattr(self, "_start") and hasattr(self, "_paused"):
            self._start += time.perf_counter() - self._paused

    def on_train_epoch_end(self, trainer, pl_module):
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        pl_module.log("train_jets_per_s", self._jets / elapsed, on_step=False, on_epoch=True, sync_dist=True,
                      reduce_fx="sum")


class FitClock(L.Callback):
    """Wall time of the whole fit in seconds, carried in the checkpoints: a run resumed from ``last.ckpt`` reports
    the time of every process that trained it (``train_time_s``), not only its own. Time after the last saved
    checkpoint of an interrupted process is not counted (that work is redone)."""

    def __init__(self):
        self.before_s = 0.0  # wall time of the earlier processes, up to the checkpoint resumed from
        self._start = time.perf_counter()  # this process: from the clock's creation, just before the fit

    @property
    def elapsed_s(self) -> float:
        return self.before_s + time.perf_counter() - self._start

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s}

    def load_state_dict(self, state_dict: dict) -> None:
        self.before_s = float(state_dict.get("elapsed_s", 0.0))


class History(L.Callback):
    """history.csv: one row per epoch of the metrics the module and :class:`JetThroughput` log (mean training
    loss, validation loss and AUC, jets/s) and the learning rate. On resume the rows of finished epochs are kept.
    Every rank reads the (synchronised) metrics; rank 0 writes."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_train_epoch_end(self, trainer, pl_module):
        metrics = trainer.callback_metrics
        values = {key: float(metrics[key]) if key in metrics else None
                  for key in ("train_loss", "val_loss", "val_auc", "train_jets_per_s")}
        values.update({key: float(value) for key, value in metrics.items()  # e.g. the terms of anomaly losses
                       if key.startswith(("train_", "val_")) and key not in values and value.numel() == 1})
        if not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        rows = [row for row in read_history(self.path) if row["epoch"] < epoch]
        rows.append({"epoch": epoch, **values,
                     "lr": trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None})
        write_history(self.path, rows)


def prunable_weights(model: torch.nn.Module) -> list[tuple[torch.nn.Module, str]]:
    """The (module, "weight") pairs that magnitude pruning acts on: every Linear and convolution, except the output
    projections of ``nn.MultiheadAttention``, which it reads without calling them (a pruning mask would never be
    re-applied)."""
    attention = {id(m.out_proj) for m in model.modules() if isinstance(m, torch.nn.MultiheadAttention)}
    return [(m, "weight") for m in model.modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)) and id(m) not in attention]


class Pruning(ModelPruning):
    """Global magnitude (L1) pruning on Lightning's ``ModelPruning`` with the schedule of ``training.prune``.

    A step happens at the start of each epoch of :meth:`PruneConfig.step_epochs` (so the epoch's training is
    fine-tuning and its validation loss is that of the pruned network), removing the same fraction of the
    remaining weights each time. After every step the best-checkpoint tracking and early stopping start over, so
    ``best.ckpt`` is always a network at the final sparsity. Checkpoints hold plain weights with zeros (Lightning
    makes the masks permanent when saving); a resumed run takes its masks back from those zeros.
    """

    def __init__(self, prune):
        self.schedule = prune
        super().__init__(pruning_fn="l1_unstructured", amount=prune.step_fraction(), use_global_unstructured=True,
                         apply_pruning=lambda epoch: epoch in prune.step_epochs(), make_pruning_permanent=True,
                         prune_on_train_epoch_end=False, verbose=0)

    def filter_parameters_to_prune(self, parameters_to_prune=()):
        return [(module, name) for module, name in parameters_to_prune if name == "weight"]

    def setup(self, trainer, pl_module, stage):
        self._parameters_to_prune = prunable_weights(pl_module)
        super().setup(trainer, pl_module, stage)

    def on_train_start(self, trainer, pl_module):
        if trainer.current_epoch > self.schedule.start_epoch:  # resumed after a pruning step: masks from the zeros
            for module, name in self._parameters_to_prune:
                torch.nn.utils.prune.custom_from_mask(module, name, getattr(module, name) != 0)

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch not in self.schedule.step_epochs():
            return
        self._run_pruning(trainer.current_epoch)
        for callback in trainer.callbacks:
            if isinstance(callback, ModelCheckpoint):
                callback.best_k_models, callback.kth_best_model_path, callback.best_model_path = {}, "", ""
                callback.best_model_score = None
                callback.kth_value = torch.tensor(float("inf") if callback.mode == "min" else -float("inf"))
            elif isinstance(callback, EarlyStopping):
                callback.wait_count = 0
                callback.best_score = torch.tensor(float("inf") if callback.mode == "min" else -float("inf"))

    def on_validation_epoch_end(self, trainer, pl_module):
        """(Pruning happens at the start of an epoch, not after its validation.)"""

    def on_train_epoch_end(self, trainer, pl_module):
        """(As above.)"""


def sparsity(model: torch.nn.Module) -> float:
    """Fraction of zero weights among the prunable weights (:func:`prunable_weights`)."""
    weights = [getattr(m, name) for m, name in prunable_weights(model)]
    total = sum(w.numel() for w in weights)
    return float(sum((w == 0).sum().item() for w in weights) / max(total, 1))
