"""Model names, their hyper-parameters (from the constructors' signatures) and the one factory."""

from __future__ import annotations

import inspect
import math

import torch

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec, JetTagger
from jetgnn.models.deep_sets import EFN, PFN
from jetgnn.models.linear import LinearJetTagger
from jetgnn.models.mlp_baseline import MLPTagger
from jetgnn.models.mpnn import MPNN
from jetgnn.models.particlenet import ParticleNet
from jetgnn.models.transformer import ParticleTransformer
from jetgnn.models.vertexer import Vertexer
from jetgnn.utils.config import did_you_mean

#: name -> (class, preset parameters) of the neural taggers
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
#: the models with quantisation-aware training (``model.quantization``)
QUANTIZABLE = tuple(name for name, (cls, _) in MODELS.items()
                    if "quantization" in inspect.signature(cls.__init__).parameters)
#: every model name a config may give: the neural taggers and the scikit-learn linear baselines
MODEL_NAMES = (*MODELS, "linear")


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise InputError(f"unknown model {name!r} (choose from {', '.join(MODEL_NAMES)})"
                         f"{did_you_mean(name, MODEL_NAMES)}")


def model_parameters(name: str) -> dict:
    """The hyper-parameters of model ``name`` with their defaults (presets applied)."""
    _check_name(name)
    if name == "linear":
        signature, skip, preset = inspect.signature(LinearJetTagger.__init__), 1, {}
    else:
        cls, preset = MODELS[name]
        signature, skip = inspect.signature(cls.__init__), 3
    defaults = {p.name: p.default for p in list(signature.parameters.values())[skip:] if p.name != "quantization"}
    return {**defaults, **preset}


def check_parameters(name: str, params: dict, config: bool = False) -> None:
    """Raise InputError for a parameter that model ``name`` does not have or a value unlike its default's type;
    ``config`` words the error for a config's ``model.params``."""
    check_values(name, model_parameters(name), params, config)


def constructor_defaults(cls: type, skip: int = 1) -> dict:
    """The keyword parameters of ``cls`` with their defaults (after ``skip`` leading ones, ``self`` included)."""
    return {p.name: p.default for p in list(inspect.signature(cls.__init__).parameters.values())[skip:]}


def check_values(name: str, allowed: dict, params: dict, config: bool = False) -> None:
    """:func:`check_parameters` against the parameters ``allowed`` (name -> default) of model ``name``."""
    for key, value in params.items():
        where = f"'model.params.{key}'" if config else f"parameter {key!r}"
        if key not in allowed:
            if config:
                raise InputError(f"config: unknown key 'model.params.{key}' for model {name} (allowed: "
                                 f"{', '.join(allowed)}){did_you_mean(key, allowed)}")
            raise InputError(f"model {name}: unknown parameter {key!r} (allowed: {', '.join(allowed)})"
                             f"{did_you_mean(key, allowed)}")
        default = allowed[key]
        prefix = "config: " if config else f"model {name}: "
        if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, (int, float)) and not isinstance(value, (int, float))) or (
                isinstance(default, tuple) and not isinstance(value, (list, tuple))):
            raise InputError(f"{prefix}{where} should be like {default!r}, got {value!r}")
        problem = _value_problem(key, default, value)
        if problem:
            raise InputError(f"{prefix}{where} {problem}, got {value!r}")


#: float hyper-parameters that are fractions: dropout in [0, 1), thresholds in (0, 1)
_FRACTIONS = {"dropout": (0.0, True), "vertex_threshold": (0.0, False), "replay_ratio": (0.0, True)}
#: non-negative hyper-parameters for which 0 means "off" (penalty weights, phases, chain lengths)
_ZERO_ALLOWED = {"decorrelation", "ae_epochs", "gamma", "z_steps", "x_steps"}
#: tuple hyper-parameters that hold names, not layer widths
_NAME_LISTS = {"exclude_globals"}


def _value_problem(key: str, default, value) -> str | None:
    """What is wrong with a hyper-parameter value of the default's type (None if nothing): floats are finite,
    integers (sizes, k, heads, layers) and the widths in tuples are positive, fractions lie in [0, 1)."""
    if isinstance(default, bool) or isinstance(default, str) or default is None:
        return None
    if key in _NAME_LISTS:
        return None if all(isinstance(v, str) for v in value) else "must be a list of names"
    if isinstance(default, tuple):
        leaves = list(_leaves(value))
        if not leaves or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in leaves):
            return "must hold positive integer layer widths"
        return None
    if isinstance(default, float) and not math.isfinite(value):
        return "must be a finite number"
    if key in _FRACTIONS:
        low, closed = _FRACTIONS[key]
        interval = f"{'[' if closed else '('}{low:g}, 1)"
        if value < 0:
            return f"must not be negative (a fraction in {interval})"
        if not ((value >= low) if closed else (value > low)) or value >= 1:
            return f"must lie in {interval}"
        return None
    if value < 0:
        return "must not be negative"
    if value == 0 and key not in _ZERO_ALLOWED:
        return "must be positive"
    return None


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def orthogonal_init(model: torch.nn.Module) -> None:
    """Orthogonal weights and zero biases for every linear layer (``model.init: orthogonal``)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.orthogonal_(module.weight)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)


def build_model(model, spec: InputSpec | None = None, n_classes: int = 2, quantization=None, **params):
    """The model of a :class:`~jetgnn.models.config.ModelConfig` (name, params, init, quantization) or of a name
    with its parameters as keywords: a :class:`JetTagger` for (input ``spec``, ``n_classes``), or the unfitted
    :class:`LinearJetTagger` for ``"linear"``. Unknown or mistyped parameters fail naming the key. quantization :
    a :class:`~jetgnn.models.layers.quant.QuantSpec` (a config's ``model.quantization`` is used otherwise)."""
    if isinstance(model, str):
        name, init = model, "default"
    else:
        name, init, params = model.name, model.init, {**model.params, **params}
        if quantization is None and getattr(model, "quantization", None) is not None:
            quantization = model.quantization.spec()
    _check_name(name)
    check_parameters(name, params)
    if name == "linear":
        return LinearJetTagger(**params)
    cls, preset = MODELS[name]
    if spec is None:
        raise InputError(f"model {name} needs an input spec (the feature names of a graph batch)")
    if quantization is not None:
        if name not in QUANTIZABLE:
            raise InputError(f"quantisation-aware training is available for {', '.join(QUANTIZABLE)}, not {name}")
        params = {**params, "quantization": quantization}
    net = cls(spec, n_classes, **{**preset, **params})
    if init == "orthogonal":
        orthogonal_init(net)
    return net
