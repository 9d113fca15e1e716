"""The model zoo: every neural tagger selectable by name, with validated hyper-parameters.

``build_model(name, spec, n_classes, **params)``; ``MODELS`` lists the names. Each model maps a jet-graph
Batch to logits [n_jets, n_classes] and offers ``embed(batch)`` (the representation before the classifier).
"""

from __future__ import annotations

import inspect

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec, JetTagger
from jetgnn.models.deep_sets import EFN, PFN
from jetgnn.models.mlp_baseline import MLPTagger
from jetgnn.models.mpnn import MPNN
from jetgnn.models.particlenet import ParticleNet
from jetgnn.models.transformer import ParticleTransformer
from jetgnn.models.vertexer import Vertexer

#: name -> (class, preset parameters)
MODELS: dict[str, tuple[type[JetTagger], dict]] = {
    "particlenet": (ParticleNet, {}),
    "particlenet_lite": (ParticleNet, {"k": 7, "conv": ((32, 32, 32), (64, 64, 64)), "fc": (128,)}),
    "mpnn": (MPNN, {}),
    "pfn": (PFN, {}),
    "efn": (EFN, {}),
    "transformer": (ParticleTransformer, {}),
    "mlp": (MLPTagger, {}),
    "vertexer": (Vertexer, {}),
}


def model_parameters(name: str) -> dict:
    """The hyper-parameters of model ``name`` with their defaults (presets applied)."""
    cls, preset = _lookup(name)
    signature = inspect.signature(cls.__init__)
    defaults = {p.name: p.default for p in list(signature.parameters.values())[3:]}
    return {**defaults, **preset}


def _lookup(name: str):
    if name not in MODELS:
        raise InputError(f"unknown model {name!r} (choose from {', '.join(MODELS)})")
    return MODELS[name]


def build_model(name: str, spec: InputSpec, n_classes: int, **params) -> JetTagger:
    """Instantiate model ``name``; unknown or mistyped parameters fail naming the key."""
    cls, preset = _lookup(name)
    allowed = model_parameters(name)
    for key, value in params.items():
        if key not in allowed:
            raise InputError(f"model {name}: unknown parameter {key!r} (allowed: {', '.join(allowed)})")
        default = allowed[key]
        if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, (int, float)) and not isinstance(value, (int, float))) or (
                isinstance(default, tuple) and not isinstance(value, (list, tuple))):
            raise InputError(f"model {name}: parameter {key!r} should be like {default!r}, got {value!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and value < 0:
            raise InputError(f"model {name}: parameter {key!r} must not be negative, got {value!r}")
    return cls(spec, n_classes, **{**preset, **params})


__all__ = ["MODELS", "InputSpec", "JetTagger", "build_model", "model_parameters"]
