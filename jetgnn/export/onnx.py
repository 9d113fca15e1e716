"""ONNX export of trained neural taggers (``jetgnn export RUN_DIR --format onnx``) and ONNX Runtime scoring.

The exported graph takes padded per-jet tensors, with dynamic jet (B) and particle (N) axes:

==============  ===================  =============================================================
input           shape                content
==============  ===================  =============================================================
``mask``        [B, N] bool          True for real particles, False for padding (always)
``x``           [B, N, F] float32    node features ``x_names`` (jetgnn's scaled node features)
``pos``         [B, N, 2] float32    (deta, dphi) to the jet axis (radians)
``pt``          [B, N] float32       transverse momenta (GeV)
``impact``      [B, N, 4] float32    d0, dz, sigma(d0), sigma(dz) (mm; the vertexer)
``u``           [B, G] float32       jet globals ``u_names``
``adjacency``   [B, N, N] bool       edge s -> t of the built graph (only models that read graph edges:
                                     the MPNN; ParticleNet builds its kNN graphs inside the network)
``edge_attr``   [B, N, N, E] float32 edge features ``edge_attr_names`` at [b, s, t] (with ``adjacency``)
==============  ===================  =============================================================

A model's inputs are ``mask`` and the batch attributes it declares in ``reads``
(:class:`jetgnn.models.JetBatch`), in the order of this table.

Outputs: ``probabilities`` [B, n_classes] (softmax); the vertexer adds ``track_origin`` [B, N, 5] (origin class
probabilities) and ``same_vertex`` [B, N, N] (pair probabilities). Padded positions are ignored, so a jet
scores the same whatever N it is padded to. :func:`onnx_inputs` makes these arrays from jets with the
tagger's own graph options; the feature names, classes and graph options travel in the model's metadata,
so :class:`OnnxTagger` scores ROOT files without the run directory.

Anomaly models (``jetgnn anomaly train``) export their score: input ``images`` [B, 1, S, S] (the image models),
``particles`` [B, N, 3] and ``mask`` [B, N] (graph_ae) or ``features`` [B, F] (feature_vae), output
``anomaly_score`` [B]; their inputs' options travel in the metadata (``anomaly``; a run's mass map of ``jetgnn
anomaly decorrelate`` as ``mass_decorrelation``, applied after the network), and
:meth:`OnnxTagger.anomaly_score` scores jets like ``AnomalyTagger.anomaly_score``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from jetgnn.datasets.anomaly_inputs import AnomalyInputs, model_inputs
from jetgnn.errors import ExportMismatchError, InputError
from jetgnn.graphs.builder import build_graphs
from jetgnn.models import JetTagger
from jetgnn.models.layers import DenseLayout, EdgeConvBlock, EdgeGrid
from jetgnn.tagger import AnomalyTagger, Tagger, jet_scores, load_tagger, map_jet_chunks
from jetgnn.transforms.mass_decorrelation import MassQuantileMap
from jetgnn.utils.files import atomic_path
from jetgnn.version import __version__

#: every possible input, in the exported graph's order (a model takes ``mask`` and what it reads)
INPUT_ORDER = ("mask", "x", "pos", "pt", "impact", "u", "adjacency", "edge_attr")


def min_particles(model: nn.Module) -> int:
    """Smallest particle axis N the exported graph accepts: k + 1 for kNN models (padding fills it up)."""
    return 1 + max((m.k for m in model.modules() if isinstance(m, EdgeConvBlock)), default=1)


class _PaddedBatch:
    """The :class:`~jetgnn.models.JetBatch` attributes a model reads, made from padded tensors inside the exported
    graph (node tensors [B, N, ...] -> [n_nodes, ...] in the node order of a graph Batch)."""

    def __init__(self, model, mask, x=None, pos=None, pt=None, impact=None, u=None, adjacency=None, edge_attr=None):
        n_jets, n_max = mask.shape
        flat = mask.reshape(-1)
        index = torch.nonzero(flat).squeeze(1)  # node order: jet by jet, particles in input order
        torch._check(index.shape[0] > 0)  # at least one particle: lets torch.export drop empty-input branches
        self.dense_layout = DenseLayout(index, mask)
        self.num_graphs = n_jets
        self.batch = torch.div(index, n_max, rounding_mode="floor")
        for name, values in (("x", x), ("pos", pos), ("pt", pt), ("impact", impact)):
            if values is not None:
                setattr(self, name, values.reshape(n_jets * n_max, *values.shape[2:])[index])
        self.u = u
        self.x_names = model.spec.x_names
        if adjacency is not None:
            node_id = torch.cumsum(flat.long(), 0) - 1
            valid = adjacency & mask[:, :, None] & mask[:, None, :]  # [B, source, target]
            b, s, t = torch.nonzero(valid, as_tuple=True)
            torch._check(b.shape[0] > 0)
            self.edge_index = torch.stack([node_id[b * n_max + s], node_id[b * n_max + t]])
            self.edge_attr = edge_attr[b, s, t]
            # the edges into each particle in a [B, N, N] grid: sums over them without a scatter-add
            self.edge_grid = EdgeGrid((b * n_max + t) * n_max + s, index, valid.sum(1), n_max)


class PaddedTagger(nn.Module):
    """A jetgnn model as a function of padded tensors (the ONNX signature of the module docstring)."""

    def __init__(self, model: JetTagger):
        super().__init__()
        self.model = model.eval()
        reads = set(model.reads) | ({"adjacency", "edge_attr"} if model.uses_graph_edges else set())
        self.input_names = [name for name in INPUT_ORDER if name == "mask" or name in reads]
        self.output_names = ["probabilities", *(["track_origin", "same_vertex"] if model.multitask else [])]

    def forward(self, *inputs: torch.Tensor):
        batch = _PaddedBatch(self.model, **dict(zip(self.input_names, inputs, strict=True)))
        if not self.model.multitask:
            return torch.softmax(self.model(batch), dim=1)
        out = self.model.forward_all(batch)
        origin = batch.dense_layout.scatter(torch.softmax(out["origin"], dim=1))
        return torch.softmax(out["jet"], dim=1), origin, torch.sigmoid(out["edge"])


def padded_arrays(batch, input_names, n_min: int = 1, jets: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The ONNX inputs ``input_names`` of a graph Batch: node tensors padded to N = max(largest jet, n_min).

    jets : distinct indices of the batch's jets to take, in that order (int array; default all), padded to their own
    largest jet: :meth:`OnnxTagger.predict` runs buckets of jets of similar multiplicity. (Gathering here instead
    of building the graphs of a re-ordered ``Jets`` saves the awkward re-indexing: 5-9 ms per 1,024 top jets.)
    """
    ptr_all = batch.ptr.numpy()
    n_graphs = len(ptr_all) - 1
    jets = np.arange(n_graphs) if jets is None else np.asarray(jets, dtype=np.int64)
    if len(np.unique(jets)) != len(jets):
        raise ValueError(f"padded_arrays takes each jet once; got the indices {jets.tolist()}")
    counts = ptr_all[jets + 1] - ptr_all[jets]
    n_jets, n_max = len(jets), max(int(counts.max(initial=0)), n_min)
    jet = np.repeat(np.arange(n_jets), counts)  # output row of each taken node
    slot = np.arange(len(jet)) - np.repeat(np.cumsum(counts) - counts, counts)  # its place in that row
    node = ptr_all[jets][jet] + slot  # its index in the batch
    out = {"mask": np.zeros((n_jets, n_max), dtype=bool)}
    out["mask"][jet, slot] = True
    for name in ("x", "pos", "pt", "impact"):
        if name in input_names:
            values = batch[name].numpy()[node]
            dense = np.zeros((n_jets, n_max, *values.shape[1:]), dtype=np.float32)
            dense[jet, slot] = values
            out[name] = dense
    if "u" in input_names:
        out["u"] = batch.u.numpy()[jets].astype(np.float32)
    if "adjacency" in input_names:
        row = np.full(n_graphs, -1)
        row[jets] = np.arange(n_jets)
        source, target = batch.edge_index.numpy()
        graph = batch.batch.numpy()[source]
        keep = row[graph] >= 0
        source, target, graph = source[keep], target[keep], graph[keep]
        b, start = row[graph], ptr_all[graph]
        out["adjacency"] = np.zeros((n_jets, n_max, n_max), dtype=bool)
        out["adjacency"][b, source - start, target - start] = True
        out["edge_attr"] = np.zeros((n_jets, n_max, n_max, batch.edge_attr.shape[1]), dtype=np.float32)
        out["edge_attr"][b, source - start, target - start] = batch.edge_attr.numpy()[keep]
    return {name: out[name] for name in input_names}


