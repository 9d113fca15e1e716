"""FPGA firmware of a trigger tagger or anomaly model with hls4ml, and its bit-accurate C++ emulation (no FPGA
toolchain needed).

What is exported is the network after the input standardisation: ``body`` and ``head`` of an
:class:`~jetgnn.models.mlp_baseline.MLPTagger` on jet features, with a softmax; or, for the trigger anomaly
model (:class:`~jetgnn.models.anomaly.feature_vae.FeatureVAE`, ``jetgnn anomaly train``), its encoder and μ
head, whose outputs give the clipped-KL score :math:`\tfrac12\\sum_k \\mu_k^2` (a sum of squares after the
firmware; :meth:`Hls4mlExport.anomaly_score`). The standardisation (the frozen input BatchNorm, an affine map per
feature) runs where the features are computed, before the firmware, and is written next to the project
(``preprocessing.json``).

Two routes:
- a quantisation-aware network (``model.quantization``, Brevitas) goes Brevitas -> QONNX -> hls4ml: every weight
  and activation precision comes from the QONNX ``Quant`` nodes, so the firmware computes what PyTorch computed;
- a float network goes through hls4ml's PyTorch front end with one fixed-point type everywhere
  (post-training quantisation, ``precision``; default ``fixed<16,6>``, the hls4ml jet-tagging choice).

In both, the logits feeding the softmax and the softmax's tables get the pinned ``softmax_precision``: with the
automatic choice the softmax lookup table collapses (~47% argmax agreement with PyTorch instead of ~99%).
Accumulators get the wide ``accumulator_precision``, so that only the softmax tables round. The layers' C++
configs are formatted again after these pins (hls4ml formats them at conversion, and the softmax derives the
index type of its exp table from its input's type then).

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

from jetgnn.datasets.anomaly_inputs import model_inputs
from jetgnn.errors import InputError, MissingExtraError
from jetgnn.graphs.builder import build_graphs
from jetgnn.models.anomaly.feature_vae import FeatureVAE
from jetgnn.models.anomaly.vae import clipped_kl
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
    """The part of a trigger model that runs in firmware (eval mode, dropout gone): ``body -> head -> softmax``
    of an mlp tagger on jet features, ``encoder -> mu`` of a feature_vae."""
    if isinstance(model, FeatureVAE):
        if model.score_name != "kl_mu":
            raise InputError(f"hls4ml export of feature_vae computes the clipped-KL score kl_mu from the encoder's mu; "
                             f"this run scores {model.score_name!r}: train with anomaly.score: kl_mu")
        return nn.Sequential(*[m for m in model.encoder if not isinstance(m, nn.Dropout)], model.mu).eval()
    if not isinstance(model, MLPTagger) or model.use_particles:
        raise InputError("hls4ml export is for the mlp on jet features (model.name: mlp, use_particles: false) and "
                         f"the anomaly model feature_vae; this run is {type(model).__name__}"
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
        """The input map of a Tagger's mlp or an AnomalyTagger's feature_vae (whose BatchNorm has no affine
        part)."""
        norm = tagger.model.input_norm
        weight = torch.ones_like(norm.running_mean) if norm.weight is None else norm.weight.detach()
        bias = torch.zeros_like(norm.running_mean) if norm.bias is None else norm.bias.detach()
        scale = (weight / torch.sqrt(norm.running_var + norm.eps)).double()
        offset = (norm.running_mean - bias / scale).double()
        if isinstance(tagger, AnomalyTagger):
            names = list(tagger.inputs.features)
        else:
            names = [tagger.model.spec.u_names[int(k)] for k in tagger.model.global_index]
        return cls(names, offset.tolist(), scale.tolist())


def firmware_inputs(tagger, jets) -> np.ndarray:
    """[n_jets, n_features] standardised inputs of the firmware for ``jets`` (float32, C order)."""
    model = tagger.model
    with torch.no_grad():
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

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """[n_jets, n_outputs] outputs of the C++ emulation for standardised ``inputs``."""
        if not self.compiled:
            raise InputError("the hls4ml emulation was not compiled (no g++ on the PATH)")
        out = self.hls_model.predict(np.ascontiguousarray(inputs, dtype=np.float32))
        return np.asarray(out, dtype=np.float64).reshape(len(inputs), -1)

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
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
    """Write the hls4ml project of a trigger tagger (a :class:`~jetgnn.Tagger` of an mlp on jet features, or the
    :class:`~jetgnn.tagger.AnomalyTagger` of a feature_vae) to the new folder ``out`` and build its C++ emulation
    (if ``compile`` and g++ is there).

    precision : fixed-point type of a float network's weights and activations (ignored for a quantisation-aware
    network, whose QONNX graph carries its own); softmax_precision : the pinned type of the logits and softmax
    tables; accumulator_precision : the type of the sums inside the dense layers.
    """
    hls4ml = _hls4ml()
    model = tagger.model
    network = firmware_model(model)
    softmax = isinstance(network[-1], nn.Softmax)
    outputs = list(tagger.label_names) if softmax else [f"mu_{k}" for k in range(network[-1].out_features)]
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty: choose a new --out for the hls4ml project")
    standardisation = Standardisation.of(tagger)
    n_inputs = len(standardisation.names)
    quantized = getattr(model, "quantization", None) is not None
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
        if softmax:
            _pin_softmax(config, softmax_precision, accumulator_precision)
        else:
            _wide_accumulators(config, accumulator_precision)
        hls_model = convert()
        if softmax:
            _pin_logits(hls_model)
        if quantized:
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
