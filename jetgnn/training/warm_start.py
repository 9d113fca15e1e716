"""Start a tagger from a pre-trained encoder (``model.encoder``): the architecture and graph options of the
encoder, its weights for everything but the classifier head, and (``model.freeze_encoder``) frozen."""

from __future__ import annotations

from pathlib import Path

from jetgnn.errors import InputError
from jetgnn.models import JetTagger, load_checkpoint
from jetgnn.training.config import TrainConfig

#: options of the training config's ``model.params`` that shape the classifier head, kept over the encoder's
HEAD_PARAMETERS = ("linear_head", "dropout")


def load_encoder_checkpoint(run_dir, which: str = "best") -> dict:
    """A checkpoint of a ``jetgnn pretrain`` run (loaded with ``weights_only=True``): ``best``, ``last`` or
    ``initial`` (the encoder before pre-training, for the random-encoder control)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"model.encoder: pretrain run directory not found: {run_dir}")
    ckpt = load_checkpoint(run_dir / "checkpoints" / f"{which}.ckpt")
    if "pretraining" not in ckpt.get("hyper_parameters", {}).get("config", {}):
        raise InputError(f"model.encoder: {run_dir} is not a jetgnn pretrain run (no pretraining section)")
    return ckpt


def adopt_encoder_config(cfg: TrainConfig) -> TrainConfig:
    """The training config with the encoder's model name, architecture and graph options (node features must
    match what the encoder was trained on); the head options of the training config (HEAD_PARAMETERS) are kept."""
    encoder_cfg = load_encoder_checkpoint(cfg.model.encoder)["hyper_parameters"]["config"]
    raw = cfg.to_dict()
    raw["model"]["name"] = encoder_cfg["model"]["name"]
    raw["model"]["params"] = {**(encoder_cfg["model"]["params"] or {}),
                              **{k: v for k, v in cfg.model.params.items() if k in HEAD_PARAMETERS}}
    raw["data"]["graph"] = dict(encoder_cfg["data"]["graph"])
    return TrainConfig.from_raw(raw)


def warm_start(model: JetTagger, cfg: TrainConfig, spec: dict) -> None:
    """Copy the encoder's weights into ``model`` (all but the classifier ``head``) and, with
    ``model.freeze_encoder``, stop their gradients."""
    ckpt = load_encoder_checkpoint(cfg.model.encoder, cfg.model.encoder_checkpoint)
    encoder_spec = ckpt["hyper_parameters"]["spec"]
    if list(encoder_spec["x_names"]) != list(spec["x_names"]):
        raise InputError(f"model.encoder: the training data gives node features {list(spec['x_names'])}, the encoder "
                         f"was trained on {list(encoder_spec['x_names'])}")
    state = {k[len("encoder."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("encoder.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.startswith("head.")] + list(unexpected)
    if wrong:
        raise InputError(f"model.encoder: weights do not fit the model ({', '.join(wrong[:3])} ...)")
    if cfg.model.freeze_encoder:
        for param in model.encoder_parameters():
            param.requires_grad_(False)
