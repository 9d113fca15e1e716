"""Edges of particle graphs: ΔR-radius and kNN in (eta, phi), exact, per jet, without torch-cluster.

The work runs in compiled kernels (:mod:`jetgnn.graphs.kernels`) parallel over jets, with the pair features
(:data:`~jetgnn.graphs.features.EDGE_FEATURES`) written in the same pass when asked for. Edges come back
grouped by jet in jet order (as a torch_geometric Batch needs), each jet's edges sorted by target.
Convention: ``edge_index[0]`` is the source, ``edge_index[1]`` the target (PyG's source-to-target flow);
kNN gives every target its k nearest sources.
"""

from __future__ import annotations

import numpy as np
import torch

from jetgnn.graphs.features import EDGE_FEATURES, EPS
from jetgnn.graphs.kernels import kernel


def build_edges(deta: np.ndarray, dphi: np.ndarray, counts: np.ndarray, method: str = "delta_r",
                radius: float = 0.8, k: int = 16, self_loops: bool = False,
                kinematics: dict[str, np.ndarray] | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Edges of all jets at once, and their pair features when ``kinematics`` is given.

    deta, dphi : [n_nodes] float arrays, node coordinates relative to their jet axis (radians), nodes of
        jet j at ``ptr[j]:ptr[j+1]`` with ``ptr = [0, cumsum(counts)]``; counts : [n_jets] nodes per jet.
    kinematics : contiguous float32 [n_nodes] arrays "pt", "px", "py", "pz", "energy" (GeV) for the
        EDGE_FEATURES of every edge (ΔR graphs compute them in the pass that writes the edges, once per pair).
    Returns (edge_index [2, n_edges] long, edge_ptr [n_jets + 1] long, edge_attr [n_edges, 5] float32 or None).
    """
    counts = np.asarray(counts, dtype=np.int64)
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    deta = np.ascontiguousarray(deta, dtype=np.float32)
    dphi = np.ascontiguousarray(dphi, dtype=np.float32)
    if method == "none":
        return (torch.zeros((2, 0), dtype=torch.long), torch.zeros(len(counts) + 1, dtype=torch.long),
                torch.zeros((0, len(EDGE_FEATURES))) if kinematics is not None else None)
    if kinematics is not None:
        kinematics = {**kinematics, "log_pt": np.log(np.maximum(kinematics["pt"], EPS)).astype(np.float32)}
        columns = [kinematics[name] for name in ("pt", "log_pt", "px", "py", "pz", "energy")]
    if method == "delta_r":
        degree = kernel("degree_delta_r")(deta, dphi, ptr, float(radius) ** 2, int(self_loops))
        node_ptr = np.zeros(len(degree) + 1, dtype=np.int64)
        np.cumsum(degree, out=node_ptr[1:])
        edge_ptr = node_ptr[ptr]
    else:
        per_jet = counts * np.minimum(k, np.maximum(counts - 1, 0)) + (counts if self_loops else 0)
        edge_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(per_jet, out=edge_ptr[1:])
    n_edges = int(edge_ptr[-1])
    edge_index = np.empty((2, n_edges), dtype=np.int64)
    out = np.empty((n_edges, len(EDGE_FEATURES)), dtype=np.float32) if kinematics is not None else None
    if method == "delta_r" and kinematics is not None:
        kernel("fill_delta_r_features")(deta, dphi, ptr, node_ptr, float(radius) ** 2, bool(self_loops),
                                        edge_index[0], edge_index[1], *columns, out)
    elif method == "delta_r":
        kernel("fill_delta_r")(deta, dphi, ptr, node_ptr, float(radius) ** 2, bool(self_loops), edge_index[0],
                               edge_index[1])
    else:
        kernel("fill_knn")(deta, dphi, ptr, edge_ptr, int(k), bool(self_loops), edge_index[0], edge_index[1])
        if kinematics is not None:
            kernel("pair_features")(edge_index[0], edge_index[1], deta, dphi, *columns, out)
    return torch.from_numpy(edge_index), torch.from_numpy(edge_ptr), None if out is None else torch.from_numpy(out)
