"""Reading what training wrote: checkpoints load with ``weights_only=True`` and rebuild their model."""

from __future__ import annotations

from pathlib import Path

import torch

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec
from jetgnn.models.linear import LinearJetTagger


def load_checkpoint(path) -> dict:
    """A checkpoint file, loaded with ``weights_only=True`` (no pickled code is executed)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def model_from_checkpoint(ckpt: dict, prefix: str = "model."):
    """The trained model of a tagger checkpoint: a :class:`~jetgnn.models.JetTagger` with its weights (state-dict
    keys under ``prefix``), or the fitted :class:`LinearJetTagger`."""
    from jetgnn.models.registry import build_model

    if "linear_state" in ckpt:
        return LinearJetTagger.from_state(ckpt["linear_state"])
    hp = ckpt["hyper_parameters"]
    model_cfg = hp["config"]["model"]
    model = build_model(model_cfg["name"], InputSpec.from_dict(hp["spec"]), len(hp["label_names"]),
                        **(model_cfg["params"] or {}))
    model.load_state_dict({k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
    return model
