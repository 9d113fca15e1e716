"""Training configuration: typed, validated sections (YAML or dict) and CLI ``key=value`` overrides.

:class:`TrainConfig` lists every key with its default and meaning; a wrong key, type or value fails with one line
naming the dotted key (e.g. ``training.epochs``), the allowed values and, for a misspelt key, the closest one.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from jetgnn.datasets.config import DataConfig
from jetgnn.errors import InputError
from jetgnn.models.config import ModelConfig
from jetgnn.utils.config import (
    ConfigModel,
    ErrorStyle,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    parse_yaml,
    read_yaml,
)
from jetgnn.utils.config import (
    validate as validate_model,
)


def _path_string(value):
    return os.fspath(value) if isinstance(value, os.PathLike) else value


class ModelSection(ModelConfig):
    """The model, plus warm-starting: encoder : a ``jetgnn pretrain`` run directory to start from (JetCLR
    fine-tuning); freeze_encoder : keep the encoder fixed and train only the classifier head (the linear test);
    encoder_checkpoint : best, last, or initial (the untrained encoder: the random-encoder control)."""

    encoder: Annotated[str | None, BeforeValidator(_path_string)] = None
    freeze_encoder: bool = False
    encoder_checkpoint: Literal["best", "last", "initial"] = "best"

    @model_validator(mode="after")
    def _encoder_given(self):
        if self.freeze_encoder and self.encoder is None:
            raise InputError("config: 'model.freeze_encoder' needs 'model.encoder' (a jetgnn pretrain run directory)")
        return self


#: Lightning's precision settings
PRECISIONS = ("64-true", "32-true", "16-true", "bf16-true", "16-mixed", "bf16-mixed", "transformer-engine",
              "transformer-engine-float16")


def _precision_text(value):
    """YAML ``precision: 32`` (an int) or Lightning's short names ("32", "bf16") -> the full names."""
    short = {"64": "64-true", "32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed"}
    return short.get(str(value), value) if isinstance(value, (int, str)) and not isinstance(value, bool) else value


#: strategies every Lightning 2.x registers, accepted without importing Lightning: its import (~2.5 s on 2 cores)
#: was the largest part of ``jetgnn predict``'s start-up, which validates the run's config but never trains
#: (tests/test_training.py checks this set against Lightning's registry)
COMMON_STRATEGIES = frozenset({"auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook", "fsdp", "deepspeed",
                               "single_device"})


def _known_strategy(value: str) -> str:
    if value in COMMON_STRATEGIES:
        return value
    from lightning.pytorch.strategies import StrategyRegistry

    allowed = ["auto", *StrategyRegistry.available_strategies()]
    if value not in allowed:
        raise ValueError(f"unknown strategy {value!r} (allowed: {', '.join(allowed)})")
    return value


def check_hardware(training: TrainingSection) -> None:
    """A GPU accelerator needs a visible GPU (checked when training starts, not when a GPU run is loaded)."""
    import torch

    if training.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise InputError(f"config: 'training.accelerator' is {training.accelerator!r} but no GPU is visible "
                         f"(torch {torch.__version__}); use cpu or auto")


class LossWeights(ConfigModel):
    """Multitask models (the vertexer): weights of the jet, track-origin and same-vertex losses (GN1: 1/0.5/1.5)."""

    jet: NonNegativeFloat = 1.0
    origin: NonNegativeFloat = 0.5
    vertex: NonNegativeFloat = 1.5


class PruneConfig(ConfigModel):
    """``training.prune``: global magnitude pruning of the linear and convolution weights during training.

    amount : final fraction of those weights set to zero (e.g. 0.7, 0.9); steps : pruning steps, each removing
    the same fraction of the remaining weights (iterative pruning); start_epoch : the epoch before which the
    first step happens (0: prune the initial weights); every : epochs between steps. The epochs after the last
    step fine-tune the sparse network; the best checkpoint and early stopping count only epochs at the final
    sparsity.
    """

    amount: Annotated[float, Field(gt=0.0, lt=1.0)]
    steps: PositiveInt = 3
    start_epoch: NonNegativeInt = 1
    every: PositiveInt = 1

    def step_epochs(self) -> list[int]:
        """The epochs at whose start a pruning step happens."""
        return [self.start_epoch + k * self.every for k in range(self.steps)]

    def step_fraction(self) -> float:
        """The fraction of the remaining weights that one step removes: (1 - amount)^(1/steps) remain."""
        return 1.0 - (1.0 - self.amount) ** (1.0 / self.steps)


