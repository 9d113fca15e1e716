"""Padded per-jet views of a Batch's node tensors ([n_nodes, ...] -> [n_jets, N, ...]).

Training batches use torch_geometric's ``to_dense_batch`` (N = the largest jet of the batch). A batch made from
padded tensors (``jetgnn.export``: ONNX inputs [B, N, ...] with a mask) carries a :class:`DenseLayout` instead,
so that N stays the input's own, dynamic, particle axis and no shape depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch_geometric.utils import to_dense_batch


@dataclass(frozen=True)
class DenseLayout:
    """Where the nodes sit in a padded layout: ``index`` [n_nodes] positions in the flattened [B * N] grid
    (node order of the batch), ``mask`` [B, N] bool, True for real particles."""

    index: torch.Tensor
    mask: torch.Tensor

    def scatter(self, values: torch.Tensor) -> torch.Tensor:
        """[n_nodes, ...] -> [B, N, ...] with zeros at padded positions."""
        n_jets, n_max = self.mask.shape
        out = values.new_zeros((n_jets * n_max, *values.shape[1:])).index_copy(0, self.index, values)
        return out.reshape(n_jets, n_max, *values.shape[1:])


def to_dense(values: torch.Tensor, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, N, ...] padded values, [B, N] mask) of the node tensor ``values`` [n_nodes, ...] of ``batch``."""
    layout = getattr(batch, "dense_layout", None)
    if layout is not None:
        return layout.scatter(values), layout.mask
    return to_dense_batch(values, batch.batch, batch_size=batch.num_graphs)
