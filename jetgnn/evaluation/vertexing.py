"""Vertex-finding and track-origin metrics (SPEC §7, as ATLAS GN1 / puma), vectorised over all jets."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from jetgnn.evaluation.plots import confusion_matrix_plot
from jetgnn.io.schema import N_ORIGINS, ORIGIN_CLASSES, origin_label


def _flat_with_jet(values) -> tuple[np.ndarray, np.ndarray]:
    values = ak.Array(values)
    return ak.to_numpy(ak.flatten(values)).astype(np.int64), np.repeat(np.arange(len(values)), ak.to_numpy(
        ak.num(values, axis=1)))


def match_vertices(truth_vtx, reco_vtx, min_tracks: int = 2) -> dict[str, float]:
    """Efficiency and purity of reconstructed displaced vertices (SPEC §7).

    truth_vtx, reco_vtx : jagged [jets][tracks] vertex ids (0 primary, >= 1 displaced, -1 no vertex), the
    same tracks in the same order. Displaced vertices with at least ``min_tracks`` tracks count, on both sides.
    Reco and truth vertices are paired one-to-one by most shared tracks; a pair matches when
    shared/|truth| >= 0.65 and shared/|reco| >= 0.5. Efficiency = matched/truth, purity = matched/reco
    (None when there is no truth / reco vertex).
    """
    truth, jet = _flat_with_jet(truth_vtx)
    reco, jet_r = _flat_with_jet(reco_vtx)
    if len(truth) != len(reco) or np.any(jet != jet_r):
        raise ValueError("truth and reco vertex ids must be given for the same tracks")
    stride = int(max(truth.max(initial=0), reco.max(initial=0))) + 1
    truth_key = np.where(truth >= 1, jet * stride + truth, -1)
    reco_key = np.where(reco >= 1, jet * stride + reco, -1)

    def sizes(keys):
        uniq, counts = np.unique(keys[keys >= 0], return_counts=True)
        return uniq[counts >= min_tracks], counts[counts >= min_tracks]

    truth_ids, truth_sizes = sizes(truth_key)
    reco_ids, reco_sizes = sizes(reco_key)
    both = np.isin(truth_key, truth_ids) & np.isin(reco_key, reco_ids)
    pairs, shared = np.unique(np.stack([truth_key[both], reco_key[both]], axis=1), axis=0, return_counts=True)
    n_matched = 0
    if len(pairs):
        t_size = truth_sizes[np.searchsorted(truth_ids, pairs[:, 0])]
        r_size = reco_sizes[np.searchsorted(reco_ids, pairs[:, 1])]
        ok = (shared >= 0.65 * t_size) & (shared >= 0.5 * r_size)
        pairs, shared = pairs[ok], shared[ok]
        # one-to-one, most shared tracks first
        order = np.argsort(-shared, kind="stable")
        pairs = pairs[order]
        _, first_reco = np.unique(pairs[:, 1], return_index=True)
        pairs = pairs[np.sort(first_reco)]
        _, first_truth = np.unique(pairs[:, 0], return_index=True)
        n_matched = len(first_truth)
    n_truth, n_reco = len(truth_ids), len(reco_ids)
    return {
        "vertex_efficiency": n_matched / n_truth if n_truth else None,
        "vertex_purity": n_matched / n_reco if n_reco else None,
        "n_truth_vertices": int(n_truth),
        "n_reco_vertices": int(n_reco),
        "n_matched_vertices": int(n_matched),
    }


def origin_confusion(truth_origin, predicted_origin, n_classes: int = N_ORIGINS) -> np.ndarray:
    """[n_classes, n_classes] counts: row = true origin, column = predicted; tracks with origin -1 skipped."""
    truth = ak.to_numpy(ak.flatten(ak.Array(truth_origin))).astype(np.int64)
    pred = ak.to_numpy(ak.flatten(ak.Array(predicted_origin))).astype(np.int64)
    keep = (truth >= 0) & (truth < n_classes) & (pred >= 0)
    return np.bincount(truth[keep] * n_classes + pred[keep], minlength=n_classes**2).reshape(n_classes, n_classes)


def origin_metrics(confusion: np.ndarray) -> dict[str, float]:
    """``track_origin_accuracy`` and the per-class recall ``track_origin_recall_<class>``."""
    total = confusion.sum()
    out = {"track_origin_accuracy": float(np.trace(confusion) / total) if total else None}
    for k in range(len(confusion)):
        row = confusion[k].sum()
        out[f"track_origin_recall_{ORIGIN_CLASSES[k]}"] = float(confusion[k, k] / row) if row else None
    return out


def confusion_plot(confusion: np.ndarray, path: Path) -> None:
    """Row-normalised origin confusion matrix (true origin vs predicted) as a png."""
    confusion_matrix_plot(confusion, [origin_label(k) for k in range(len(confusion))], path,
                          xlabel="predicted origin", ylabel="true origin (tracks)",
                          title="track origin, row-normalised")
