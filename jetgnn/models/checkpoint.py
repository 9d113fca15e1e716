"""Reading what training wrote: checkpoints load with ``weights_only=True`` and rebuild their model."""

from __future__ import annotations

from pathlib import Path

import torch

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec
from jetgnn.models.linear import LinearJetTagger


def _load_failure(err: Exception) -> str:
    """What torch.load's error means, without its advice to load with ``weights_only=False``."""
    text = str(err)
    if "GLOBAL" in text:
        return "it refers to Python code, which was not loaded and never run"
    if "Weights only load failed" in text or "Unsupported operand" in text:
        return "not a PyTorch file, or one holding more than tensors and plain containers; nothing was run"
    if "zip archive" in text or "central directory" in text or isinstance(err, EOFError):
        return "truncated or corrupted"
    return f"{err.__class__.__name__}: {' '.join(text.split())[:100]}"


def load_checkpoint(path) -> dict:
    """A checkpoint file, loaded with ``weights_only=True`` (no pickled code is executed).

    Anything that is not a jetgnn checkpoint (garbage, a truncated file, a pickle with code in it) is one
    InputError naming the file; torch's own advice to retry with ``weights_only=False`` is not passed on, since
    that would run the file's code.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError (zip), EOFError, ...
        raise InputError(f"{path} is not a jetgnn checkpoint ({_load_failure(err)})") from None
    if not isinstance(ckpt, dict) or not ("state_dict" in ckpt or "linear_state" in ckpt) \
            or not isinstance(ckpt.get("hyper_parameters"), dict):
        raise InputError(f"{path} is not a jetgnn checkpoint (no hyper_parameters and weights in it)")
    return ckpt


def model_from_checkpoint(ckpt: dict, prefix: str = "model."):
    """The trained model of a tagger checkpoint: a :class:`~jetgnn.models.JetTagger` with its weights (state-dict
    keys under ``prefix``), or the fitted :class:`LinearJetTagger`."""
    from jetgnn.models.config import quant_spec
    from jetgnn.models.registry import build_model

    if "linear_state" in ckpt:
        return LinearJetTagger.from_state(ckpt["linear_state"])
    hp = ckpt["hyper_parameters"]
    model_cfg = hp["config"]["model"]
    model = build_model(model_cfg["name"], InputSpec.from_dict(hp["spec"]), len(hp["label_names"]),
                        quantization=quant_spec(model_cfg.get("quantization")), **(model_cfg["params"] or {}))
    model.load_state_dict({k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
    return model