class TrainingSection(ConfigModel):
    """Optimisation (AdamW) and the Lightning trainer.

    schedule : cosine (linear warm-up over ``warmup_epochs``, then cosine decay), one_cycle or constant;
    monitor : the validation metric that picks ``best.ckpt`` and drives early stopping: ``val_loss`` (lowest) or
    ``val_auc`` (highest; taggers only: the AUC of the last class against the others, as in history.csv);
    patience : epochs without improvement of ``monitor`` before stopping; precision : Lightning precision
    ("bf16-mixed" / "16-mixed" where available); accelerator : cpu, gpu, auto; devices : processes (CPU) or GPUs
    per node; num_nodes : machines (torchrun or SLURM launch); strategy : auto, ddp (CPU processes talk over gloo),
    ddp_spawn (notebooks); num_workers : DataLoader worker processes; pin_memory : page-locked batches for fast,
    asynchronous copies to the GPU (None: on when training runs on a CUDA GPU); compile : ``torch.compile`` the
    tagger's forward pass (dynamic shapes; taggers only). On 2 CPU cores it made later epochs of the deep sets
    14-18% and of the transformer 7% faster, and the MLP, ParticleNet(-Lite) (its kNN graph splits the
    compiled graph into 11 pieces) and MPNN no faster, while compiling took 6-94 s
    (``benchmarks/compile_training.py``); compiled dropout draws other random masks than eager dropout; prune :
    magnitude pruning (:class:`PruneConfig`).
    """

    epochs: PositiveInt = 10
    lr: PositiveFloat = 1.0e-3
    weight_decay: NonNegativeFloat = 1.0e-4
    schedule: Literal["cosine", "one_cycle", "constant"] = "cosine"
    warmup_epochs: NonNegativeInt = 1
    monitor: Literal["val_loss", "val_auc"] = "val_loss"
    patience: NonNegativeInt = 5
    gradient_clip: NonNegativeFloat = 1.0
    precision: Annotated[Literal[PRECISIONS], BeforeValidator(_precision_text)] = "32-true"
    seed: NonNegativeInt = 0
    accelerator: Literal["cpu", "gpu", "cuda", "auto"] = "cpu"
    devices: PositiveInt = 1
    num_nodes: PositiveInt = 1
    strategy: Annotated[str, AfterValidator(_known_strategy)] = "auto"
    num_workers: NonNegativeInt = 0
    pin_memory: bool | None = None
    compile: bool = False
    loss_weights: LossWeights = LossWeights()
    prune: PruneConfig | None = None

    @model_validator(mode="after")
    def _pruning_fits(self):
        if self.prune is not None and self.prune.step_epochs()[-1] >= self.epochs:
            raise InputError(f"config: 'training.prune' takes its last step at epoch {self.prune.step_epochs()[-1]} "
                             f"but 'training.epochs' is {self.epochs}: leave at least one epoch to fine-tune "
                             f"(raise training.epochs or lower training.prune.steps / start_epoch)")
        return self

    def uses_cuda(self) -> bool:
        """Whether the trainer will run on a CUDA GPU (``accelerator`` gpu/cuda, or auto with one visible)."""
        if self.accelerator == "cpu":
            return False
        import torch

        return self.accelerator != "auto" or torch.cuda.is_available()

    def pins_memory(self) -> bool:
        """``pin_memory`` with None resolved: pinned exactly when training runs on a CUDA GPU."""
        return self.uses_cuda() if self.pin_memory is None else self.pin_memory


class TrainConfig(ConfigModel):
    """A ``jetgnn train`` config: ``task`` (free text shown in reports, e.g. "top"), ``model``, ``data``,
    ``training``."""

    task: str | None = None
    model: ModelSection = ModelSection()
    data: DataConfig = DataConfig()
    training: TrainingSection = TrainingSection()

    #: the ``training.monitor`` values this kind of run computes (unlabelled runs have no val_auc)
    MONITORS: ClassVar[tuple[str, ...]] = ("val_loss", "val_auc")
    #: whether ``training.compile`` applies (the tagger's forward pass; other runs call other model methods)
    COMPILES: ClassVar[bool] = True

    @model_validator(mode="after")
    def _monitor_computed(self):
        if self.training.monitor not in self.MONITORS:
            raise ValueError(f"'training.monitor' must be {' or '.join(self.MONITORS)} for this kind of run (val_auc "
                             f"needs labelled jets), got {self.training.monitor!r}")
        if self.training.compile and not self.COMPILES:
            raise ValueError("'training.compile' compiles a tagger's forward pass and applies to 'jetgnn train' "
                             "only: remove it from this config")
        return self

    @classmethod
    def from_raw(cls, raw) -> TrainConfig:
        """Validated config of a raw dict (one InputError line naming the dotted key at fault)."""
        return validate_model(cls, raw, ErrorStyle(where="config"))


def validate(config, model: type[TrainConfig] = TrainConfig) -> TrainConfig:
    """The validated config of a dict (defaults filled in; see :class:`TrainConfig`)."""
    return model.from_raw(config)


def parse_override(text: str) -> tuple[str, object]:
    """``training.epochs=3`` -> ("training.epochs", 3) with the value parsed as YAML."""
    if "=" not in text:
        raise InputError(f"override {text!r} must look like key=value (e.g. training.epochs=3)")
    key, value = text.split("=", 1)
    if not key.strip():
        raise InputError(f"override {text!r} has no key before '=' (e.g. training.epochs=3)")
    return key.strip(), parse_yaml(value, f"override {text!r}")


def apply_overrides(config: dict, overrides: list[str] | dict) -> dict:
    """Set dotted keys in a (raw) config dict; unknown keys are reported by validation later."""
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
    """A raw config dict from a YAML path, a dict or a validated config (validate with :func:`validate`)."""
    if isinstance(source, ConfigModel):
        return source.to_dict()
    if isinstance(source, dict):
        return copy.deepcopy(source)
    path = Path(os.fspath(source))
    data = read_yaml(path, "config") or {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a config must be a mapping of sections")
    return data


def resolve_config(config, explicit: dict, overrides=None, model: type[TrainConfig] = TrainConfig) -> TrainConfig:
    """The validated config: file or dict, then ``key=value`` overrides, then the command-line values in
    ``explicit`` (dotted key -> value; None and empty lists are skipped)."""
    raw = apply_overrides(load_config(config), overrides or [])
    raw = apply_overrides(raw, {k: v for k, v in explicit.items() if v not in (None, [], ())})
    return model.from_raw(raw)
