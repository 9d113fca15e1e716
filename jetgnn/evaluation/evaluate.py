"""Evaluate a tagger on jets: metrics.json values and the standard plots (``jetgnn evaluate``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetgnn.errors import InputError
from jetgnn.evaluation.metrics import binary_metrics, flavour_metrics, multiclass_metrics
from jetgnn.evaluation.plots import roc_plot, scores_plot
from jetgnn.evaluation.vertexing import confusion_plot, match_vertices, origin_confusion, origin_metrics
from jetgnn.io.jets import Jets
from jetgnn.io.reader import read_jets
from jetgnn.tagger import load_tagger
from jetgnn.utils.files import write_json


def evaluate_tagger(tagger, jets: Jets, out_dir: Path | None = None) -> dict:
    """Metrics of ``tagger`` on labelled ``jets``; with ``out_dir``, also roc.png and scores.png there."""
    labels = jets.labels
    if labels is None:
        raise InputError("evaluation needs labelled jets (label branches or a mapping with labels)")
    names = tagger.label_names
    tracks = tagger.predict_tracks(jets) if tagger.is_multitask else None
    scores = tagger.predict(jets) if tracks is None else tracks["jet_probs"]
    if scores.ndim == 1:
        metrics = binary_metrics(labels, scores)
        signal_score = scores
    else:
        metrics = multiclass_metrics(labels, scores, names)
        metrics.update(flavour_metrics(labels, scores, names))
        signal_score = scores[:, -1]
    metrics["inference_jets_per_s"] = tagger.last_inference_jets_per_s
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    if tracks is not None:
        metrics.update(_track_metrics(tagger, jets, tracks, out_dir))
    if out_dir is not None:
        roc_plot(labels == len(names) - 1, signal_score, out_dir / "roc.png",
                 label=f"{tagger.config.model.name} (AUC {metrics['auc']:.4f})")
        scores_plot(labels, signal_score, names, out_dir / "scores.png")
    return metrics


def _track_metrics(tagger, jets: Jets, tracks: dict, out_dir: Path | None) -> dict:
    """Vertex finding and track origin metrics of a multitask tagger, for the heads that were trained."""
    weights = tagger.config.training.loss_weights
    metrics = {}
    if weights.vertex > 0 and "part_vtx_idx" in jets:
        metrics.update(match_vertices(jets["part_vtx_idx"], tracks["vertex"]))
    if weights.origin > 0 and "part_origin" in jets:
        confusion = origin_confusion(jets["part_origin"], tracks["origin"])
        metrics.update(origin_metrics(confusion))
        metrics["track_origin_confusion"] = confusion.tolist()
        if out_dir is not None:
            confusion_plot(confusion, out_dir / "origin_confusion.png")
    return metrics


def evaluate_run(run_dir, data, out=None) -> dict:
    """``jetgnn evaluate``: metrics of a run's best tagger on other data, written to ``out`` (default run_dir)."""
    tagger = load_tagger(run_dir)
    jets = read_jets(data, mapping=tagger.config.data.mapping)
    out = Path(out) if out is not None else Path(run_dir)
    metrics = evaluate_tagger(tagger, jets, out)
    write_json(out / "metrics.json", {**metrics, "data": [str(d) for d in np.atleast_1d(data)]})
    return metrics
