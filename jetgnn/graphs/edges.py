"""Edges of particle graphs: ΔR-radius and kNN in (eta, phi), dense per jet and exact.

Jets are grouped by constituent count (padded to a multiple of 16) and each group is handled as a dense
[jets, P, P] distance tensor in torch, so there is no per-jet Python loop and no torch-cluster dependency.
Edges come back grouped by jet in jet order (as a torch_geometric Batch needs), each jet's edges sorted by
target then source. Convention: ``edge_index[0]`` is the source, ``edge_index[1]`` the target (PyG's
source-to-target flow); kNN gives every target its k nearest sources.
"""

from __future__ import annotations

import numpy as np
import torch

EDGE_METHODS = ("delta_r", "knn")
_PAD = 16
_MAX_BLOCK_ELEMENTS = 1 << 23  # distance-matrix entries per dense block (32 MB of float32)


def _wrap(dphi: torch.Tensor) -> torch.Tensor:
    return torch.remainder(dphi + torch.pi, 2 * torch.pi) - torch.pi


def _blocks(counts: np.ndarray):
    """(jet indices, padded size) blocks: jets of similar size, each block under the element budget."""
    padded = -(-counts // _PAD) * _PAD
    order = np.argsort(padded, kind="stable")
    sizes = padded[order]
    boundaries = np.flatnonzero(np.diff(sizes)) + 1
    for group in np.split(order, boundaries):
        size = int(padded[group[0]]) if len(group) else 0
        if size == 0:
            continue
        per_block = max(1, _MAX_BLOCK_ELEMENTS // (size * size))
        for start in range(0, len(group), per_block):
            yield group[start:start + per_block], size


def _block_edges(deta, dphi, starts, counts, size, method, radius, k, self_loops):
    arange = torch.arange(size)
    valid = arange[None, :] < counts[:, None]  # [B, P]
    index = torch.where(valid, starts[:, None] + arange[None, :], torch.zeros((), dtype=torch.long))
    eta, phi = deta[index], dphi[index]
    d2 = (eta[:, :, None] - eta[:, None, :]).square_() + _wrap(phi[:, :, None] - phi[:, None, :]).square_()
    pair_valid = valid[:, :, None] & valid[:, None, :]
    eye = torch.eye(size, dtype=torch.bool)[None]
    if method == "delta_r":
        mask = (d2 < radius * radius) & pair_valid
        if not self_loops:
            mask &= ~eye
        b, i, j = mask.nonzero(as_tuple=True)
        return b, index[b, i], index[b, j], mask.sum(dim=(1, 2))
    # kNN: the k nearest other particles; self loops added on top if asked for
    d2 = d2.masked_fill(~pair_valid | eye, float("inf"))
    kk = min(k, size - 1)
    values, neighbours = d2.topk(kk, dim=2, largest=False) if kk > 0 else (d2[:, :, :0], d2[:, :, :0].long())
    mask = torch.isfinite(values) & valid[:, :, None]
    if self_loops:
        mask = torch.cat([valid[:, :, None], mask], dim=2)
        neighbours = torch.cat([arange.expand(len(counts), size)[:, :, None], neighbours], dim=2)
    b, i, t = mask.nonzero(as_tuple=True)
    return b, index[b, i], index[b, neighbours[b, i, t]], mask.sum(dim=(1, 2))


def build_edges(deta: torch.Tensor, dphi: torch.Tensor, counts: np.ndarray, method: str = "delta_r",
                radius: float = 0.8, k: int = 16, self_loops: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of all jets at once.

    deta, dphi : [n_nodes] float32, node coordinates relative to their jet axis (radians), nodes of jet j
        at ``ptr[j]:ptr[j+1]`` with ``ptr = [0, cumsum(counts)]``; counts : [n_jets] nodes per jet.
    Returns (edge_index [2, n_edges] long, edge_ptr [n_jets + 1] long).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_jets = len(counts)
    ptr = np.zeros(n_jets + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    counts_t, ptr_t = torch.from_numpy(counts), torch.from_numpy(ptr)
    results = []
    n_edges = torch.zeros(n_jets, dtype=torch.long)
    for block, size in _blocks(counts):
        block_t = torch.from_numpy(block)
        b, target, source, per_jet = _block_edges(deta, dphi, ptr_t[block_t], counts_t[block_t], size, method,
                                                  radius, k, self_loops)
        n_edges[block_t] = per_jet
        results.append((block_t, b, target, source, per_jet))
    edge_ptr = torch.zeros(n_jets + 1, dtype=torch.long)
    torch.cumsum(n_edges, 0, out=edge_ptr[1:])
    edge_index = torch.empty((2, int(edge_ptr[-1])), dtype=torch.long)
    for block_t, b, target, source, per_jet in results:
        # within a block, each jet's edges are contiguous and already sorted (row-major nonzero): their slot
        # is the jet's offset in the output plus the rank inside the jet's run
        block_start = torch.cumsum(per_jet, 0) - per_jet
        slot = (edge_ptr[block_t] - block_start)[b] + torch.arange(len(b))
        edge_index[0, slot] = source
        edge_index[1, slot] = target
    return edge_index, edge_ptr
