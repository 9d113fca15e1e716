"""Lightning module of JetCLR pre-training: encoder + projection head, NT-Xent loss."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from jetgnn.models import JetTagger, build_model
from jetgnn.models.base import InputSpec
from jetgnn.models.layers import mlp
from jetgnn.pretraining.config import PretrainConfig
from jetgnn.pretraining.losses import alignment, nt_xent, uniformity
from jetgnn.training.module import configure_optimizer


def build_encoder(config: PretrainConfig, spec: InputSpec) -> JetTagger:
    """The encoder of a pre-training config: model ``model.name`` without its classifier head (only ``embed`` is
    trained)."""
    encoder = build_model(config.model, spec, 2)
    encoder.head = nn.Identity()
    return encoder


class ContrastiveModule(L.LightningModule):
    """The encoder (any model of the zoo, injected; its ``embed`` gives the representation) and a projection MLP.

    Batches are pairs of views; the loss is NT-Xent at ``pretraining.temperature``. Validation also logs the
    alignment and uniformity of the normalised representations (``val_alignment``, ``val_uniformity``).
    """

    def __init__(self, encoder: JetTagger, config: PretrainConfig, spec: dict, embed_dim: int, steps_per_epoch: int):
        super().__init__()
        self.save_hyperparameters({"config": config.to_dict(), "spec": spec, "embed_dim": embed_dim,
                                   "steps_per_epoch": steps_per_epoch})
        self.cfg = config
        self.encoder = encoder
        self.projector = mlp([embed_dim, *config.pretraining.projection], norm=False, last_activation=False)
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def _loss(self, views):
        h1, h2 = self.encoder.embed(views[0]), self.encoder.embed(views[1])
        loss = nt_xent(self.projector(h1), self.projector(h2), self.cfg.pretraining.temperature)
        return loss, h1, h2

    def training_step(self, views, batch_idx):
        loss, _, _ = self._loss(views)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=views[0].num_graphs, sync_dist=True)
        return loss

    def validation_step(self, views, batch_idx):
        loss, h1, h2 = self._loss(views)
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=views[0].num_graphs, sync_dist=True)
        self._val.append((h1.detach(), h2.detach()))

    def on_validation_epoch_end(self):
        if not self._val:
            return
        h1 = torch.cat([v[0] for v in self._val])
        h2 = torch.cat([v[1] for v in self._val])
        self._val = []
        self.log("val_alignment", alignment(h1, h2), sync_dist=True)
        self.log("val_uniformity", uniformity(h1[:2048]), sync_dist=True)

    def configure_optimizers(self):
        return configure_optimizer(self, self.cfg.training, self.hparams.steps_per_epoch)
