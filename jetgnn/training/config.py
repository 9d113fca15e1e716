"""Training configuration: YAML with validated keys, types and values; CLI ``key=value`` overrides.

Every key, its default and its meaning is in DEFAULTS below; a wrong key, type or value fails with one
line naming the dotted key (e.g. ``training.epochs``).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from jetgnn.errors import InputError

DEFAULTS: dict = {
    "task": None,  # free text shown in reports, e.g. "top" or "qg"
    "model": {
        "name": "particlenet_lite",  # any name of jetgnn.models.MODELS, or "linear" (scikit-learn)
        "params": {},  # model hyper-parameters (jetgnn.models.model_parameters(name))
        "encoder": None,  # a `jetgnn pretrain` run directory: start from its encoder (JetCLR fine-tuning)
        "freeze_encoder": False,  # keep the encoder fixed and train only the head (JetCLR linear test)
        "init": "default",  # default (PyTorch) or orthogonal initialisation of the linear layers
        "encoder_checkpoint": "best",  # best, last, or initial (the untrained encoder: the random-encoder control)
    },
    "data": {
        "train": [],  # ROOT files or globs
        "val": [],  # if empty, val_fraction of the training jets (seeded split)
        "test": [],  # if empty, final metrics are computed on the validation jets
        "mapping": None,  # branch-mapping YAML for non-jetclass files
        "val_fraction": 0.2,
        "split_seed": None,  # seed of the train/validation split (None: training.seed); benchmarks fix it
        "max_jets": None,  # read at most this many jets per file set (quick runs)
        "train_fraction": 1.0,  # train on a seeded random fraction of the training jets (label-efficiency scans)
        "batch_size": 256,
        "balance": False,  # downsample to equal class counts
        "graph": {  # jetgnn.build_graphs options
            "edges": "knn",
            "k": 16,
            "radius": None,
            "max_particles": 128,
            "self_loops": False,
            "globals": [],
            "scale": True,
            "with_edge_features": True,
        },
    },
    "training": {
        "epochs": 10,
        "lr": 1.0e-3,
        "weight_decay": 1.0e-4,
        "schedule": "cosine",  # cosine (linear warm-up then cosine decay), one_cycle, constant
        "warmup_epochs": 1,
        "patience": 5,  # early stopping on the validation loss
        "gradient_clip": 1.0,
        "precision": "32-true",  # Lightning precision; "bf16-mixed" / "16-mixed" where available
        "seed": 0,
        "accelerator": "cpu",  # cpu, gpu, auto
        "devices": 1,  # processes (CPU) or GPUs per node
        "num_nodes": 1,  # machines (torchrun or SLURM launch, see the README)
        "strategy": "auto",  # auto, ddp (CPU processes talk over gloo), ddp_spawn (notebooks)
        "num_workers": 0,
        # multitask models (vertexer): weights of the jet, track-origin and same-vertex losses (GN1: 1.0/0.5/1.5)
        "loss_weights": {"jet": 1.0, "origin": 0.5, "vertex": 1.5},
    },
}

#: ``jetgnn pretrain`` configs: the sections above plus ``pretraining`` (JetCLR)
PRETRAIN_DEFAULTS: dict = copy.deepcopy(DEFAULTS)
PRETRAIN_DEFAULTS["model"]["name"] = "transformer"
PRETRAIN_DEFAULTS["pretraining"] = {
    "temperature": 0.1,  # NT-Xent temperature
    "projection": [128, 64],  # widths of the projection head after the representation
    "augmentations": None,  # name -> parameters, in order (None: jetgnn.pretraining.augment.DEFAULT_AUGMENTATIONS)
}

#: parameters of the scikit-learn linear baselines (model.name: linear)
LINEAR_PARAMS = {"method": "logistic", "efps": True, "C": 1.0, "max_iter": 1000}

CHOICES = {
    "model.encoder_checkpoint": ("best", "last", "initial"),
    "model.init": ("default", "orthogonal"),
    "training.schedule": ("cosine", "one_cycle", "constant"),
    "data.graph.edges": ("delta_r", "knn", "none"),
    "training.accelerator": ("cpu", "gpu", "cuda", "auto"),
}
POSITIVE = ("training.epochs", "training.lr", "data.batch_size", "data.graph.k", "training.devices",
            "training.num_nodes")
NON_NEGATIVE = ("training.weight_decay", "training.warmup_epochs", "training.patience", "training.gradient_clip",
                "training.num_workers", "training.seed", "training.loss_weights.jet", "training.loss_weights.origin",
                "training.loss_weights.vertex")
#: keys whose value is free-form (not checked against the default's type)
FREE = ("task", "model.params", "model.encoder", "data.split_seed", "data.mapping", "data.max_jets",
        "data.graph.radius", "data.graph.max_particles", "pretraining.augmentations")


def _merge(base: dict, update: dict, prefix: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise InputError(f"config: unknown key {dotted!r} (allowed: {', '.join(prefix + k for k in base)})")
        if isinstance(base[key], dict) and dotted not in FREE:
            if not isinstance(value, dict):
                raise InputError(f"config: {dotted!r} must be a mapping, got {value!r}")
            out[key] = _merge(base[key], value, dotted + ".")
        else:
            out[key] = value
    return out


def _check_types(config: dict, defaults: dict, prefix: str = "") -> None:
    for key, default in defaults.items():
        dotted, value = f"{prefix}{key}", config[key]
        if dotted in FREE or value is None and default is None:
            continue
        if isinstance(default, dict):
            _check_types(value, default, dotted + ".")
            continue
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, (list, str))
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise InputError(f"config: {dotted!r} should be a {type(default).__name__}, got {value!r}")


def _get(config: dict, dotted: str):
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def validate(config: dict, defaults: dict = DEFAULTS) -> dict:
    """Merge ``config`` over ``defaults`` (DEFAULTS, or PRETRAIN_DEFAULTS for ``jetgnn pretrain``) and check keys,
    types and values; returns the resolved config."""
    if not isinstance(config, dict):
        raise InputError(f"config must be a mapping, got {type(config).__name__}")
    resolved = _merge(defaults, config, "")
    _check_types(resolved, defaults)
    for dotted, allowed in CHOICES.items():
        if _get(resolved, dotted) not in allowed:
            raise InputError(f"config: {dotted!r} must be one of {', '.join(allowed)}, got {_get(resolved, dotted)!r}")
    for dotted in POSITIVE:
        if _get(resolved, dotted) <= 0:
            raise InputError(f"config: {dotted!r} must be positive, got {_get(resolved, dotted)!r}")
    for dotted in NON_NEGATIVE:
        if _get(resolved, dotted) < 0:
            raise InputError(f"config: {dotted!r} must not be negative, got {_get(resolved, dotted)!r}")
    if not 0 < resolved["data"]["val_fraction"] < 1:
        raise InputError(f"config: 'data.val_fraction' must be in (0, 1), got {resolved['data']['val_fraction']!r}")
    split_seed = resolved["data"]["split_seed"]
    if split_seed is not None and (isinstance(split_seed, bool) or not isinstance(split_seed, int) or split_seed < 0):
        raise InputError(f"config: 'data.split_seed' must be a non-negative integer or null, got {split_seed!r}")
    if not 0 < resolved["data"]["train_fraction"] <= 1:
        raise InputError(f"config: 'data.train_fraction' must be in (0, 1], got {resolved['data']['train_fraction']!r}")
    if "pretraining" in resolved:
        _validate_pretraining(resolved)
    encoder = resolved["model"]["encoder"]
    if encoder is not None and not isinstance(encoder, (str, os.PathLike)):
        raise InputError(f"config: 'model.encoder' must be a pretrain run directory, got {encoder!r}")
    if resolved["model"]["freeze_encoder"] and encoder is None:
        raise InputError("config: 'model.freeze_encoder' needs 'model.encoder' (a jetgnn pretrain run directory)")
    for key in ("train", "val", "test"):
        if isinstance(resolved["data"][key], str):
            resolved["data"][key] = [resolved["data"][key]]
    from jetgnn.models import MODELS, model_parameters

    name = resolved["model"]["name"]
    if name not in (*MODELS, "linear"):
        raise InputError(f"config: 'model.name' must be one of {', '.join(MODELS)}, linear; got {name!r}")
    allowed = LINEAR_PARAMS if name == "linear" else model_parameters(name)
    for key in resolved["model"]["params"] or {}:
        if key not in allowed:
            raise InputError(f"config: unknown key 'model.params.{key}' for model {name} "
                             f"(allowed: {', '.join(allowed)})")
    return resolved


def _validate_pretraining(resolved: dict) -> None:
    section = resolved["pretraining"]
    if section["temperature"] <= 0:
        raise InputError(f"config: 'pretraining.temperature' must be positive, got {section['temperature']!r}")
    if not section["projection"] or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                            for d in section["projection"]):
        raise InputError(f"config: 'pretraining.projection' must be a list of positive widths, "
                         f"got {section['projection']!r}")
    augmentations = section["augmentations"]
    if augmentations is not None:
        from jetgnn.pretraining.augment import AUGMENTATIONS, check_augmentations

        if not isinstance(augmentations, dict):
            raise InputError(f"config: 'pretraining.augmentations' must map names ({', '.join(AUGMENTATIONS)}) "
                             "to parameters")
        check_augmentations(augmentations)
    if resolved["model"]["name"] == "linear":
        raise InputError("config: 'model.name' of a pretraining config must be a neural model, got 'linear'")


def parse_override(text: str) -> tuple[str, object]:
    """``training.epochs=3`` -> ("training.epochs", 3) with the value parsed as YAML."""
    if "=" not in text:
        raise InputError(f"override {text!r} must look like key=value (e.g. training.epochs=3)")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def apply_overrides(config: dict, overrides: list[str] | dict) -> dict:
    """Set dotted keys in a (raw) config dict; unknown keys are reported by :func:`validate` later."""
    config = copy.deepcopy(config)
    items = overrides.items() if isinstance(overrides, dict) else (parse_override(o) for o in overrides)
    for dotted, value in items:
        node = config
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"override {dotted!r}: {part!r} is not a section")
        node[parts[-1]] = value
    return config


def load_config(source) -> dict:
    """A raw config dict from a YAML path or a dict (validate with :func:`validate`)."""
    if isinstance(source, dict):
        return copy.deepcopy(source)
    path = Path(os.fspath(source))
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(err).split())[:120]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config must be a mapping of sections")
    return data
