"""The contract of the anomaly models: ``loss(inputs, mass) -> dict`` for training, ``score(inputs) -> [n]``.

An anomaly model learns the background only; its score is large for jets it cannot describe (reconstruction
error, KL divergence, energy). ``inputs`` is an image tensor ``[n, 1, size, size]`` for the image models
(``input_kind == "image"``) or a padded particle tensor ``[n, N, F]`` with its mask ``[n, N]`` for the
constituent models (``input_kind == "particles"``). ``forward`` is ``score``, so that ONNX exports the score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class AnomalyModel(nn.Module, ABC):
    """Base of the anomaly models (see the module docstring)."""

    input_kind: str = "image"
    #: score names the model offers (``anomaly.score`` picks one)
    scores: tuple[str, ...] = ("reconstruction",)

    def __init__(self):
        super().__init__()
        self.score_name = self.scores[0]

    @abstractmethod
    def loss(self, inputs, mass: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """{"loss": scalar to minimise, other scalars to log (detached)}."""

    @abstractmethod
    def score(self, inputs) -> torch.Tensor:
        """[n] anomaly score (higher: more anomalous) with ``self.score_name``."""

    def forward(self, inputs):
        return self.score(inputs)

    def set_score(self, name: str) -> None:
        if name not in self.scores:
            raise ValueError(f"{type(self).__name__} has the scores {', '.join(self.scores)}, not {name!r}")
        self.score_name = name

    def on_epoch(self, epoch: int) -> None:
        """Called at the start of every training epoch (phases such as the NAE's AE pre-training)."""

    def lr_scale(self) -> float:
        """Factor on the optimiser's learning rate in the current phase (the NAE fine-tunes its pre-trained AE
        at a lower rate). Default 1."""
        return 1.0

    def validation_loss(self, inputs, mass: torch.Tensor | None = None) -> torch.Tensor:
        """The loss on validation jets (no gradients are available there)."""
        return self.loss(inputs, mass)["loss"]

    def selection_value(self, validation_loss: float, train_means: dict[str, float], epoch: int) -> float:
        """What the best epoch minimises (``val_loss``), from the mean validation loss and the epoch's mean
        training terms; no signal labels enter. Default: the validation loss."""
        return validation_loss


def reconstruction_error(inputs: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """[n] squared error summed over every dimension but the first."""
    return (inputs - reconstruction).pow(2).flatten(1).sum(1)
