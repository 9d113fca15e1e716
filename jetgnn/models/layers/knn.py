"""Dynamic k-nearest-neighbour graphs in any feature space, dense per jet (no torch-cluster)."""

from __future__ import annotations

import torch

from jetgnn.models.layers.dense import EdgeGrid, to_dense


def knn_graph(points: torch.Tensor, batch, k: int) -> tuple[torch.Tensor, EdgeGrid | None]:
    """(edge_index [2, E] (source, target), giving every node its min(k, n-1) nearest other nodes of its jet;
    their :class:`EdgeGrid` on a padded batch, else None).

    points : [n_nodes, D] coordinates (e.g. (deta, dphi) or learned features); batch : the graph Batch (its
    jet index ``batch.batch``). Distances are computed per jet on a padded [jets, N, N] tensor (as
    |a|^2 + |b|^2 - 2 a.b, which ONNX can express), so cost is exact and GPU friendly. Edges are ordered by
    target (jet, particle), then by distance.
    """
    dense, mask = to_dense(points, batch)  # [B, N, D], [B, N]
    n_max = dense.shape[1]
    if n_max < 2:
        return torch.zeros((2, 0), dtype=torch.long, device=points.device), None
    sq = dense.square().sum(-1)
    d2 = (sq[:, :, None] + sq[:, None, :] - 2 * dense @ dense.transpose(1, 2)).clamp_min_(0)
    invalid = ~(mask[:, :, None] & mask[:, None, :]) | torch.eye(n_max, dtype=torch.bool, device=points.device)
    d2 = d2.masked_fill(invalid, float("inf"))
    kk = min(k, n_max - 1)
    values, neighbours = d2.topk(kk, dim=2, largest=False)  # [B, N, kk]
    keep = torch.isfinite(values) & mask[:, :, None]
    offsets = torch.cumsum(mask.sum(1), 0) - mask.sum(1)  # first node of each jet in the flat numbering
    b, i, t = keep.nonzero(as_tuple=True)
    if torch.compiler.is_exporting():
        torch._check(b.shape[0] > 0)  # jets of one particle only have no edges: not traced for ONNX
    target = offsets[b] + i
    source = offsets[b] + neighbours[b, i, t]
    layout = getattr(batch, "dense_layout", None)
    grid = None if layout is None else EdgeGrid((b * n_max + i) * kk + t, layout.index, keep.sum(2), kk)
    return torch.stack([source, target]), grid


def knn_edges(points: torch.Tensor, batch, k: int) -> torch.Tensor:
    """edge_index [2, E] (source, target) of :func:`knn_graph`."""
    return knn_graph(points, batch, k)[0]
