"""The Lightning module: a thin wrapper around a built tagger (as salt's model wrapper), its loss, the validation
AUC over all DDP ranks, and AdamW with warm-up + cosine, one-cycle or constant learning rate."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.classification import BinaryAUROC

from jetgnn.models import JetTagger
from jetgnn.training.config import TrainConfig, TrainingSection
from jetgnn.training.losses import multitask_loss


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainingSection, steps: int):
    """The per-step learning-rate schedule of ``training.schedule`` over ``steps`` optimizer steps, or None.

    cosine: linear warm-up from lr / w to lr over the first w = steps * warmup_epochs / epochs steps
    (``LinearLR``), then cosine decay to 0 over the rest (``CosineAnnealingLR``), chained by ``SequentialLR``;
    one_cycle: ``OneCycleLR`` with peak ``lr``; constant: None.
    """
    steps = max(int(steps), 1)
    if cfg.schedule == "constant":
        return None
    if cfg.schedule == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=steps)
    warmup = min(steps * cfg.warmup_epochs // cfg.epochs, steps - 1)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps - warmup, 1), eta_min=0.0)
    if warmup <= 0:
        return cosine
    linear = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0,
                                               total_iters=warmup - 1)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


def _steps_per_epoch(module: L.LightningModule, fallback: int) -> int:
    """Optimizer steps per epoch of this DDP rank: the length of the datamodule's training loader.

    (Not ``trainer.estimated_stepping_batches``: it starts the loader's iterator before a resumed run restores
    its epoch, so DataLoader workers would serve the first epoch's order again.)
    """
    try:
        datamodule = module.trainer.datamodule
    except RuntimeError:  # not attached to a trainer
        return fallback
    return len(datamodule.train_dataloader()) if datamodule is not None else fallback


def configure_optimizer(module: L.LightningModule, cfg: TrainingSection, steps_per_epoch: int):
    """AdamW over the trainable parameters with the ``training.schedule`` learning-rate schedule (per step)."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = _steps_per_epoch(module, steps_per_epoch) * cfg.epochs  # of the whole run, as this rank sees them
    scheduler = make_scheduler(optimizer, cfg, steps)
    if scheduler is None:
        return optimizer
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class TaggerModule(L.LightningModule):
    """Training of one tagger: ``model`` (a built :class:`~jetgnn.models.JetTagger`) is injected; the module
    adds cross-entropy (or the vertexer's multitask loss), the validation AUC of the last class against the others
    (torchmetrics, computed over the jets of all DDP ranks) and the optimiser. The resolved config, the input
    spec, the class names and the training ranges of the jets (``input_ranges``) are saved in every checkpoint,
    so that the model can be rebuilt from it and inputs outside the training ranges flagged."""

    def __init__(self, model: JetTagger, config: TrainConfig, spec: dict, label_names: list[str],
                 steps_per_epoch: int, input_ranges: dict | None = None):
        super().__init__()
        self.save_hyperparameters({"config": config.to_dict(), "spec": spec, "label_names": list(label_names),
                                   "steps_per_epoch": steps_per_epoch, "input_ranges": input_ranges or {}})
        self.model = model
        self.cfg = config
        self.val_auc = BinaryAUROC()

    def forward(self, batch):
        return self._model_fn()(batch)

    def _model_fn(self):
        """The model's forward (``forward_all`` for multitask models); with ``training.compile`` its
        ``torch.compile`` (dynamic shapes), made on first use and kept outside the module tree, so that state_dict
        keys and checkpoints stay the model's own and an uncompiled tagger loads them."""
        fn = self.model.forward_all if self.model.multitask else self.model
        if not self.cfg.training.compile:
            return fn
        if self.__dict__.get("_compiled") is None:
            self.__dict__["_compiled"] = torch.compile(fn, dynamic=True)
        return self.__dict__["_compiled"]

    def __getstate__(self):  # pickled for ddp_spawn workers: they compile their own
        state = super().__getstate__()
        state.pop("_compiled", None)
        return state

    def on_train_batch_start(self, batch, batch_idx):
        """A frozen encoder (``model.freeze_encoder``) stays in eval mode (BatchNorm statistics, dropout), whatever
        mode Lightning restores after validation; only the classifier head trains."""
        if self.cfg.model.freeze_encoder:
            self.model.eval()
            self.model.head.train()

    def _loss(self, batch, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, jet logits); multitask models also log their loss parts as ``<stage>_loss_<part>``."""
        if not self.model.multitask:
            logits = self(batch)
            return F.cross_entropy(logits, batch.y), logits
        outputs = self._model_fn()(batch)
        loss, parts = multitask_loss(outputs, batch, self.cfg.training.loss_weights.model_dump())
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
        signal = logits.shape[1] - 1
        self.val_auc.update(torch.softmax(logits.float(), dim=1)[:, signal].detach(), (batch.y == signal).long())

    def on_validation_epoch_end(self):
        if self.val_auc.update_count == 0:
            return
        auc = self.val_auc.compute()  # gathers the scores of every rank: the AUC of all validation jets
        self.val_auc.reset()
        self.log("val_auc", auc if torch.isfinite(auc) else torch.zeros(()))

    def configure_optimizers(self):
        return configure_optimizer(self, self.cfg.training, self.hparams.steps_per_epoch)