def onnx_inputs(tagger, jets, n_min: int | None = None) -> dict[str, np.ndarray]:
    """ONNX inputs of ``jets`` (a Jets object) built with the graph options ``tagger`` was trained with."""
    wrapper = PaddedTagger(tagger.model)
    n_min = min_particles(tagger.model) if n_min is None else max(n_min, min_particles(tagger.model))
    return padded_arrays(build_graphs(jets, **tagger.graph_options), wrapper.input_names, n_min)


def _example_inputs(wrapper: PaddedTagger, n_min: int) -> tuple[torch.Tensor, ...]:
    """Random padded inputs (3 jets, N = n_min + 3, one particle of padding per jet) to trace the model with."""
    spec, n_jets, n = wrapper.model.spec, 3, n_min + 3
    generator = torch.Generator().manual_seed(0)
    mask = torch.ones(n_jets, n, dtype=torch.bool)
    mask[:, -1] = False
    values = {"x": torch.randn(n_jets, n, len(spec.x_names), generator=generator),
              "pos": 0.1 * torch.randn(n_jets, n, 2, generator=generator), "mask": mask,
              "pt": 1 + 50 * torch.rand(n_jets, n, generator=generator),
              "impact": torch.cat([0.1 * torch.randn(n_jets, n, 2, generator=generator),
                                   0.01 + 0.05 * torch.rand(n_jets, n, 2, generator=generator)], dim=-1),
              "u": torch.randn(n_jets, len(spec.u_names), generator=generator),
              "adjacency": torch.rand(n_jets, n, n, generator=generator) < 0.5,
              "edge_attr": torch.randn(n_jets, n, n, max(len(spec.edge_attr_names), 1), generator=generator)}
    return tuple(values[name] for name in wrapper.input_names)


