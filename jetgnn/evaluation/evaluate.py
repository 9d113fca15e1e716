"""Evaluate a tagger on jets: metrics.json values and the standard plots (``jetgnn evaluate``)."""

from __future__ import annotations

from pathlib import Path

from jetgnn.errors import InputError
from jetgnn.evaluation.metrics import (
    binary_metrics,
    class_counts_text,
    flavour_metrics,
    multiclass_metrics,
    score_metrics,
)
from jetgnn.evaluation.plots import confusion_matrix_plot, roc_plot, scores_plot
from jetgnn.evaluation.vertexing import confusion_plot, match_vertices, origin_confusion, origin_metrics
from jetgnn.io.files import expand_paths
from jetgnn.io.jets import Jets, check_classes, require_classes
from jetgnn.io.reader import read_jets
from jetgnn.tagger import load_tagger
from jetgnn.utils.files import output_dir, remove_created, write_json


def evaluate_tagger(tagger, jets: Jets, out_dir: Path | None = None, where: str = "the jets") -> dict:
    """Metrics of ``tagger`` on labelled ``jets``; with ``out_dir``, also roc.png and scores.png there.

    The jets must have the tagger's classes (else InputError naming ``where``). Without jets of the signal (last)
    class or without any other, the metrics are those of :func:`~jetgnn.evaluation.metrics.score_metrics` (no AUC;
    ``note`` says why) and only scores.png is drawn; with some other class missing, the metrics against it are left
    out (``note``)."""
    names = tagger.label_names
    check_classes(jets.label_names, names, where, "the tagger's training data")
    counts = require_classes(jets, where, "evaluation", every_class=False)
    labels = jets.labels
    tracks = tagger.predict_tracks(jets) if tagger.is_multitask else None
    scores = tagger.predict(jets) if tracks is None else tracks["jet_probs"]
    signal_score = scores if scores.ndim == 1 else scores[:, -1]
    if counts[-1] == 0 or not counts[:-1].any():  # no signal or no background: AUC undefined
        metrics = score_metrics(labels, scores, names)
    elif scores.ndim == 1:
        metrics = binary_metrics(labels, scores)
    else:
        metrics = multiclass_metrics(labels, scores, names)
        metrics.update(flavour_metrics(labels, scores, names))
        if (counts == 0).any():
            metrics["note"] = (f"no jets of {', '.join(n for n, c in zip(names, counts, strict=True) if c == 0)} "
                               f"(found {class_counts_text(counts, names)}): metrics against them are left out")
    metrics["inference_jets_per_s"] = tagger.last_inference_jets_per_s
    if out_dir is not None:
        out_dir, _ = output_dir(out_dir, "evaluation folder")
    if tracks is not None:
        metrics.update(_track_metrics(tagger, jets, tracks, out_dir))
    if out_dir is not None and metrics["auc"] is not None:
        roc_plot(labels == len(names) - 1, signal_score, out_dir / "roc.png",
                 label=f"{tagger.config.model.name} (AUC {metrics['auc']:.4f})")
    if out_dir is not None:
        scores_plot(labels, signal_score, names, out_dir / "scores.png")
        if "confusion_matrix" in metrics:
            confusion_matrix_plot(metrics["confusion_matrix"], names, out_dir / "confusion.png",
                                  title=f"{tagger.config.model.name}, row-normalised")
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


def default_evaluation_dir(run_dir) -> Path:
    """Where ``jetgnn evaluate`` writes without ``--out``: ``RUN_DIR/evaluation`` (never the run's own
    training ``metrics.json``)."""
    return Path(run_dir) / "evaluation"


def evaluate_run(run_dir, data, out=None, mapping=None) -> dict:
    """``jetgnn evaluate``: metrics of a run's best tagger on other data, written to ``out``
    (default :func:`default_evaluation_dir`; ``out=run_dir`` replaces the training metrics on purpose). ``mapping``
    reads ``data`` (preset name, YAML, dict; default the training mapping)."""
    out = Path(out) if out is not None else default_evaluation_dir(run_dir)
    tagger = load_tagger(run_dir)
    if tagger.label_names is None:
        raise InputError(f"{run_dir} is an anomaly run: evaluate it with jetgnn anomaly evaluate {run_dir} "
                         f"--background FILES --signal FILES")
    paths = expand_paths(data)
    out, created = output_dir(out, "evaluation folder")
    try:
        jets = read_jets(paths, mapping=tagger.config.data.mapping if mapping is None else mapping)
        metrics = evaluate_tagger(tagger, jets, out, where=", ".join(paths))
        write_json(out / "metrics.json", {**metrics, "data": paths})
    except BaseException:
        if created:
            remove_created(out)
        raise
    return metrics
