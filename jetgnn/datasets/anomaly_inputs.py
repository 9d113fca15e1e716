"""What an anomaly model reads (recorded in its checkpoint) and how it is built from Jets — without the
training datasets (scoring imports this, not Lightning)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.transforms.images import ImageOptions, jet_images
from jetgnn.transforms.particles import PARTICLE_FEATURES, padded_particles

INPUT_KINDS = ("image", "particles")


@dataclass(frozen=True)
class AnomalyInputs:
    """kind : "image" or "particles"; image : the image options (kind image); max_particles : constituents kept
    (kind particles)."""

    kind: str = "image"
    image: ImageOptions = ImageOptions()
    max_particles: int = 32

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise InputError(f"anomaly inputs must be one of {', '.join(INPUT_KINDS)}, got {self.kind!r}")
        if isinstance(self.image, dict):
            object.__setattr__(self, "image", ImageOptions(**self.image))

    @property
    def n_features(self) -> int:
        return len(PARTICLE_FEATURES)

    def to_dict(self) -> dict:
        return asdict(self)


def model_inputs(jets: Jets, inputs: AnomalyInputs) -> tuple[np.ndarray, ...]:
    """(images [n, 1, S, S],) or (particles [n, N, 3], mask [n, N]) of ``jets``."""
    if inputs.kind == "image":
        return (jet_images(jets, inputs.image)[:, None],)
    return padded_particles(jets, inputs.max_particles)


def as_model_input(arrays: tuple[np.ndarray, ...] | tuple[torch.Tensor, ...]):
    """What the model's ``loss``/``score`` take: the image tensor, or the (particles, mask) pair."""
    tensors = tuple(torch.as_tensor(a) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors
