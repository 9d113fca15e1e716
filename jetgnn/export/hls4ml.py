"""FPGA firmware of a trigger tagger or anomaly model with hls4ml, and its bit-accurate C++ emulation (no FPGA
toolchain needed).

What is exported is the network after the input standardisation: ``body`` and ``head`` of an
:class:`~jetgnn.models.mlp_baseline.MLPTagger` on jet features, with a softmax; a particle-flow network
(:class:`~jetgnn.models.deep_sets.PFN`) on a fixed number N of particle slots (the run's
``data.graph.max_particles``; :class:`DeepSetsFirmware`); or, for the trigger anomaly model
(:class:`~jetgnn.models.anomaly.feature_vae.FeatureVAE`, ``jetgnn anomaly train``), its encoder and μ
head, whose outputs give the clipped-KL score :math:`\tfrac12\\sum_k \\mu_k^2` (a sum of squares after the
firmware; :meth:`Hls4mlExport.anomaly_score`). The standardisation (the frozen input BatchNorm, an affine map per
feature) runs where the features are computed, before the firmware, and is written next to the project
(``preprocessing.json``).

Three routes:
- a quantisation-aware mlp or feature_vae (``model.quantization``, Brevitas) goes Brevitas -> QONNX -> hls4ml:
  every weight and activation precision comes from the QONNX ``Quant`` nodes, so the firmware computes what
  PyTorch computed;
- a quantisation-aware PFN goes through hls4ml's PyTorch front end (its ONNX front end has no Einsum or
  ReduceSum for the sum over particles), with the quantised weights and every Brevitas quantiser's fixed-point
  type (power-of-two scale, bits, round-half-even, saturation: the types the QONNX route reads from ``Quant``
  nodes) written into the hls4ml configuration;
- a float network goes through hls4ml's PyTorch front end with one fixed-point type everywhere
  (post-training quantisation, ``precision``; default ``fixed<16,6>``, the hls4ml jet-tagging choice); a PFN's sum
  over N particles gets log2(N) more integer bits, so it cannot overflow.

In both, the logits feeding the softmax and the softmax's tables get the pinned ``softmax_precision``: with the
automatic choice the softmax lookup table collapses (~47% argmax agreement with PyTorch instead of ~99%).
Accumulators get the wide ``accumulator_precision``, so that only the softmax tables round. The layers' C++
configs are formatted again after these pins (hls4ml formats them at conversion, and the softmax derives the
index type of its exp table from its input's type then).

``compile()`` builds the C++ emulation library with g++ (the optional extra ``jetgnn[trigger]``: hls4ml, qonnx,
brevitas); without g++ the project is written and the emulation is skipped with one message.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.utils import to_dense_batch

from jetgnn.datasets.anomaly_inputs import model_inputs
from jetgnn.errors import InputError, MissingExtraError
from jetgnn.graphs.builder import build_graphs
from jetgnn.models.anomaly.feature_vae import FeatureVAE
from jetgnn.models.anomaly.vae import clipped_kl
from jetgnn.models.deep_sets import PFN
from jetgnn.models.mlp_baseline import MLPTagger
from jetgnn.tagger import AnomalyTagger

#: defaults: ap_fixed<16,6> for a float network (the hls4ml jet-tagging choice), wide accumulators, and the
#: precision pinned before the softmax
DEFAULT_PRECISION = "fixed<16,6>"
ACCUMULATOR_PRECISION = "fixed<48,20>"  # 28 fractional bits: 16-bit biases and the products add exactly
SOFTMAX_PRECISION = "fixed<18,2,RND,SAT>"
#: the softmax tables: the index of the exp table is the top log2(table size) bits of x_i - max(x), so its type
#: spans [-16, 16) (saturating: a difference below -16 has exp ~ 1e-7); the 1/sum table covers sums up to 16
SOFTMAX_INPUT_PRECISION = "fixed<18,5,RND,SAT>"
SOFTMAX_INVERSE_PRECISION = "fixed<18,4,RND,SAT>"
SOFTMAX_TABLE_SIZE = 32768  # steps of 0.001 in x_i - max(x): fewer ties between close classes
#: the pinned type of the logits entering the softmax: its (unsigned) x_i - max(x) spans [0, 32) in the exp
#: table's 4096 steps; the automatic type of a quantised network is ~26 bits wide with 9 integer bits, which
#: leaves steps of 0.06 in the logits (measured: 95% argmax agreement, max |dp| 0.056, instead of >= 99%)
LOGIT_PRECISION = "fixed<16,6,RND,SAT>"
#: the deep sets' particle mask: 1 for a particle, 0 for an empty slot
MASK_PRECISION = "ufixed<1,1>"


def _hls4ml():
    try:
        import hls4ml
    except ImportError as err:
        raise MissingExtraError("trigger", "hls4ml, qonnx, brevitas", "jetgnn export --format hls4ml") from err
    return hls4ml


def has_compiler() -> bool:
    """True if g++ (what hls4ml's C++ emulation compiles with) is on the PATH."""
    return shutil.which("g++") is not None


class DeepSetsFirmware(nn.Module):
    r"""A particle-flow network on ``n_particles`` fixed slots, as the firmware computes it:
    :math:`p = \mathrm{softmax}\,F\big(\sum_{i=1}^{N} m_i\, \Phi(x_i)\big)`, with the slot mask :math:`m_i` (1 for a
    particle, 0 for an empty slot).

    The masked sum is one two-input Einsum (an hls4ml layer): an empty slot adds nothing although
    :math:`\Phi(0) \neq 0` (Φ has biases), and a jet with fewer than N particles scores as in PyTorch's sparse
    batches. Φ and F are plain ``Linear -> ReLU`` stacks (a quantised network's layers carry its quantised weights).

    With a context stack Ψ (``PFN(context=...)``), Φ's first layer acts on :math:`[x_i, s]`, with the jet's
    :math:`s = \sum_j m_j \Psi(x_j)`; it is split in two, :math:`W_x x_i + b` per slot plus :math:`W_s s` once per
    jet, broadcast to the slots by a second Einsum (an outer product with the mask) and added.

    Args:
        phi: Φ, applied to every slot; head: F, ending in the softmax; n_particles: N; context: Ψ (or None);
        phi_x, phi_s: the two parts of Φ's first Linear when there is a context (``phi`` is then the rest of Φ,
        from the first activation on).

    Shapes:
        x [B, N, F] standardised particle features (hardest first, zeros in empty slots), mask [B, N]
        -> [B, n_classes] probabilities.
    """

    def __init__(self, phi: nn.Sequential, head: nn.Sequential, n_particles: int, context: nn.Sequential | None = None,
                 phi_x: nn.Linear | None = None, phi_s: nn.Linear | None = None):
        super().__init__()
        self.phi, self.head, self.n_particles = phi, head, n_particles
        self.context, self.phi_x, self.phi_s = context, phi_x, phi_s

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.context is not None:
            # the mask comes first in these two Einsums: hls4ml's PyTorch parser passes on the shape of an Einsum's
            # first input as the shape of its output, which is then right for the Linear and the Add that follow
            jet = torch.einsum("bn,bnc->bc", mask, self.context(x))
            x = self.phi_x(x) + torch.einsum("bn,bh->bnh", mask, self.phi_s(jet))
        latent = torch.einsum("bnl,bn->bl", self.phi(x), mask)
        return self.head(torch.flatten(latent, 1))


def _flat_layers(*modules: nn.Module) -> list[nn.Module]:
    """The leaf layers of nested Sequentials, in order, without dropout (eval mode)."""
    out: list[nn.Module] = []
    for module in modules:
        if isinstance(module, nn.Sequential):
            out.extend(_flat_layers(*module))
        elif not isinstance(module, nn.Dropout):
            out.append(module)
    return out


def _is_quantiser(module: nn.Module) -> bool:
    return hasattr(module, "act_quant") and not isinstance(module, nn.Linear)


def _fixed_type(scale: torch.Tensor, bits: torch.Tensor, signed: bool, rounding: str = "") -> str:
    """The ap_fixed type of a Brevitas fixed-point tensor (power-of-two ``scale``, ``bits`` wide); ``rounding`` :
    "" for values that are exact in the type (weights, biases), else the rounding and saturation of a quantiser."""
    fractional = -math.log2(float(scale.detach()))
    if not fractional.is_integer():
        raise InputError(f"a quantiser's scale {float(scale):g} is not a power of two: it has no ap_fixed type")
    bits = int(bits)
    return f"{'' if signed else 'u'}fixed<{bits},{bits - int(fractional)}{rounding}>"


def _quantiser_type(module: nn.Module) -> str:
    """The type of a Brevitas activation quantiser's output: round half to even (ap_fixed RND_CONV, as
    torch.round), saturating (SAT; SAT_SYM for a narrow range), as hls4ml's QONNX front end maps a Quant node."""
    quant = module.act_quant
    saturation = "SAT_SYM" if getattr(quant, "is_narrow_range", False) else "SAT"
    return _fixed_type(quant.scale(), quant.bit_width(), bool(quant.is_signed), f",RND_CONV,{saturation}")


def _plain_stack(layers: list[nn.Module], prefix: str, accumulator: str) -> tuple[nn.Sequential, dict, str | None]:
    """Brevitas layers -> (plain Linear/ReLU Sequential with the quantised weights, the hls4ml ``Precision`` of each
    of its layers by hls4ml name ``{prefix}_{k}``, the type of the stack's input quantiser or None).

    A QuantLinear's sum stays in the wide ``accumulator`` (Brevitas adds in float, exactly for these widths); the
    QuantReLU after it rounds to its own type, as Brevitas does."""
    plain: list[nn.Module] = []
    types: dict[str, dict] = {}
    input_type = None
    for layer in layers:
        name = f"{prefix}_{len(plain)}"
        if isinstance(layer, nn.Linear) and hasattr(layer, "quant_weight"):
            weight, bias = layer.quant_weight(), layer.quant_bias()
            linear = nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                linear.weight.copy_(weight.value)
                linear.bias.copy_(bias.value)
            plain.append(linear)
            types[name] = {"weight": _fixed_type(weight.scale, weight.bit_width, True),
                           "bias": _fixed_type(bias.scale, bias.bit_width, True),
                           "accum": accumulator, "result": accumulator}
        elif _is_quantiser(layer) and type(layer).__name__ == "QuantReLU":
            plain.append(nn.ReLU())
            types[name] = {"result": _quantiser_type(layer)}
        elif _is_quantiser(layer) and not plain and input_type is None:
            input_type = _quantiser_type(layer)  # QuantIdentity at the entrance: the type of what enters
        else:
            raise InputError(f"hls4ml export of a quantised pfn: unexpected layer {type(layer).__name__} in {prefix}")
    return nn.Sequential(*plain), types, input_type


@dataclass
class _Firmware:
    """What hls4ml converts: the network, its input shapes (without the batch axis), pinned ``Precision`` entries
    by hls4ml layer name (on top of the default precision), and whether it ends in a softmax."""

    network: nn.Module
    input_shapes: list[tuple[int, ...]]
    types: dict[str, dict]
    softmax: bool


def _deep_sets_firmware(model: PFN, n_particles: int | None, precision: str, accumulator: str) -> _Firmware:
    if n_particles is None:
        raise InputError("hls4ml export of a pfn needs a fixed number of particle slots: train it with "
                         "data.graph.max_particles (e.g. 32; the trigger deep sets use 32)")
    phi, head = _flat_layers(model.phi), _flat_layers(model.head)
    context = _flat_layers(model.context) if model.context is not None else []
    split = {}
    if model.quantization is None:
        others = sorted({type(m).__name__ for m in phi + head + context if not isinstance(m, (nn.Linear, nn.ReLU))})
        if others:
            raise InputError(f"hls4ml export of a pfn needs Linear -> ReLU layers (hls4ml has no {', '.join(others)}): "
                             "train it with model.params.activation: relu")
        # the sum over N slots needs log2(N) more integer bits than one slot: exact, never wrapping; F acts on sums,
        # so its layers keep them (measured on a 30-epoch PFN: F's first layer reaches 101, which wrapped at
        # fixed<16,6>: 95.9% argmax agreement, max |dp| 0.90)
        extra = math.ceil(math.log2(n_particles))
        width, integer = (int(v) for v in precision.split("<")[1].split(">")[0].split(",")[:2])
        wide = f"fixed<{width + extra},{integer + extra}>"
        # hls4ml names the Einsums in order: with a context, the sum over the slots is the third
        types = {"einsum_2" if context else "einsum": {"accum": wide, "result": wide},
                 **{f"head_{k}": {"result": wide} for k in range(len(head))}}
        if context:
            # Φ's first Linear on [x_i, s] -> W_x x_i + b (per slot) plus W_s s (per jet), broadcast and added;
            # s, W_s s and the sum before Φ's first activation carry the sums' extra integer bits
            first, phi = phi[0], phi[1:]
            n_x = len(model.spec.x_names)
            phi_x, phi_s = nn.Linear(n_x, first.out_features), nn.Linear(first.in_features - n_x, first.out_features,
                                                                          bias=False)
            # the context's frozen BatchNorm, s -> a s + c, folds into the split layer:
            # W_s (a s + c) = (W_s a) s + W_s c, the constant joining the per-slot bias
            norm = model.context_norm
            a = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            c = norm.bias - norm.running_mean * a
            with torch.no_grad():
                phi_x.weight.copy_(first.weight[:, :n_x])
                phi_x.bias.copy_(first.bias + first.weight[:, n_x:] @ c)
                phi_s.weight.copy_(first.weight[:, n_x:] * a)
            split = {"context": nn.Sequential(*context), "phi_x": phi_x, "phi_s": phi_s}
            # W_s a multiplies sums of ~30 particles: its weights (~0.02, measured) get 8 more fractional bits than
            # the default type (there, 3% steps: 84% argmax agreement on a 4-epoch network)
            w_int = max(1, math.ceil(math.log2(float(phi_s.weight.detach().abs().max()) + 1e-12)) + 1)
            w_type = f"fixed<{width + 8},{w_int}>"
            types.update({"einsum": {"accum": wide, "result": wide},
                          "phi_s": {"weight": w_type, "accum": wide, "result": wide},
                          "einsum_1": {"accum": wide, "result": wide}, "phi_x": {"result": wide},
                          "add": {"result": wide}})
        phi_net, head_net = nn.Sequential(*phi), nn.Sequential(*head)
    else:
        phi_net, types, x_type = _plain_stack(phi, "phi", accumulator)
        head_net, head_types, sum_type = _plain_stack(head, "head", accumulator)
        types.update(head_types)
        # the firmware receives fixed-point features of the input quantiser's type; the head's input quantiser
        # re-quantises the sum, which the Einsum does when it writes its result
        types.update({"x": {"result": x_type}, "einsum": {"accum": accumulator, "result": sum_type}})
    types["mask"] = {"result": MASK_PRECISION}
    network = DeepSetsFirmware(phi_net, nn.Sequential(*head_net, nn.Softmax(dim=-1)), n_particles, **split).eval()
    return _Firmware(network, [(n_particles, len(model.spec.x_names)), (n_particles,)], types, True)


def firmware_model(model: nn.Module, n_particles: int | None = None) -> nn.Module:
    """The part of a trigger model that runs in firmware (eval mode, dropout gone): ``body -> head -> softmax``
    of an mlp tagger on jet features, ``encoder -> mu`` of a feature_vae, or a pfn's :class:`DeepSetsFirmware`
    on ``n_particles`` slots (its quantised layers as plain layers with the quantised weights)."""
    if isinstance(model, FeatureVAE):
        if model.score_name != "kl_mu":
            raise InputError(f"hls4ml export of feature_vae computes the clipped-KL score kl_mu from the encoder's mu; "
                             f"this run scores {model.score_name!r}: train with anomaly.score: kl_mu")
        return nn.Sequential(*[m for m in model.encoder if not isinstance(m, nn.Dropout)], model.mu).eval()
    if isinstance(model, PFN):
        return _deep_sets_firmware(model, n_particles, DEFAULT_PRECISION, ACCUMULATOR_PRECISION).network
    if not isinstance(model, MLPTagger) or model.use_particles:
        raise InputError("hls4ml export is for the mlp on jet features (model.name: mlp, use_particles: false), the "
                         f"deep sets pfn and the anomaly model feature_vae; this run is {type(model).__name__}"
                         + (" on particles" if isinstance(model, MLPTagger) else ""))
    layers = [m for m in [*model.body, model.head] if not isinstance(m, nn.Dropout)]
    return nn.Sequential(*layers, nn.Softmax(dim=1)).eval()


@dataclass(frozen=True)
class Standardisation:
    """x_firmware = (x - offset) * scale per input feature (the frozen input BatchNorm); names : the features."""

    names: list[str]
    offset: list[float]
    scale: list[float]

    @classmethod
    def of(cls, tagger) -> Standardisation:
        """The input map of a Tagger's mlp (jet features) or pfn (node features, as :func:`~jetgnn.build_graphs`
        gives them), or of an AnomalyTagger's feature_vae (whose BatchNorm has no affine part)."""
        norm = tagger.model.input_norm
        weight = torch.ones_like(norm.running_mean) if norm.weight is None else norm.weight.detach()
        bias = torch.zeros_like(norm.running_mean) if norm.bias is None else norm.bias.detach()
        scale = (weight / torch.sqrt(norm.running_var + norm.eps)).double()
        offset = (norm.running_mean - bias / scale).double()
        if isinstance(tagger, AnomalyTagger):
            names = list(tagger.inputs.features)
        elif isinstance(tagger.model, PFN):
            names = list(tagger.model.spec.x_names)
        else:
            names = [tagger.model.spec.u_names[int(k)] for k in tagger.model.global_index]
        return cls(names, offset.tolist(), scale.tolist())


def firmware_inputs(tagger, jets) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """The standardised inputs of the firmware for ``jets`` (float32, C order): [n_jets, n_features], or for a pfn
    the pair ([n_jets, N, n_features] particle slots, hardest first, zeros in empty slots; [n_jets, N] mask, 1 for a
    particle) with N the run's ``data.graph.max_particles``."""
    model = tagger.model
    with torch.no_grad():
        if isinstance(model, PFN):
            batch = build_graphs(jets, **tagger.graph_options)
            n_slots = tagger.graph_options.get("max_particles")
            if n_slots is None:
                raise InputError("the firmware of a pfn has data.graph.max_particles slots; this run has no cap")
            slots, mask = to_dense_batch(model.input_norm.eval()(batch.x), batch.batch, batch_size=batch.num_graphs,
                                         max_num_nodes=n_slots)
            return (np.ascontiguousarray(slots.numpy().astype(np.float32)),
                    np.ascontiguousarray(mask.numpy().astype(np.float32)))
        if isinstance(tagger, AnomalyTagger):
            standardised = model.input_norm.eval()(torch.as_tensor(model_inputs(jets, tagger.inputs)[0]))
        else:
            standardised = model.input_norm.eval()(model.inputs(build_graphs(jets, **tagger.graph_options)))
        return np.ascontiguousarray(standardised.numpy().astype(np.float32))


def _wide_accumulators(config: dict, accumulator: str) -> list[str]:
    """Give every layer of an hls4ml config the wide ``accumulator`` type; returns the layer names."""
    layers = config.setdefault("LayerName", {})
    names = list(layers)
    for name in names:
        precision = layers[name].setdefault("Precision", {})
        if isinstance(precision, dict) and "accum" in precision:
            precision["accum"] = accumulator
    return names


def _pin_softmax(config: dict, softmax_precision: str, accumulator: str) -> None:
    """Wide accumulators everywhere, the pinned precision on the logits and in the softmax tables."""
    names = _wide_accumulators(config, accumulator)
    layers = config["LayerName"]
    # the ONNX front end names it Softmax_0; the PyTorch one by module index: it is the last layer either way
    softmax = [name for name in names if "softmax" in name.lower()] or names[-1:]
    for name in softmax:
        layers[name]["Precision"] = {"result": softmax_precision, "exp_table": softmax_precision,
                                     "table": SOFTMAX_INPUT_PRECISION, "inv_inp": SOFTMAX_INPUT_PRECISION,
                                     "inv_table": SOFTMAX_INVERSE_PRECISION, "accum": accumulator}
        layers[name]["TableSize"] = SOFTMAX_TABLE_SIZE
        layers[name]["Implementation"] = "stable"


def _set_precision(target, source) -> None:
    """Give the fixed-point type ``target`` the width, integer bits, sign, rounding and saturation of ``source``."""
    target.width, target.integer, target.signed = source.width, source.integer, source.signed
    target.rounding_mode, target.saturation_mode = source.rounding_mode, source.saturation_mode


def _pin_input(hls_model) -> None:
    """A quantised network's firmware input is of its input quantiser's type (hardware receives fixed-point
    features): with a wider, truncating input type, values a hair above a rounding boundary flip by one LSB
    (measured: 1 LSB input differences that propagate to ~5% of the decisions)."""
    layers = list(hls_model.graph.values())
    first = next((layer for layer in layers[1:2] if layer.get_input_variable() is not None), None)
    if layers and layers[0].class_name == "Input" and first is not None and "quant" in first.name.lower():
        _set_precision(layers[0].get_output_variable().type.precision,
                       first.get_output_variable().type.precision)


def _transpose_linear_weights(hls_model) -> None:
    """[out, in] PyTorch Linear weights -> the [in, out] layout of hls4ml's Dense and pointwise Conv1D (per particle)
    layers, for a model converted without the channels-last pass."""
    for layer in hls_model.graph.values():
        weight = layer.weights.get("weight") if hasattr(layer, "weights") else None
        if weight is not None and layer.class_name in ("Dense", "PointwiseConv1D", "Conv1D"):
            weight.data = np.ascontiguousarray(np.swapaxes(weight.data, -1, -2))
            weight.shape = list(weight.data.shape)


def _pin_logits(hls_model) -> None:
    """Set the type of the logits feeding the softmax in the converted model (hls4ml's precision passes run at
    conversion and would otherwise choose it; the config cannot name the layer, which hls4ml renames)."""
    parse = hls_model.config.backend.convert_precision_string
    pinned = parse(LOGIT_PRECISION)
    for layer in hls_model.graph.values():
        if layer.class_name == "Softmax":
            _set_precision(layer.get_input_variable().type.precision, pinned)  # the producer's output, in place
            # the 1/sum table is indexed by the top bits of the sum of exps: its type must span [0, n_classes]
            # closely (hls4ml's default, 8 integer bits, leaves steps of 0.06 in the sum: measured 95.5% argmax
            # agreement and max |dp| 0.056 with every earlier layer bit-exact); the exps lie in (0, 1]
            n_sum_bits = max(1, math.ceil(math.log2(layer.get_input_variable().shape[-1] + 1)))
            for name, text in (("inv_inp_t", f"ufixed<18,{n_sum_bits},RND,SAT>"),
                               ("exp_table_t", "ufixed<18,1,RND,SAT>"), ("inv_table_t", "ufixed<18,1,RND,SAT>")):
                _set_precision(layer.attributes[name].precision, parse(text))
            # the exp table's index x_max - x_i has an unsigned type that hls4ml derives from the logits' type
            # (ufixed<15,5> for fixed<16,6>: [0, 32)) and that wraps: a jet whose logits spread over more than 32
            # looked up exp(-(spread - 32)) for its least likely class (measured: p = 0.34 instead of 4e-15, on 1 in
            # 10,000 jets of a 700k-jet deep sets). The same type, saturating (exp(-32) ~ 1e-14)
            norm = copy.deepcopy(layer.attributes["exp_table_t"])
            norm.name = f"{layer.name}_inp_norm_t"
            _set_precision(norm.precision, parse(f"ufixed<{pinned.width - 1},{pinned.integer - 1},TRN,SAT>"))
            layer.set_attr("inp_norm_t", norm)


def _qonnx_graph(network: nn.Sequential, n_inputs: int, path: Path):
    """Brevitas -> QONNX file at ``path``, cleaned for hls4ml (shapes inferred, Gemm as MatMul); the ModelWrapper."""
    try:
        from brevitas.export import export_qonnx
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
        from qonnx.transformation.gemm_to_matmul import GemmToMatMul
        from qonnx.util.cleanup import cleanup_model
    except ImportError as err:
        raise MissingExtraError("trigger", "brevitas, qonnx, onnxoptimizer", "the QONNX export") from err
    export_qonnx(network, input_t=torch.zeros(1, n_inputs), export_path=str(path))
    graph = cleanup_model(ModelWrapper(str(path)))
    graph = graph.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul())
    graph = cleanup_model(graph)
    graph.save(str(path))
    return graph


