"""What an anomaly model reads (recorded in its checkpoint) and how it is built from Jets — without the
training datasets (scoring imports this, not Lightning)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from jetgnn.errors import InputError
from jetgnn.graphs.builder import jet_globals
from jetgnn.io.jets import Jets
from jetgnn.transforms.images import ImageOptions, jet_images
from jetgnn.transforms.particles import PARTICLE_FEATURES, padded_particles

INPUT_KINDS = ("image", "particles", "features")
#: the jet features of a feature model when a config names none: the jet's own structure (mass, multiplicity,
#: groomed mass, N-subjettiness ratios), not where it points (pT, η)
DEFAULT_JET_FEATURES = ("jet_mass", "jet_nparticles", "jet_sdmass", "jet_tau21", "jet_tau32")


@dataclass(frozen=True)
class AnomalyInputs:
    """kind : "image", "particles" or "features"; image : the image options (kind image); max_particles :
    constituents kept (kind particles); features : the per-jet fields of a feature model (kind features; any
    per-jet field, ``jet_mass``, ``jet_nparticles``, ``jet_tau21``, ``jet_tau32``)."""

    kind: str = "image"
    image: ImageOptions = ImageOptions()
    max_particles: int = 32
    features: tuple[str, ...] = DEFAULT_JET_FEATURES

    def __post_init__(self):
        if self.kind not in INPUT_KINDS:
            raise InputError(f"anomaly inputs must be one of {', '.join(INPUT_KINDS)}, got {self.kind!r}")
        if isinstance(self.image, dict):
            object.__setattr__(self, "image", ImageOptions(**self.image))
        object.__setattr__(self, "features", tuple(self.features))
        if self.kind == "features" and not self.features:
            raise InputError("a feature anomaly model needs at least one jet feature (anomaly.features)")

    @property
    def n_features(self) -> int:
        """Input width: the particle features (kind particles) or the jet features (kind features)."""
        return len(self.features) if self.kind == "features" else len(PARTICLE_FEATURES)

    def to_dict(self) -> dict:
        return {**asdict(self), "features": list(self.features)}


def model_inputs(jets: Jets, inputs: AnomalyInputs) -> tuple[np.ndarray, ...]:
    """(images [n, 1, S, S],), (particles [n, N, 3], mask [n, N]) or (features [n, F],) of ``jets``."""
    if inputs.kind == "image":
        return (jet_images(jets, inputs.image)[:, None],)
    if inputs.kind == "features":
        features = jet_globals(jets, inputs.features)
        bad = ~np.isfinite(features)
        if bad.any():
            column = int(np.nonzero(bad.any(axis=0))[0][0])
            raise InputError(f"jet feature {inputs.features[column]!r} is not finite for {int(bad[:, column].sum())} "
                             f"of {len(features)} jets (NaN or inf): fix or drop it from anomaly.features")
        return (features,)
    return padded_particles(jets, inputs.max_particles)


def as_model_input(arrays: tuple[np.ndarray, ...] | tuple[torch.Tensor, ...]):
    """What the model's ``loss``/``score`` take: the image tensor, or the (particles, mask) pair."""
    tensors = tuple(torch.as_tensor(a) for a in arrays)
    return tensors[0] if len(tensors) == 1 else tensors
