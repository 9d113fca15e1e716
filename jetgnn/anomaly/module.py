"""Lightning module of anomaly training: an anomaly model (injected) trained on background batches.

Logged per epoch: ``train_loss`` and the model's other terms (``train_reconstruction``, ``train_kl``,
``train_energy_pos``, ``train_energy_neg``, chain acceptance rates ...), ``val_loss`` (the model's loss on the
validation background; for the NAE the label-free selection value of
:meth:`~jetgnn.models.anomaly.base.AnomalyModel.selection_value`) and ``val_score`` (mean validation score).
"""

from __future__ import annotations

import lightning as L
import torch

from jetgnn.anomaly.config import AnomalyConfig
from jetgnn.models.anomaly import AnomalyModel
from jetgnn.training.module import configure_optimizer


class AnomalyModule(L.LightningModule):
    def __init__(self, model: AnomalyModel, config: AnomalyConfig, anomaly: dict, steps_per_epoch: int,
                 input_ranges: dict | None = None):
        super().__init__()
        self.save_hyperparameters({"config": config.to_dict(), "anomaly": anomaly, "steps_per_epoch": steps_per_epoch,
                                   "input_ranges": input_ranges or {}})
        self.model, self.cfg = model, config
        self._train_terms: dict[str, list[float]] = {}
        self._val: list[tuple[float, float, int]] = []

    def on_train_epoch_start(self):
        self.model.on_epoch(self.current_epoch)
        self._train_terms = {}

    def training_step(self, batch, batch_idx):
        out = self.model.loss(batch.model_input, batch.mass)
        n = batch.num_graphs
        self.log("train_loss", out["loss"], on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        for key, value in out.items():
            if key != "loss":
                self.log(f"train_{key}", value, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
                self._train_terms.setdefault(key, []).append(float(value))
        return out["loss"]

    def validation_step(self, batch, batch_idx):
        with torch.no_grad():
            score = self.model.score(batch.model_input)
            loss = self.model.validation_loss(batch.model_input, batch.mass)
        self._val.append((float(loss) * batch.num_graphs, float(score.sum()), batch.num_graphs))

    def on_validation_epoch_end(self):
        if not self._val:
            return
        n = sum(v[2] for v in self._val)
        loss, score = sum(v[0] for v in self._val) / n, sum(v[1] for v in self._val) / n
        self._val = []
        train_means = {k: sum(v) / len(v) for k, v in self._train_terms.items() if v}
        value = self.model.selection_value(loss, train_means, self.current_epoch)
        self.log("val_loss", value, sync_dist=True)
        self.log("val_score", score, sync_dist=True)

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        """One step at the scheduled learning rate times the model's :meth:`AnomalyModel.lr_scale` (applied
        around the step, so that any LR schedule keeps its own bookkeeping)."""
        scale = self.model.lr_scale()
        groups = optimizer.param_groups
        scheduled = [group["lr"] for group in groups]
        for group in groups:
            group["lr"] *= scale
        try:
            super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        finally:
            for group, lr in zip(groups, scheduled, strict=True):
                group["lr"] = lr

    def configure_optimizers(self):
        return configure_optimizer(self, self.cfg.training, self.hparams.steps_per_epoch)