def _dynamic_shapes(wrapper: PaddedTagger, n_min: int) -> dict:
    jets = torch.export.Dim("jets", min=1)
    particles = torch.export.Dim("particles", min=n_min)
    axes = {"x": {0: jets, 1: particles}, "pos": {0: jets, 1: particles}, "mask": {0: jets, 1: particles},
            "pt": {0: jets, 1: particles}, "impact": {0: jets, 1: particles}, "u": {0: jets},
            "adjacency": {0: jets, 1: particles, 2: particles},
            "edge_attr": {0: jets, 1: particles, 2: particles}}
    return {"inputs": tuple(axes[name] for name in wrapper.input_names)}


def _metadata(tagger, wrapper: PaddedTagger, n_min: int) -> dict[str, str]:
    spec = tagger.model.spec
    return {"jetgnn_version": __version__, "model": tagger.config.model.name,
            "label_names": json.dumps(tagger.label_names), "x_names": json.dumps(list(spec.x_names)),
            "u_names": json.dumps(list(spec.u_names)), "edge_attr_names": json.dumps(list(spec.edge_attr_names)),
            "graph_options": json.dumps(tagger.graph_options), "mapping": json.dumps(tagger.config.data.mapping),
            "min_particles": str(n_min), "inputs": json.dumps(wrapper.input_names),
            "outputs": json.dumps(wrapper.output_names)}


#: the ONNX input names of the anomaly models, by input kind
ANOMALY_INPUT_NAMES = {"image": ["images"], "particles": ["particles", "mask"], "features": ["features"]}