@dataclass
class Hls4mlExport:
    """An exported firmware project: ``out`` (the hls4ml project, ``preprocessing.json``, ``model.qonnx`` for a
    quantised network), the hls4ml model (``hls_model``; ``compiled`` if the C++ emulation is built);
    ``label_names`` : the classes of a tagger (None for the anomaly model); ``outputs`` : the firmware's output
    names (the classes, or mu_0 ... of a feature_vae)."""

    out: Path
    hls_model: object
    standardisation: Standardisation
    quantized: bool
    compiled: bool
    label_names: list[str] | None
    outputs: list[str]

    def predict(self, inputs: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
        """[n_jets, n_outputs] outputs of the C++ emulation for standardised ``inputs`` (as
        :func:`firmware_inputs` gives them: one array, or a pfn's (slots, mask) pair)."""
        if not self.compiled:
            raise InputError("the hls4ml emulation was not compiled (no g++ on the PATH)")
        arrays = [np.ascontiguousarray(a, dtype=np.float32) for a in (inputs if isinstance(inputs, tuple)
                                                                      else (inputs,))]
        out = self.hls_model.predict(arrays if len(arrays) > 1 else arrays[0])
        return np.asarray(out, dtype=np.float64).reshape(len(arrays[0]), -1)

    def predict_proba(self, inputs: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
        """[n_jets, n_classes] probabilities of a tagger's C++ emulation for standardised ``inputs``."""
        if self.label_names is None:
            raise InputError("this firmware is an anomaly model: use anomaly_score")
        return self.predict(inputs)

    def anomaly_score(self, inputs: np.ndarray) -> np.ndarray:
        """[n_jets] clipped-KL score 0.5 * sum(mu^2) of a feature_vae's C++ emulation for standardised
        ``inputs``."""
        if self.label_names is not None:
            raise InputError("this firmware is a tagger: use predict_proba")
        return clipped_kl(torch.from_numpy(self.predict(inputs))).numpy()


def export_hls4ml(tagger, out, precision: str = DEFAULT_PRECISION, softmax_precision: str = SOFTMAX_PRECISION,
                  accumulator_precision: str = ACCUMULATOR_PRECISION, backend: str = "Vitis",
                  io_type: str = "io_parallel", compile: bool = True) -> Hls4mlExport:
    """Write the hls4ml project of a trigger tagger (a :class:`~jetgnn.Tagger` of an mlp on jet features or of a
    pfn with a particle cap, or the :class:`~jetgnn.tagger.AnomalyTagger` of a feature_vae) to the new folder ``out``
    and build its C++ emulation (if ``compile`` and g++ is there).

    precision : fixed-point type of a float network's weights and activations (ignored for a quantisation-aware
    network, which carries its own); softmax_precision : the pinned type of the logits and softmax
    tables; accumulator_precision : the type of the sums inside the dense layers.
    """
    hls4ml = _hls4ml()
    model = tagger.model
    standardisation = Standardisation.of(tagger)
    quantized = getattr(model, "quantization", None) is not None
    deep_sets = isinstance(model, PFN)
    if deep_sets:
        firmware = _deep_sets_firmware(model, tagger.graph_options.get("max_particles"), precision,
                                       accumulator_precision)
    else:
        network = firmware_model(model)
        firmware = _Firmware(network, [(len(standardisation.names),)], {}, isinstance(network[-1], nn.Softmax))
    network, softmax = firmware.network, firmware.softmax
    outputs = list(tagger.label_names) if softmax else [f"mu_{k}" for k in range(network[-1].out_features)]
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty: choose a new --out for the hls4ml project")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if quantized and not deep_sets:
            graph = _qonnx_graph(network, len(standardisation.names), work / "model.qonnx")
            config = hls4ml.utils.config_from_onnx_model(graph, granularity="name", backend=backend,
                                                         default_precision=accumulator_precision)

            def convert():
                return hls4ml.converters.convert_from_onnx_model(graph, output_dir=str(work / "hls"),
                                                                 backend=backend, io_type=io_type,
                                                                 hls_config=config)
        else:
            # the deep sets' slots are [N, features], already channels-last: hls4ml's channels-last pass would
            # transpose them, so it is off and the Linear weights are transposed here instead (that pass is where
            # hls4ml's PyTorch front end transposes them otherwise)
            shapes = firmware.input_shapes if deep_sets else firmware.input_shapes[0]
            config = hls4ml.utils.config_from_pytorch_model(
                network, shapes, granularity="name", backend=backend, default_precision=precision,
                channels_last_conversion="off" if deep_sets else "full")

            def convert():
                converted = hls4ml.converters.convert_from_pytorch_model(network, output_dir=str(work / "hls"),
                                                                         backend=backend, io_type=io_type,
                                                                         hls_config=config)
                if deep_sets:
                    _transpose_linear_weights(converted)
                return converted
        if softmax:
            _pin_softmax(config, softmax_precision, accumulator_precision)
        else:
            _wide_accumulators(config, accumulator_precision)
        for name, types in firmware.types.items():
            config["LayerName"][name].setdefault("Precision", {}).update(types)
        hls_model = convert()
        if softmax:
            _pin_logits(hls_model)
        if quantized and not deep_sets:
            _pin_input(hls_model)
        # the layers' C++ configs were formatted at conversion, from the types before the pins: format them again
        # (the softmax derives the index type of its exp table, x_max - x_i, from its input's type; left at the
        # float route's automatic ufixed<37,17>, a 15-bit index steps by 4 in the logits: 54% argmax agreement)
        hls_model.apply_flow(f"{backend.lower()}:apply_templates")
        score = {} if softmax else {"score": "kl_mu = 0.5 * sum_k mu_k^2 of the firmware outputs"}
        (work / "preprocessing.json").write_text(json.dumps(
            {**asdict(standardisation), "label_names": list(tagger.label_names) if softmax else None,
             "outputs": outputs, **score, "quantized": quantized, "precision": None if quantized else precision,
             "softmax_precision": softmax_precision if softmax else None,
             **({"n_particles": network.n_particles,
                 "inputs": "x [n_particles, features]: the hardest particles first, zeros in empty slots; "
                           "mask [n_particles]: 1 for a particle, 0 for an empty slot"} if deep_sets else {}),
             "note": "x_firmware = (x - offset) * scale, features in this order"}, indent=1))
        if out.exists():
            out.rmdir()  # an empty folder given as --out
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    # the emulation reads its weight files from the project folder at run time: write it in its final place
    hls_model.config.config["OutputDir"] = str(out / "hls")
    compiled = compile and has_compiler()
    try:
        hls_model.compile() if compiled else hls_model.write()  # compile() writes the project, then builds it
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return Hls4mlExport(out, hls_model, standardisation, quantized, compiled,
                        list(tagger.label_names) if softmax else None, outputs)
