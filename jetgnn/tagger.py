"""Load a trained tagger from its run directory and score jets (``jetgnn.load_tagger``, SPEC §6)."""

from __future__ import annotations

import time
from pathlib import Path

import awkward as ak
import numpy as np
import torch

from jetgnn.datasets.anomaly_inputs import AnomalyInputs, as_model_input, model_inputs
from jetgnn.errors import InputError
from jetgnn.graphs.builder import build_graphs
from jetgnn.io.collections import is_jet_collection, jets_from_collection
from jetgnn.io.jets import Jets, within_ranges
from jetgnn.io.reader import iter_jets
from jetgnn.models import JetTagger, load_checkpoint, model_from_checkpoint
from jetgnn.models.anomaly import AnomalyModel, build_anomaly_model
from jetgnn.models.base import JetScorer, unread_edge_options
from jetgnn.models.complexity import ModelCost, model_cost
from jetgnn.models.config import quant_spec
from jetgnn.training.config import TrainConfig
from jetgnn.transforms.mass_decorrelation import MassQuantileMap
from jetgnn.vertexing.grouping import group_tracks

#: the mass map of an anomaly run (``jetgnn anomaly decorrelate``), in its run directory
MASS_DECORRELATION_FILE = "mass_decorrelation.json"


def map_jet_chunks(jets_or_paths, batch_size: int, mapping, function) -> tuple[list, float]:
    """(``function`` of every non-empty chunk of ``batch_size`` jets, jets/s of the whole loop).

    jets_or_paths : Jets, or ROOT paths/globs read chunk by chunk with the branch ``mapping``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(jets_or_paths, Jets):
        chunks = (jets_or_paths[i:i + batch_size] for i in range(0, len(jets_or_paths), batch_size))
    else:
        chunks = iter_jets(jets_or_paths, step_size=batch_size, mapping=mapping)
    outputs, n, t0 = [], 0, time.perf_counter()
    for chunk in chunks:
        if len(chunk):
            outputs.append(function(chunk))
            n += len(chunk)
    return outputs, n / max(time.perf_counter() - t0, 1e-9)


def jet_scores(probabilities: list[np.ndarray], n_classes: int) -> np.ndarray:
    """Chunks of [n_jets, n_classes] probabilities as scores: P(class 1) for two classes, else the rows."""
    probs = np.concatenate(probabilities) if probabilities else np.zeros((0, n_classes), dtype=np.float32)
    return probs[:, 1] if probs.shape[1] == 2 else probs


class GraphScorer:
    """A neural :class:`~jetgnn.models.JetTagger` with the graph options it was trained with: scores Jets by
    building their graphs (the :class:`~jetgnn.models.base.JetScorer` of the graph taggers)."""

    def __init__(self, model: JetTagger, graph_options: dict):
        self.model = model.eval()
        # exactly the node features the model was trained on, whatever else a file carries
        self.graph_options = {**graph_options, "node_features": list(model.spec.x_names)}
        #: what scoring builds: no edges for models that do not read them (ParticleNet finds its own
        #: neighbours): the kNN / ΔR edges and pairwise features were most of the graph-building time
        self.build_options = {**self.graph_options, **unread_edge_options(model)}

    @property
    def multitask(self) -> bool:
        return self.model.multitask

    @torch.no_grad()
    def probabilities(self, batch) -> np.ndarray:
        """[n_jets, n_classes] class probabilities of a graph Batch."""
        self.model.check_batch(batch)
        return torch.softmax(self.model(batch).float(), dim=1).numpy()

    def predict_proba(self, jets: Jets) -> np.ndarray:
        pieces = self.scoring_pieces(jets)
        if len(pieces) == 1:
            return self.probabilities(build_graphs(jets, **self.build_options))
        return np.concatenate([self.probabilities(build_graphs(jets[piece], **self.build_options))
                               for piece in pieces])

    def scoring_pieces(self, jets: Jets) -> list[slice]:
        """Consecutive slices of ``jets`` with about the model's ``scoring_nodes`` particles each (after the
        ``max_particles`` cut; a jet is never split), or the whole chunk."""
        budget = self.model.scoring_nodes
        if budget is None or len(jets) == 0:
            return [slice(0, len(jets))]
        nodes = ak.to_numpy(ak.num(jets.arrays.part_px, axis=1))
        if self.build_options.get("max_particles") is not None:
            nodes = np.minimum(nodes, self.build_options["max_particles"])
        piece = (np.cumsum(nodes) - 1) // budget  # which pass each jet joins; non-decreasing
        starts = [0, *(np.flatnonzero(np.diff(piece)) + 1).tolist()]
        return [slice(a, b) for a, b in zip(starts, [*starts[1:], len(jets)], strict=True)]

    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    @torch.no_grad()
    def track_outputs(self, jets: Jets) -> dict:
        """Jet probabilities and per-track origin / vertex predictions of one chunk (multitask models), tracks in
        the order of the input constituents (tracks beyond ``max_particles`` get -1 / NaN)."""
        batch = build_graphs(jets, **self.build_options)
        out = self.model.forward_all(batch)
        mask = out["mask"].numpy()
        origin_probs = torch.softmax(out["origin"].float(), dim=1).numpy()
        primary = np.zeros(mask.shape)
        primary[mask] = origin_probs[:, 0]
        linked = torch.sigmoid(out["edge"].float()).numpy() > self.model.vertex_threshold
        vertex = group_tracks(linked, mask, primary)[mask]
        counts = ak.to_numpy(ak.num(jets.arrays.part_px, axis=1))
        starts = np.cumsum(counts) - counts
        position = starts[batch.batch.numpy()] + batch.part_index.numpy()
        total = int(counts.sum())
        origin = np.full(total, -1, dtype=np.int32)
        origin[position] = origin_probs.argmax(1)
        vertex_ids = np.full(total, -1, dtype=np.int32)
        vertex_ids[position] = vertex
        probs = np.full((total, origin_probs.shape[1]), np.nan, dtype=np.float32)
        probs[position] = origin_probs
        return {"jet_probs": torch.softmax(out["jet"].float(), dim=1).numpy(),
                "origin": ak.unflatten(origin, counts), "vertex": ak.unflatten(vertex_ids, counts),
                "origin_probs": ak.unflatten(probs, counts)}


class Tagger:
    """A trained tagger with the options and classes it was trained with.

    ``predict(jets_or_paths)`` returns numpy scores: for two classes the probability of the signal class
    (class 1) per jet, otherwise one row of class probabilities per jet. ``predict_batch(batch)`` does the
    same for a ready graph Batch (neural taggers). ``model`` is the torch module (or the fitted linear model),
    ``scorer`` what scores jets with it (:class:`GraphScorer` for the neural taggers, the linear model itself)
    and ``config`` the resolved training config (:class:`~jetgnn.training.config.TrainConfig`).
    """

    def __init__(self, model, config, label_names: list[str], run_dir: Path | None = None,
                 input_ranges: dict | None = None):
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_raw(config)
        self.label_names = list(label_names)
        self.run_dir = run_dir
        self.scorer: JetScorer = GraphScorer(model, self.config.data.graph.model_dump()) \
            if isinstance(model, JetTagger) else model
        #: build_graphs options of this tagger (the training graph options and the model's node features)
        self.graph_options = getattr(self.scorer, "graph_options", None) or self.config.data.graph.model_dump()
        self.model = model
        #: {quantity: [0.1%, 99.9%] quantiles} of the training jets (jet_pt, jet_mass, abs_jet_eta, n_particles)
        self.input_ranges = dict(input_ranges or {})
        self.last_inference_jets_per_s: float | None = None

    def in_training_range(self, jets: Jets) -> np.ndarray:
        """Per jet: True if its pT, mass, |η| and multiplicity lie inside the training ranges (all True for
        checkpoints that predate the recorded ranges)."""
        return within_ranges(jets, self.input_ranges)

    def probabilities(self, batch) -> np.ndarray:
        """[n_jets, n_classes] class probabilities of a graph Batch."""
        return self.scorer.probabilities(batch)

    def predict_proba(self, jets: Jets) -> np.ndarray:
        """[n_jets, n_classes] class probabilities of Jets."""
        return self.scorer.predict_proba(jets)

    def predict_batch(self, batch) -> np.ndarray:
        return jet_scores([self.probabilities(batch)], len(self.label_names))

    def _map_chunks(self, jets_or_paths, batch_size: int, function, mapping=None) -> list:
        """``function`` of every non-empty chunk; records ``last_inference_jets_per_s``."""
        mapping = self.config.data.mapping if mapping is None else mapping
        outputs, self.last_inference_jets_per_s = map_jet_chunks(jets_or_paths, batch_size, mapping, function)
        return outputs

    def predict(self, jets_or_paths, batch_size: int = 1024, mapping=None):
        """Scores of every jet: Jets, or files/globs read with ``mapping`` (a preset name such as "cms-pfnano", a
        YAML file or dict; default the training mapping), as numpy. An awkward jet collection ([events][jets] with
        constituents, e.g. coffea's ``events.FatJet`` of a PFNano file) gives an awkward array of the same shape
        (``mapping`` defaults to the preset of the collection's name)."""
        if is_jet_collection(jets_or_paths):
            jets, counts = jets_from_collection(jets_or_paths, mapping)
            return ak.unflatten(self.predict(jets, batch_size), counts)
        return jet_scores(self._map_chunks(jets_or_paths, batch_size, self.predict_proba, mapping),
                          len(self.label_names))

    @property
    def is_multitask(self) -> bool:
        """True for taggers with per-track outputs (the vertexer): see :meth:`predict_tracks`."""
        return bool(self.scorer.multitask)

    def predict_tracks(self, jets_or_paths, batch_size: int = 1024, mapping=None) -> dict:
        """Per-jet and per-track predictions of a multitask tagger (the vertexer).

        Returns {"jet_probs": [n_jets, n_classes] numpy, "origin": jagged [jets][tracks] predicted origin class
        (SPEC §2 ``part_origin`` classes), "origin_probs": jagged [jets][tracks][5] probabilities, "vertex":
        jagged reconstructed vertex id (0 primary-vertex group, 1, 2, ... other groups, like ``part_vtx_idx``)},
        tracks in the order of the input constituents.
        """
        if not self.is_multitask:
            raise InputError(f"{self.config.model.name} has no per-track outputs (train a vertexer)")
        parts = self._map_chunks(jets_or_paths, batch_size, self.scorer.track_outputs, mapping)
        if not parts:
            raise InputError("no jets to predict")
        out = {key: ak.concatenate([p[key] for p in parts]) for key in ("origin", "vertex", "origin_probs")}
        out["jet_probs"] = np.concatenate([p["jet_probs"] for p in parts])
        return out

    def n_params(self) -> int:
        return self.scorer.n_params()

    def cost(self, jets: Jets) -> ModelCost:
        """Non-zero parameters, multiply-accumulates and bit operations per jet of the neural model on ``jets``
        (:func:`jetgnn.models.complexity.model_cost`)."""
        if not isinstance(self.model, JetTagger):
            raise InputError(f"{self.config.model.name}: costs are counted for the neural taggers")
        return model_cost(self.model, build_graphs(jets, **self.graph_options))

    @property
    def mapping(self):
        """The branch mapping of the training files (None: jetclass)."""
        return self.config.data.mapping

    @property
    def output_names(self) -> list[str]:
        return [f"score_{name}" for name in self.label_names]

    def output_columns(self, jets: Jets) -> dict[str, np.ndarray]:
        """Per-jet output branches of ``jetgnn predict``: ``score_<class>`` (the class probabilities)."""
        probs = self.predict_proba(jets)
        return {f"score_{name}": probs[:, k].astype(np.float32) for k, name in enumerate(self.label_names)}


class AnomalyTagger:
    """A trained anomaly model (``jetgnn anomaly train``) with the inputs it reads.

    ``anomaly_score(jets_or_paths)`` returns one numpy score per jet (higher: more anomalous); ``predict`` is the
    same. ``background`` : the classes it was trained on (None: every jet of the training files); ``mapping`` :
    the branch mapping of the training files; ``label_names`` is None (no classes are predicted).
    ``mass_map`` : a fitted :class:`~jetgnn.transforms.mass_decorrelation.MassQuantileMap` (``jetgnn anomaly
    decorrelate``, stored in the run as ``mass_decorrelation.json``): the score is then the model's score mapped to
    its background CDF at the jet's mass (``decorrelated=False`` gives the model's own score).
    """

    label_names = None
    is_multitask = False
    output_names = ("anomaly_score",)

    def __init__(self, model: AnomalyModel, inputs: AnomalyInputs, name: str, background: list[str] | None,
                 mapping=None, run_dir: Path | None = None, input_ranges: dict | None = None,
                 mass_map: MassQuantileMap | None = None):
        self.model = model.eval()
        self.mass_map = mass_map
        self.inputs, self.name, self.background, self.mapping = inputs, name, background, mapping
        self.run_dir = run_dir
        self.input_ranges = dict(input_ranges or {})
        self.last_inference_jets_per_s: float | None = None

    @torch.no_grad()
    def _score_chunk(self, jets: Jets, decorrelated: bool = True) -> np.ndarray:
        score = self.model.score(as_model_input(model_inputs(jets, self.inputs))).float().numpy()
        return self.mass_map.transform_jets(score, jets) if decorrelated and self.mass_map is not None else score

    def anomaly_score(self, jets_or_paths, batch_size: int = 1024, mapping=None,
                      decorrelated: bool = True) -> np.ndarray:
        """[n_jets] anomaly scores of Jets or of files/globs read with ``mapping`` (default the training one);
        mass-decorrelated when the run has a mass map, unless ``decorrelated=False``."""
        if is_jet_collection(jets_or_paths):
            jets, counts = jets_from_collection(jets_or_paths, mapping)
            return ak.unflatten(self.anomaly_score(jets, batch_size, decorrelated=decorrelated), counts)
        parts, self.last_inference_jets_per_s = map_jet_chunks(
            jets_or_paths, batch_size, self.mapping if mapping is None else mapping,
            lambda chunk: self._score_chunk(chunk, decorrelated))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    predict = anomaly_score

    def in_training_range(self, jets: Jets) -> np.ndarray:
        return within_ranges(jets, self.input_ranges)

    def output_columns(self, jets: Jets) -> dict[str, np.ndarray]:
        """Per-jet output branches of ``jetgnn predict``: ``anomaly_score``."""
        return {"anomaly_score": self._score_chunk(jets).astype(np.float32)}

    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))


