"""Training losses: jet classification, and the GN1-style multitask loss of the vertexer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.utils import to_dense_batch

from jetgnn.errors import InputError


def same_vertex_targets(batch) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, N, N] float targets, [B, N, N] bool valid) of track pairs i < j: 1 when both tracks come from the
    same truth vertex (``vtx_idx``, primary included), 0 otherwise; pairs with a neutral or padded track and
    the diagonal are not valid."""
    vtx, _ = to_dense_batch(batch.vtx_idx, batch.batch, fill_value=-1, batch_size=batch.num_graphs)
    charged = vtx >= 0
    n = vtx.shape[1]
    upper = torch.ones(n, n, dtype=torch.bool, device=vtx.device).triu(1)
    valid = charged[:, :, None] & charged[:, None, :] & upper
    return (vtx[:, :, None] == vtx[:, None, :]).float(), valid


def multitask_loss(outputs: dict[str, torch.Tensor], batch, weights: dict[str, float]
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of jet cross-entropy, track-origin cross-entropy (origin -1 ignored) and same-vertex
    binary cross-entropy over the valid track pairs. Returns (total, {"jet", "origin", "vertex"} parts);
    parts with weight 0 are left out."""
    parts = {"jet": F.cross_entropy(outputs["jet"], batch.y)}
    if weights["origin"] > 0 or weights["vertex"] > 0:
        missing = [name for name in ("origin", "vtx_idx") if name not in batch]
        if missing:
            raise InputError("the vertexer's origin and vertex losses need track truth (part_origin, part_vtx_idx): "
                             "train on flavour files or set training.loss_weights.origin/vertex to 0")
    if weights["origin"] > 0:
        parts["origin"] = F.cross_entropy(outputs["origin"], batch.origin, ignore_index=-1) \
            if bool((batch.origin >= 0).any()) else outputs["origin"].sum() * 0
    if weights["vertex"] > 0:
        target, valid = same_vertex_targets(batch)
        parts["vertex"] = F.binary_cross_entropy_with_logits(outputs["edge"][valid], target[valid]) \
            if bool(valid.any()) else outputs["edge"].sum() * 0
    total = sum(weights[name] * value for name, value in parts.items())
    return total, parts