class _AnomalyScore(nn.Module):
    """An anomaly model's score with plain tensor inputs (images; particles and mask; or jet features)."""

    def __init__(self, model, kind: str):
        super().__init__()
        self.model = model.eval()
        self.input_names = ANOMALY_INPUT_NAMES[kind]
        self.output_names = ["anomaly_score"]

    def forward(self, *inputs):
        return self.model.score(inputs[0] if len(inputs) == 1 else tuple(inputs))


def _anomaly_example(tagger: AnomalyTagger) -> tuple[tuple[torch.Tensor, ...], dict]:
    jets, particles = torch.export.Dim("jets", min=1), torch.export.Dim("particles", min=2)
    generator = torch.Generator().manual_seed(0)
    if tagger.inputs.kind == "image":
        size = tagger.inputs.image.size
        images = torch.rand(3, 1, size, size, generator=generator)
        return (images / images.sum((2, 3), keepdim=True),), {"inputs": ({0: jets},)}
    if tagger.inputs.kind == "features":
        return (torch.rand(3, tagger.inputs.n_features, generator=generator),), {"inputs": ({0: jets},)}
    n = max(4, tagger.inputs.max_particles // 2)
    x = torch.rand(3, n, tagger.inputs.n_features, generator=generator)
    mask = torch.ones(3, n, dtype=torch.bool)
    mask[0, n // 2:] = False
    return (x, mask), {"inputs": ({0: jets, 1: particles}, {0: jets, 1: particles})}


def _export_program(wrapper: nn.Module, example, dynamic_shapes):
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed" notices
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # and the exporter's step log
            warnings.simplefilter("ignore")
            return torch.onnx.export(wrapper, example, dynamo=True, verbose=False, input_names=wrapper.input_names,
                                     output_names=wrapper.output_names, dynamic_shapes=dynamic_shapes)
    finally:
        exporter_log.setLevel(level)


def _save(program, metadata: dict[str, str], out: Path) -> None:
    import onnx

    model = program.model_proto
    # the exporter's per-node notes (Python stack traces with this machine's paths, module names): two thirds
    # of a small model's file, and nothing ONNX Runtime or a reader of the file needs
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    with atomic_path(out, suffix=".onnx") as tmp:
        onnx.save_model(model, str(tmp))


def _check_out(out) -> Path:
    out = Path(out)
    if out.suffix != ".onnx":
        raise InputError(f"ONNX output file must end in .onnx: {out}")
    if not out.parent.is_dir():
        raise InputError(f"output folder {out.parent} does not exist (for {out})")
    return out


def export_onnx(run_dir_or_tagger, out, check_jets=None, atol: float = 1e-5, quantize: str | None = None,
                calibration_jets=None) -> Path:
    """Export a trained neural tagger (or anomaly model) to ONNX (dynamic jet and particle axes); returns the
    .onnx path.

    With ``check_jets`` (Jets), ONNX Runtime's outputs on them are compared with PyTorch's and a difference
    above ``atol`` is an error (not for quantised models, whose outputs differ by design). ``quantize``:
    "dynamic" or "static" writes an int8 model (:mod:`jetgnn.export.quantize`); "static" calibrates on
    ``calibration_jets`` (Jets).
    """
    tagger = run_dir_or_tagger if isinstance(run_dir_or_tagger, (Tagger, AnomalyTagger)) \
        else load_tagger(run_dir_or_tagger)
    if quantize is not None:
        return _export_quantized(tagger, out, quantize, calibration_jets)
    if isinstance(tagger, AnomalyTagger):
        out = _check_out(out)
        wrapper = _AnomalyScore(tagger.model, tagger.inputs.kind)
        example, shapes = _anomaly_example(tagger)
        _save(_export_program(wrapper, example, shapes),
              {"jetgnn_version": __version__, "model": tagger.name, "mapping": json.dumps(tagger.mapping),
               "anomaly": json.dumps({**tagger.inputs.to_dict(), "score": tagger.model.score_name}),
               "inputs": json.dumps(wrapper.input_names), "outputs": json.dumps(wrapper.output_names),
               **({"mass_decorrelation": json.dumps(tagger.mass_map.to_dict())} if tagger.mass_map else {})}, out)
        if check_jets is not None:
            check_onnx(tagger, out, check_jets, atol)
        return out
    if not isinstance(tagger.model, JetTagger):
        raise InputError("the linear baseline is a scikit-learn model, not a neural tagger: ONNX export covers the "
                         "neural taggers (mlp, pfn, efn, particlenet, mpnn, transformer, vertexer)")
    out = _check_out(out)
    wrapper = PaddedTagger(tagger.model)
    n_min = min_particles(tagger.model)
    program = _export_program(wrapper, _example_inputs(wrapper, n_min), _dynamic_shapes(wrapper, n_min))
    _save(program, _metadata(tagger, wrapper, n_min), out)
    if check_jets is not None:
        check_onnx(tagger, out, check_jets, atol)
    return out


def _export_quantized(tagger, out, mode: str, calibration_jets) -> Path:
    """fp32 export to a temporary file beside ``out``, then its int8 version at ``out``."""
    import tempfile

    from jetgnn.export.quantize import calibration_batches, check_request, quantize_onnx

    check_request(mode, calibration_jets is not None)  # before the fp32 export
    if isinstance(tagger, AnomalyTagger):
        raise InputError("int8 quantisation covers the taggers; export anomaly models in fp32 (without --quantize)")
    out = _check_out(out)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".jetgnn-fp32-") as tmp:
        fp32 = export_onnx(tagger, Path(tmp) / "fp32.onnx")
        batches = None
        if mode == "static":
            batches = calibration_batches(tagger, calibration_jets, OnnxTagger(fp32).input_names)
        return quantize_onnx(fp32, out, mode, batches)


def compare_onnx(tagger, path, jets) -> dict:
    """How an (int8) ONNX model's scores compare with PyTorch's on ``jets``: the largest |difference| of the
    probabilities and the fraction of jets with the same arg-max class."""
    got = OnnxTagger(path).predict(jets)
    expected = tagger.predict(jets)
    if got.ndim == 1:
        same = (got > 0.5) == (expected > 0.5)
    else:
        same = got.argmax(1) == expected.argmax(1)
    return {"max_abs_difference": float(np.max(np.abs(got - expected), initial=0.0)),
            "decision_agreement": float(np.mean(same)) if len(same) else float("nan")}


def check_onnx(tagger, path, jets, atol: float = 1e-5) -> float:
    """Largest |ONNX Runtime - PyTorch| over all outputs on ``jets``; raises if above ``atol``. Anomaly scores
    are unbounded (an NAE's energy is in units of its temperature, ~1e2 at T = 1e-4), so for them the difference is
    taken relative to max(1, |PyTorch score|): float32 rounding grows with the score, not with the export."""
    session = OnnxTagger(path)
    if isinstance(tagger, AnomalyTagger):
        # the network's scores: a mass map (applied after it, the same on both sides) would turn a float
        # difference at one of its steps into a step of 1/neighbours
        expected = tagger.anomaly_score(jets, decorrelated=False)
        difference = np.abs(session.anomaly_score(jets, decorrelated=False) - expected)
        worst = float(np.max(difference / np.maximum(1.0, np.abs(expected)), initial=0.0))
        if not worst <= atol:
            raise ExportMismatchError(f"ONNX Runtime and PyTorch anomaly scores differ by {worst:.3g} relative to "
                                      f"max(1, |score|) (> {atol:g}) on {path}")
        return worst
    inputs = onnx_inputs(tagger, jets)
    wrapper = PaddedTagger(tagger.model)
    with torch.no_grad():
        expected = wrapper(*(torch.from_numpy(inputs[name]) for name in wrapper.input_names))
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(inputs)
    worst = max(float(np.max(np.abs(g - e.numpy()), initial=0.0)) for g, e in zip(got, expected, strict=True))
    if not worst <= atol:
        raise ExportMismatchError(f"ONNX Runtime and PyTorch differ by {worst:.3g} (> {atol:g}) on {path}")
    return worst


#: jets per ONNX Runtime call in OnnxTagger.predict (measured: benchmarks/onnx_latency.py)
BUCKET_JETS = 128


class OnnxTagger:
    """Score jets with an exported model in ONNX Runtime, like ``Tagger.predict`` (no torch model needed).

    ``run(inputs)`` runs the padded arrays of :func:`onnx_inputs`; ``predict(jets_or_paths)`` builds them
    with the graph options stored in the model and returns the same scores as ``Tagger.predict``.
    """

    def __init__(self, path, threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise InputError(f"ONNX file not found: {path}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime's InvalidProtobuf, Fail, ...
            detail = " ".join(str(err).split())[:120]
            raise InputError(f"{path} is not a readable ONNX model ({err.__class__.__name__}: {detail})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.last_inference_jets_per_s: float | None = None
        self.anomaly: AnomalyInputs | None = None
        if "anomaly" in meta:  # an anomaly model: its score
            options = json.loads(meta["anomaly"])
            self.score_name = options.pop("score")
            self.anomaly, self.mapping, self.label_names = AnomalyInputs(**options), json.loads(meta["mapping"]), None
            self.mass_map = (MassQuantileMap.from_dict(json.loads(meta["mass_decorrelation"]))
                             if "mass_decorrelation" in meta else None)
            return
        if "graph_options" not in meta:
            raise InputError(f"{path} was not written by jetgnn export (no graph_options metadata)")
        self.label_names = json.loads(meta["label_names"])
        self.graph_options = json.loads(meta["graph_options"])
        self.mapping = json.loads(meta["mapping"])
        self.min_particles = int(meta["min_particles"])

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The model's outputs for padded ``inputs`` (extra keys are ignored)."""
        return self.session.run(None, {name: inputs[name] for name in self.input_names})

    def anomaly_score(self, jets_or_paths, batch_size: int = 1024, mapping=None,
                      decorrelated: bool = True) -> np.ndarray:
        """[n_jets] anomaly scores of an exported anomaly model (Jets, or files read with ``mapping``); with the
        run's mass map when it had one, unless ``decorrelated=False``."""
        if self.anomaly is None:
            raise InputError("this ONNX model is a tagger, not an anomaly model: use predict")

        def score(chunk):
            arrays = model_inputs(chunk, self.anomaly)
            raw = self.run(dict(zip(self.input_names, arrays, strict=True)))[0]
            return self.mass_map.transform_jets(raw, chunk) if decorrelated and self.mass_map is not None else raw

        outputs, self.last_inference_jets_per_s = map_jet_chunks(
            jets_or_paths, batch_size, self.mapping if mapping is None else mapping, score)
        return np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.float32)

    def predict(self, jets_or_paths, batch_size: int = 1024, mapping=None, bucket: int = BUCKET_JETS) -> np.ndarray:
        """Per-jet scores: the signal probability for two classes, else [n_jets, n_classes] probabilities (the
        anomaly score of an anomaly model). Files are read with ``mapping`` (preset name, YAML, dict; default
        the training mapping). bucket : jets per ONNX Runtime call, of similar multiplicity (sorted), each call
        padded to its own largest jet."""
        if self.anomaly is not None:
            return self.anomaly_score(jets_or_paths, batch_size, mapping)

        def probabilities(chunk):
            # jets sorted by multiplicity, run in buckets padded to their own largest jet: padding a whole
            # chunk to its largest jet made batched ORT up to 2x slower than PyTorch (benchmarks/onnx_latency.py)
            order = np.argsort(chunk.n_particles, kind="stable")
            batch = build_graphs(chunk, **self.graph_options)
            parts = [self.run(padded_arrays(batch, self.input_names, self.min_particles, order[i:i + bucket]))[0]
                     for i in range(0, len(order), bucket)]
            scores = np.empty((len(order), *parts[0].shape[1:]), dtype=parts[0].dtype)
            scores[order] = np.concatenate(parts)
            return scores

        outputs, self.last_inference_jets_per_s = map_jet_chunks(
            jets_or_paths, batch_size, self.mapping if mapping is None else mapping, probabilities)
        return jet_scores(outputs, len(self.label_names))
