"""FPGA firmware of a trigger tagger with hls4ml, and its bit-accurate C++ emulation (no FPGA toolchain needed).

What is exported is the network after the input standardisation: ``body`` and ``head`` of an
:class:`~jetgnn.models.mlp_baseline.MLPTagger` on jet features, with a softmax. The standardisation (the frozen
input BatchNorm, an affine map per feature) runs where the features are computed, before the firmware, and is
written next to the project (``preprocessing.json``).

Two routes:
- a quantisation-aware network (``model.quantization``, Brevitas) goes Brevitas -> QONNX -> hls4ml: every weight
  and activation precision comes from the QONNX ``Quant`` nodes, so the firmware computes what PyTorch computed;
- a float network goes through hls4ml's PyTorch front end with one fixed-point type everywhere
  (post-training quantisation, ``precision``); only with ``allow_float``: its softmax does not follow PyTorch yet
  (measured 54% argmax agreement), so :func:`export_hls4ml` refuses it by default.

In both, the logits feeding the softmax and the softmax's tables get the pinned ``softmax_precision``: with the
automatic choice the softmax lookup table collapses (~47% argmax agreement with PyTorch instead of ~99%).
Accumulators get the wide ``accumulator_precision``, so that only the softmax tables round.

``compile()`` builds the C++ emulation library with g++ (the optional extra ``jetgnn[trigger]``: hls4ml, qonnx,
brevitas); without g++ the project is written and the emulation is skipped with one message.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from jetgnn.errors import InputError, MissingExtraError
from jetgnn.graphs.builder import build_graphs
from jetgnn.models.mlp_baseline import MLPTagger

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


def _hls4ml():
    try:
        import hls4ml
    except ImportError as err:
        raise MissingExtraError("trigger", "hls4ml, qonnx, brevitas", "jetgnn export --format hls4ml") from err
    return hls4ml


def has_compiler() -> bool:
    """True if g++ (what hls4ml's C++ emulation compiles with) is on the PATH."""
    return shutil.which("g++") is not None


def firmware_model(model: nn.Module) -> nn.Sequential:
    """The part of a trigger tagger that runs in firmware: ``body -> head -> softmax`` (eval mode, dropout gone)."""
    if not isinstance(model, MLPTagger) or model.use_particles:
        raise InputError("hls4ml export is for the mlp on jet features (model.name: mlp, use_particles: false); "
                         f"this run is {type(model).__name__}"
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
    def of(cls, model: MLPTagger) -> Standardisation:
        norm = model.input_norm
        scale = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).detach().double()
        offset = (norm.running_mean - norm.bias.detach() / scale).double()
        names = [model.spec.u_names[int(k)] for k in model.global_index]
        return cls(names, offset.tolist(), scale.tolist())


def firmware_inputs(tagger, jets) -> np.ndarray:
    """[n_jets, n_features] standardised inputs of the firmware for ``jets`` (float32, C order)."""
    model = tagger.model
    batch = build_graphs(jets, **tagger.graph_options)
    with torch.no_grad():
        return np.ascontiguousarray(model.input_norm.eval()(model.inputs(batch)).numpy().astype(np.float32))


def _pin_softmax(config: dict, softmax_precision: str, accumulator: str) -> None:
    """Wide accumulators everywhere, the pinned precision on the logits and in the softmax tables."""
    layers = config.setdefault("LayerName", {})
    names = list(layers)
    for name in names:
        precision = layers[name].setdefault("Precision", {})
        if isinstance(precision, dict) and "accum" in precision:
            precision["accum"] = accumulator
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
    quantised network), the hls4ml model (``hls_model``; ``compiled`` if the C++ emulation is built)."""

    out: Path
    hls_model: object
    standardisation: Standardisation
    quantized: bool
    compiled: bool
    label_names: list[str]

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """[n_jets, n_classes] probabilities of the C++ emulation for standardised ``inputs``."""
        if not self.compiled:
            raise InputError("the hls4ml emulation was not compiled (no g++ on the PATH)")
        out = self.hls_model.predict(np.ascontiguousarray(inputs, dtype=np.float32))
        return np.asarray(out, dtype=np.float64).reshape(len(inputs), -1)


def export_hls4ml(tagger, out, precision: str = DEFAULT_PRECISION, softmax_precision: str = SOFTMAX_PRECISION,
                  accumulator_precision: str = ACCUMULATOR_PRECISION, backend: str = "Vitis",
                  io_type: str = "io_parallel", compile: bool = True, allow_float: bool = False) -> Hls4mlExport:
    """Write the hls4ml project of a trigger tagger (a :class:`~jetgnn.Tagger` of an mlp on jet features) to the
    new folder ``out`` and build its C++ emulation (if ``compile`` and g++ is there).

    precision : fixed-point type of a float network's weights and activations (ignored for a quantisation-aware
    network, whose QONNX graph carries its own); softmax_precision : the pinned type of the logits and softmax
    tables; accumulator_precision : the type of the sums inside the dense layers; allow_float : export a float
    network anyway (its emulation does not follow PyTorch yet: for studies of the post-training route only).
    """
    hls4ml = _hls4ml()
    model = tagger.model
    network = firmware_model(model)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty: choose a new --out for the hls4ml project")
    standardisation = Standardisation.of(model)
    n_inputs = len(standardisation.names)
    quantized = getattr(model, "quantization", None) is not None
    if not quantized and not allow_float:
        raise InputError("hls4ml export needs a quantisation-aware network (train with model.quantization: "
                         "{bits: 6}); the float route (post-training fixed point) does not reproduce PyTorch yet "
                         "(measured: 54% argmax agreement)")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if quantized:
            graph = _qonnx_graph(network, n_inputs, work / "model.qonnx")
            config = hls4ml.utils.config_from_onnx_model(graph, granularity="name", backend=backend,
                                                         default_precision=accumulator_precision)

            def convert():
                return hls4ml.converters.convert_from_onnx_model(graph, output_dir=str(work / "hls"),
                                                                 backend=backend, io_type=io_type,
                                                                 hls_config=config)
        else:
            config = hls4ml.utils.config_from_pytorch_model(network, (n_inputs,), granularity="name",
                                                            backend=backend, default_precision=precision)

            def convert():
                return hls4ml.converters.convert_from_pytorch_model(network, output_dir=str(work / "hls"),
                                                                    backend=backend, io_type=io_type,
                                                                    hls_config=config)
        _pin_softmax(config, softmax_precision, accumulator_precision)
        hls_model = convert()
        _pin_logits(hls_model)
        if quantized:
            _pin_input(hls_model)
        (work / "preprocessing.json").write_text(json.dumps(
            {**asdict(standardisation), "label_names": list(tagger.label_names), "quantized": quantized,
             "precision": None if quantized else precision, "softmax_precision": softmax_precision,
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
    return Hls4mlExport(out, hls_model, standardisation, quantized, compiled, list(tagger.label_names))
