"""Start a tagger from a pre-trained encoder (``model.encoder`` in a ``jetgnn train`` config)."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from jetgnn.errors import InputError


def load_encoder_checkpoint(run_dir, which: str = "best") -> dict:
    """A checkpoint of a ``jetgnn pretrain`` run (loaded with ``weights_only=True``): ``best``, ``last`` or
    ``initial`` (the encoder before pre-training, for the random-encoder control)."""
    from jetgnn.tagger import load_checkpoint

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"model.encoder: pretrain run directory not found: {run_dir}")
    ckpt = load_checkpoint(run_dir / "checkpoints" / f"{which}.ckpt")
    if "pretraining" not in ckpt.get("hyper_parameters", {}).get("config", {}):
        raise InputError(f"model.encoder: {run_dir} is not a jetgnn pretrain run (no pretraining section)")
    return ckpt


def adopt_encoder_config(cfg: dict) -> dict:
    """The training config with the encoder's model name, architecture and graph options (node features must
    match what the encoder was trained on). Head options of the training config (e.g. ``linear_head``,
    ``dropout``) are kept."""
    encoder_cfg = load_encoder_checkpoint(cfg["model"]["encoder"])["hyper_parameters"]["config"]
    cfg = copy.deepcopy(cfg)
    cfg["model"]["name"] = encoder_cfg["model"]["name"]
    cfg["model"]["params"] = {**(encoder_cfg["model"]["params"] or {}), **{
        k: v for k, v in (cfg["model"]["params"] or {}).items() if k in ("linear_head", "dropout")}}
    cfg["data"]["graph"] = copy.deepcopy(encoder_cfg["data"]["graph"])
    return cfg


def init_from_encoder(model: torch.nn.Module, cfg: dict, spec: dict) -> None:
    """Copy the encoder's weights into ``model`` (all but the classifier ``head``) and, with
    ``model.freeze_encoder``, stop their gradients."""
    ckpt = load_encoder_checkpoint(cfg["model"]["encoder"], cfg["model"]["encoder_checkpoint"])
    encoder_spec = ckpt["hyper_parameters"]["spec"]
    if list(encoder_spec["x_names"]) != list(spec["x_names"]):
        raise InputError(f"model.encoder: the training data gives node features {list(spec['x_names'])}, the encoder "
                         f"was trained on {list(encoder_spec['x_names'])}")
    state = {k[len("encoder."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("encoder.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.startswith("head.")] + list(unexpected)
    if wrong:
        raise InputError(f"model.encoder: weights do not fit the model ({', '.join(wrong[:3])} ...)")
    if cfg["model"]["freeze_encoder"]:
        for name, param in model.named_parameters():
            if not name.startswith("head."):
                param.requires_grad_(False)
