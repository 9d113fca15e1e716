"""The Lightning module: a model of the zoo, cross-entropy, AdamW with warm-up + cosine or one-cycle."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from jetgnn.models import InputSpec, build_model
from jetgnn.training.losses import multitask_loss


class WarmupCosine:
    """LR factor: linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total`` steps.

    A plain object (not a lambda) so the scheduler state stays in checkpoints loadable with weights_only=True.
    """

    def __init__(self, warmup: int, total: int):
        self.warmup, self.total = warmup, max(total, 1)

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))


def orthogonal_init(model: torch.nn.Module) -> None:
    """Orthogonal weights and zero biases for every linear layer (``model.init: orthogonal``)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.orthogonal_(module.weight)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)


class TaggerModule(L.LightningModule):
    """Training of one tagger. Hyper-parameters (config, input spec, classes) are saved in every checkpoint."""

    def __init__(self, config: dict, spec: dict, label_names: list[str], steps_per_epoch: int):
        super().__init__()
        self.save_hyperparameters()
        model = config["model"]
        self.model = build_model(model["name"], InputSpec(**{k: tuple(v) if isinstance(v, list) else v
                                                              for k, v in spec.items()}),
                                 len(label_names), **(model["params"] or {}))
        if model.get("init") == "orthogonal":
            orthogonal_init(self.model)
        if model.get("encoder") is not None:
            from jetgnn.pretraining.encoder import init_from_encoder

            init_from_encoder(self.model, config, spec)
        self._val_probs: list[torch.Tensor] = []
        self._val_labels: list[torch.Tensor] = []

    def forward(self, batch):
        return self.model(batch)

    def on_train_batch_start(self, batch, batch_idx):
        """A frozen encoder (``model.freeze_encoder``) stays in eval mode (BatchNorm statistics, dropout), whatever
        mode Lightning restores after validation."""
        if self.hparams.config["model"].get("freeze_encoder"):
            self.model.eval()
            self.model.head.train()

    def _loss(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, jet logits); multitask models also log their loss parts as ``<stage>_loss_<part>``."""
        if not getattr(self.model, "multitask", False):
            logits = self(batch)
            return F.cross_entropy(logits, batch.y), logits
        outputs = self.model.forward_all(batch)
        loss, parts = multitask_loss(outputs, batch, self.hparams.config["training"]["loss_weights"])
        for name, value in parts.items():
            self.log(f"{stage}_loss_{name}", value, on_step=False, on_epoch=True, batch_size=batch.num_graphs,
                     sync_dist=True)
        return loss, outputs["jet"]

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch, "train")
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=batch.num_graphs, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logits = self._loss(batch, "val")
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=batch.num_graphs, sync_dist=True)
        self._val_probs.append(torch.softmax(logits.float(), dim=1).detach().cpu())
        self._val_labels.append(batch.y.detach().cpu())

    def on_validation_epoch_end(self):
        if not self._val_probs:
            return
        from sklearn.metrics import roc_auc_score

        probs = torch.cat(self._val_probs).numpy()
        labels = torch.cat(self._val_labels).numpy()
        self._val_probs, self._val_labels = [], []
        signal = probs.shape[1] - 1
        positive = labels == signal
        auc = float(roc_auc_score(positive, probs[:, signal])) if 0 < positive.sum() < len(labels) else float("nan")
        self.log("val_auc", torch.tensor(auc if np.isfinite(auc) else 0.0), sync_dist=True)

    def configure_optimizers(self):
        return configure_optimizer(self, self.hparams.config["training"], self.hparams.steps_per_epoch)


def configure_optimizer(module: L.LightningModule, cfg: dict, steps_per_epoch: int):
    """AdamW over the trainable parameters with the ``training.schedule`` learning-rate schedule (per step)."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    # optimizer steps of the whole run as this process sees them (per DDP rank)
    try:
        steps = int(module.trainer.estimated_stepping_batches)
    except (RuntimeError, ValueError, TypeError):
        steps = steps_per_epoch * cfg["epochs"]
    if cfg["schedule"] == "constant":
        return optimizer
    if cfg["schedule"] == "one_cycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg["lr"], total_steps=max(steps, 1))
    else:
        warmup = steps * cfg["warmup_epochs"] // cfg["epochs"]
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup, steps))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