def anomaly_from_checkpoint(ckpt: dict, run_dir: Path | None = None) -> AnomalyTagger:
    """The AnomalyTagger of an ``anomaly train`` checkpoint (hyper-parameters ``anomaly``: model name, params,
    inputs, score, background, mapping)."""
    info = ckpt["hyper_parameters"]["anomaly"]
    inputs = AnomalyInputs(**info["inputs"])
    model = build_anomaly_model(info["model"], info["params"], inputs.n_features, quant_spec(info.get("quantization")))
    model.load_state_dict({k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")})
    model.set_score(info["score"])
    map_file = run_dir / MASS_DECORRELATION_FILE if run_dir is not None else None
    mass_map = read_mass_map(map_file) if map_file is not None and map_file.exists() else None
    return AnomalyTagger(model, inputs, info["model"], info.get("background"), info.get("mapping"), run_dir,
                         ckpt["hyper_parameters"].get("input_ranges"), mass_map)


def read_mass_map(path: Path) -> MassQuantileMap:
    """The mass map of a run's ``mass_decorrelation.json`` (one-line error when unreadable)."""
    import json

    try:
        return MassQuantileMap.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable mass-decorrelation map ({err.__class__.__name__}: {err})"[:300]) \
            from None


def load_tagger(run_dir, checkpoint: str = "best") -> Tagger | AnomalyTagger:
    """The tagger of a run directory written by ``jetgnn train`` (``checkpoints/best.ckpt`` by default), or the
    :class:`AnomalyTagger` of a ``jetgnn anomaly train`` run."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run directory not found: {run_dir}")
    ckpt = load_checkpoint(run_dir / "checkpoints" / f"{checkpoint}.ckpt")
    hp = ckpt["hyper_parameters"]
    if "anomaly" in hp:
        return anomaly_from_checkpoint(ckpt, run_dir)
    if "pretraining" in hp.get("config", {}):
        raise InputError(f"{run_dir} is a jetgnn pretrain run (an encoder, not a tagger): use it as model.encoder "
                         "in a jetgnn train config")
    return Tagger(model_from_checkpoint(ckpt), hp["config"], hp["label_names"], run_dir, hp.get("input_ranges"))
