"""int8 ONNX models (``jetgnn export RUN --format onnx --quantize {dynamic,static} [--calibration FILES]``).

ONNX Runtime's quantisation tools on the fp32 export of :func:`jetgnn.export.onnx.export_onnx`:

* ``dynamic``: int8 weights of the MatMul / Gemm layers; activations are quantised on the fly per batch (no
  calibration data). Smallest effort; the models' small convolutions and attention stay fp32.
* ``static``: int8 weights and activations of the weight matrix products (MatMul, Gemm, Conv with a constant
  weight: where the arithmetic is; products of two activations such as kNN distances stay fp32) in
  QDQ format (QuantizeLinear / DequantizeLinear pairs around every quantised operator, the format TensorRT and
  other int8 back ends read), with activation ranges calibrated
  (MinMax) on real jets: the padded inputs of :func:`~jetgnn.export.onnx.onnx_inputs` for the calibration jets,
  in batches. Per-channel weight scales by default.

The quantised file keeps the fp32 file's metadata (graph options, labels, mapping) plus ``quantization``, so
:class:`~jetgnn.export.onnx.OnnxTagger` scores it exactly like the fp32 model. Accuracy and speed are not promised:
``benchmarks/onnx_latency.py`` measures both (int8 is often slower than fp32 at batch 1 on CPUs).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from jetgnn.errors import InputError
from jetgnn.utils.files import atomic_path

MODES = ("dynamic", "static")
#: operators whose inputs and weights static quantisation makes int8. Only the matrix products: quantising the
#: element-wise and Concat nodes too puts unscaled inputs of very different ranges (pT in GeV next to
#: dimensionless features) under one int8 scale before the models' input normalisation (measured on the MLP:
#: AUC 0.796 -> 0.701, 66% same decisions; with the matrix products only, see benchmarks/onnx_latency.py).
STATIC_OPS = ("MatMul", "Gemm", "Conv")
#: jets per calibration batch (the particle axis is padded per batch)
CALIBRATION_BATCH = 256


class _JetCalibration:
    """An onnxruntime ``CalibrationDataReader`` over batches of padded jet inputs."""

    def __init__(self, batches: list[dict[str, np.ndarray]]):
        self._batches = iter(batches)

    def get_next(self):
        return next(self._batches, None)

    def rewind(self):  # pragma: no cover - not used by MinMax
        raise NotImplementedError


def check_request(mode: str, has_calibration: bool) -> None:
    """One InputError line for an unknown mode or a static quantisation without calibration jets."""
    if mode not in MODES:
        raise InputError(f"unknown --quantize {mode!r}: choose one of {', '.join(MODES)}")
    if mode == "static" and not has_calibration:
        raise InputError("--quantize static needs --calibration FILES (jets to calibrate the activation ranges)")


def calibration_batches(tagger, jets, input_names: list[str], batch_size: int = CALIBRATION_BATCH) -> list[dict]:
    """The padded ONNX inputs of ``jets`` in batches of ``batch_size`` jets (what static calibration reads)."""
    from jetgnn.export.onnx import onnx_inputs

    if len(jets) == 0:
        raise InputError("static quantisation needs calibration jets (--calibration FILES): none were read")
    return [{name: inputs[name] for name in input_names}
            for inputs in (onnx_inputs(tagger, jets[start:start + batch_size])
                           for start in range(0, len(jets), batch_size))]


@contextlib.contextmanager
def _quiet_root_logger():
    """onnxruntime's quantiser logs per-tensor notices (rank-1 weights without channels) on the root logger."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def activation_products(model) -> list[str]:
    """Names of the matrix-product nodes of ``model`` (onnx ModelProto) that multiply two activations (no
    constant weight): pairwise distances of kNN graphs, attention scores. Static quantisation leaves them fp32:
    int8 coordinates pick wrong kNN neighbours (measured: ParticleNet-Lite on the five-class jets, 60% of the fp32
    decisions with them quantised)."""
    constants = {init.name for init in model.graph.initializer}
    constants |= {out for node in model.graph.node if node.op_type == "Constant" for out in node.output}
    return [node.name for node in model.graph.node
            if node.op_type in STATIC_OPS and not any(name in constants for name in node.input[:2])]


def _quantize(mode: str, source: Path, target: Path, calibration, per_channel: bool) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    # reduce_range: 7-bit weights. On x86 CPUs without VNNI, ONNX Runtime's u8 x s8 kernels (VPMADDUBSW) saturate
    # the int16 sums of pairs of full-range products: on an AVX2-only EPYC every score of a small transformer moved
    # by +0.026..+0.055 and 34% of its decisions at 0.5 survived (dynamic and static alike); with 7-bit weights
    # |dp| <= 0.003 and all survived. A file is exported once and run on any CPU, so it is always on.
    if mode == "dynamic":
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=per_channel,
                         reduce_range=True)
    else:
        excluded = activation_products(onnx.load(str(source)))
        quantize_static(str(source), str(target), _JetCalibration(calibration), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(STATIC_OPS), nodes_to_exclude=excluded,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=per_channel,
                        calibrate_method=CalibrationMethod.MinMax, reduce_range=True,
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})


def quantize_onnx(fp32_path, out, mode: str, calibration: list[dict] | None = None, per_channel: bool = True) -> Path:
    """Write the int8 version of the fp32 ONNX model ``fp32_path`` to ``out`` (atomically); returns ``out``.

    mode : "dynamic" or "static"; calibration : for "static", batches of input arrays (:func:`calibration_batches`).
    """
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    check_request(mode, bool(calibration))
    out = Path(out)
    metadata = {p.key: p.value for p in onnx.load(str(fp32_path), load_external_data=False).metadata_props}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:  # shape inference + graph optimisation, as onnxruntime recommends before quantising
            quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001 - some exported graphs defeat the pre-processor; quantise them as they are
            prepared = Path(fp32_path)
        quantized = Path(tmp) / "int8.onnx"
        with _quiet_root_logger():
            _quantize(mode, prepared, quantized, calibration, per_channel)
        model = onnx.load(str(quantized))
        del model.metadata_props[:]
        n_calibration = sum(len(next(iter(batch.values()))) for batch in calibration or [])
        metadata["quantization"] = json.dumps({"mode": mode, "per_channel": per_channel, "weight_bits": 7,
                                               "calibration_jets": n_calibration})
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        with atomic_path(out, suffix=".onnx") as target:
            onnx.save_model(model, str(target))
    return out
