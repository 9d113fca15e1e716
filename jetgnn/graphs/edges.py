"""Edges of particle graphs: ΔR-radius and kNN in (eta, phi), exact, per jet, without torch-cluster.

The work runs in compiled kernels (:mod:`jetgnn.graphs.kernels`) parallel over jets. Edges come back
grouped by jet in jet order (as a torch_geometric Batch needs), each jet's edges sorted by target.
Convention: ``edge_index[0]`` is the source, ``edge_index[1]`` the target (PyG's source-to-target flow);
kNN gives every target its k nearest sources.
"""

from __future__ import annotations

import numpy as np
import torch

from jetgnn.graphs.kernels import kernel


def build_edges(deta: np.ndarray, dphi: np.ndarray, counts: np.ndarray, method: str = "delta_r",
                radius: float = 0.8, k: int = 16, self_loops: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of all jets at once.

    deta, dphi : [n_nodes] float arrays, node coordinates relative to their jet axis (radians), nodes of
        jet j at ``ptr[j]:ptr[j+1]`` with ``ptr = [0, cumsum(counts)]``; counts : [n_jets] nodes per jet.
    Returns (edge_index [2, n_edges] long, edge_ptr [n_jets + 1] long).
    """
    counts = np.asarray(counts, dtype=np.int64)
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    deta = np.ascontiguousarray(deta, dtype=np.float32)
    dphi = np.ascontiguousarray(dphi, dtype=np.float32)
    if method == "none":
        return torch.zeros((2, 0), dtype=torch.long), torch.zeros(len(counts) + 1, dtype=torch.long)
    if method == "delta_r":
        per_jet = kernel("count_delta_r")(deta, dphi, ptr, float(radius) ** 2, int(self_loops))
    else:
        per_jet = counts * np.minimum(k, np.maximum(counts - 1, 0)) + (counts if self_loops else 0)
    edge_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_jet, out=edge_ptr[1:])
    edge_index = np.empty((2, int(edge_ptr[-1])), dtype=np.int64)
    if method == "delta_r":
        kernel("fill_delta_r")(deta, dphi, ptr, edge_ptr, float(radius) ** 2, bool(self_loops), edge_index[0],
                             edge_index[1])
    else:
        kernel("fill_knn")(deta, dphi, ptr, edge_ptr, int(k), bool(self_loops), edge_index[0], edge_index[1])
    return torch.from_numpy(edge_index), torch.from_numpy(edge_ptr)
