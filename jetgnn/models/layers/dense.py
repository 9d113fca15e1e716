"""Padded per-jet views of a Batch's node tensors ([n_nodes, ...] -> [n_jets, N, ...]).

Training batches use torch_geometric's ``to_dense_batch`` (N = the largest jet of the batch). A batch made from
padded tensors (``jetgnn.export``: ONNX inputs [B, N, ...] with a mask) carries a :class:`DenseLayout` instead,
so that N stays the input's own, dynamic, particle axis and no shape depends on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch_geometric.utils import to_dense_batch

from jetgnn.models.layers.segment import divide_by_counts, segment_mean, segment_sum


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

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """[n_nodes, ...] -> [B, ...] mean over each jet's particles (zeros for a jet without any)."""
        return divide_by_counts(self.scatter(values).sum(1), self.mask.sum(1))


@dataclass(frozen=True)
class EdgeGrid:
    """Where the edges of a padded batch's graph sit in a [B, N, k] grid (row (b, i): the edges into particle i of
    jet b, at most k of them): ``slot`` [n_edges] flat positions in the grid (in edge order, unique), ``rows``
    [n_nodes] each node's position in the flattened [B * N] rows, ``counts`` [B, N] edges per row, ``k`` the width.

    Made only for padded (exported) batches (a kNN graph: k neighbours; a ΔR graph from the adjacency input: k = N).
    The sums then scatter each message to its own slot and add over k: exact with any number of ONNX Runtime
    threads, which the scatter-add of :func:`~jetgnn.models.layers.segment.segment_sum` is not (see there).
    """

    slot: torch.Tensor
    rows: torch.Tensor
    counts: torch.Tensor
    k: int

    def _row_sums(self, messages: torch.Tensor) -> torch.Tensor:
        n_jets, n_max = self.counts.shape
        grid = messages.new_zeros((n_jets * n_max * self.k, *messages.shape[1:])).index_copy(0, self.slot, messages)
        return grid.reshape(n_jets, n_max, self.k, *messages.shape[1:]).sum(2)  # [B, N, ...]

    def sum(self, messages: torch.Tensor) -> torch.Tensor:
        """[n_edges, ...] messages (edge order of ``slot``) -> [n_nodes, ...] sum over each node's incoming edges."""
        return self._row_sums(messages).flatten(0, 1)[self.rows]

    def mean(self, messages: torch.Tensor) -> torch.Tensor:
        """[n_edges, ...] -> [n_nodes, ...] mean over each node's incoming edges (zeros without any)."""
        return divide_by_counts(self._row_sums(messages).flatten(0, 1), self.counts.reshape(-1))[self.rows]

    def jet_mean(self, messages: torch.Tensor) -> torch.Tensor:
        """[n_edges, ...] -> [B, ...] mean over each jet's edges (zeros without any)."""
        return divide_by_counts(self._row_sums(messages).sum(1), self.counts.sum(1))


def to_dense(values: torch.Tensor, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, N, ...] padded values, [B, N] mask) of the node tensor ``values`` [n_nodes, ...] of ``batch``."""
    layout = getattr(batch, "dense_layout", None)
    if layout is not None:
        return layout.scatter(values), layout.mask
    return to_dense_batch(values, batch.batch, batch_size=batch.num_graphs)


def jet_sum(values: torch.Tensor, batch) -> torch.Tensor:
    """Sum over each jet's particles, [n_nodes, ...] -> [n_jets, ...]: :func:`segment_sum` on a graph Batch, a sum
    over the particle axis of the padded layout on a padded (exported) batch, whose scatter has unique indices and
    so is exact with any number of ONNX Runtime threads."""
    layout = getattr(batch, "dense_layout", None)
    if layout is not None:
        return layout.scatter(values).sum(1)
    return segment_sum(values, batch.batch, batch.num_graphs)


def jet_mean(values: torch.Tensor, batch) -> torch.Tensor:
    """Mean over each jet's particles (zeros for a jet without particles); see :func:`jet_sum`."""
    layout = getattr(batch, "dense_layout", None)
    if layout is not None:
        return layout.mean(values)
    return segment_mean(values, batch.batch, batch.num_graphs)
