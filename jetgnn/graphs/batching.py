"""Assemble, slice, join and serialise torch_geometric Batches of jet graphs without per-graph loops.

A jet-graph Batch holds node tensors (``x``, ``pos``, ``pt``, ``part_index``, the optional ``impact`` and node
targets ``vtx_idx``, ``origin``),
edge tensors (``edge_index``, ``edge_attr``), per-jet tensors (``u``, ``y``), the usual ``batch``/``ptr``,
and the name lists ``x_names``, ``edge_attr_names``, ``u_names`` plus ``graph_config``.
PyG's own ``Batch.from_data_list`` / ``index_select`` go through one ``Data`` per jet; these functions work
on the flat tensors and the ``ptr``/``edge_ptr`` offsets directly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch

from jetgnn.utils.arrays import segment_ranges

NODE_KEYS = ("x", "pos", "pt", "impact", "part_index", "vtx_idx", "origin")
EDGE_KEYS = ("edge_attr",)
GRAPH_KEYS = ("u", "y")
META_KEYS = ("x_names", "edge_attr_names", "u_names", "graph_config")


def make_batch(tensors: dict[str, torch.Tensor], node_counts, edge_counts, meta: dict) -> Batch:
    """A Batch from flat tensors: nodes of graph g at ptr[g]:ptr[g+1], edges at edge_ptr[g]:edge_ptr[g+1],
    ``edge_index`` in batch-global node numbering. ``meta`` holds the name lists and graph_config."""
    node_counts = torch.as_tensor(np.asarray(node_counts), dtype=torch.long)
    edge_counts = torch.as_tensor(np.asarray(edge_counts), dtype=torch.long)
    n_graphs = len(node_counts)
    ptr = torch.zeros(n_graphs + 1, dtype=torch.long)
    torch.cumsum(node_counts, 0, out=ptr[1:])
    edge_ptr = torch.zeros(n_graphs + 1, dtype=torch.long)
    torch.cumsum(edge_counts, 0, out=edge_ptr[1:])
    batch = Batch(**tensors)
    batch.batch = torch.repeat_interleave(torch.arange(n_graphs), node_counts)
    batch.ptr = ptr
    graph_slices = torch.arange(n_graphs + 1)
    slices = {key: ptr for key in NODE_KEYS if key in tensors}
    slices["edge_index"] = edge_ptr
    slices.update({key: edge_ptr for key in EDGE_KEYS if key in tensors})
    slices.update({key: graph_slices for key in GRAPH_KEYS if key in tensors})
    zeros = torch.zeros(n_graphs, dtype=torch.long)
    batch._slice_dict = slices
    batch._inc_dict = {**{key: zeros for key in slices}, "edge_index": ptr[:-1]}
    batch._num_graphs = n_graphs
    for key in META_KEYS:
        setattr(batch, key, meta.get(key))
    return batch


def _counts(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ptr = batch.ptr.numpy()
    edge_ptr = batch._slice_dict["edge_index"].numpy()
    return ptr, np.diff(ptr), edge_ptr, np.diff(edge_ptr)


def _meta(batch: Batch) -> dict:
    return {key: getattr(batch, key, None) for key in META_KEYS}


def select_graphs(batch: Batch, index) -> Batch:
    """The graphs ``index`` (int array, any order, repeats allowed) of ``batch`` as a new Batch."""
    index = np.asarray(index, dtype=np.int64)
    ptr, n_nodes, edge_ptr, n_edges = _counts(batch)
    nodes = torch.from_numpy(segment_ranges(ptr[index], n_nodes[index]))
    edges = torch.from_numpy(segment_ranges(edge_ptr[index], n_edges[index]))
    graphs = torch.from_numpy(index)
    new_ptr = np.concatenate([[0], np.cumsum(n_nodes[index])])
    shift = torch.from_numpy(np.repeat(new_ptr[:-1] - ptr[index], n_edges[index]))
    tensors = {"edge_index": batch.edge_index[:, edges] + shift}
    for key in NODE_KEYS:
        if key in batch:
            tensors[key] = batch[key][nodes]
    for key in EDGE_KEYS:
        if key in batch:
            tensors[key] = batch[key][edges]
    for key in GRAPH_KEYS:
        if key in batch:
            tensors[key] = batch[key][graphs]
    return make_batch(tensors, n_nodes[index], n_edges[index], _meta(batch))


def concat_batches(batches: list[Batch]) -> Batch:
    """Join Batches built with the same configuration into one."""
    if len(batches) == 1:
        return batches[0]
    counts = [_counts(b) for b in batches]
    node_offsets = np.cumsum([0] + [int(c[0][-1]) for c in counts[:-1]])
    tensors = {"edge_index": torch.cat([b.edge_index + int(o) for b, o in zip(batches, node_offsets, strict=True)],
                                       dim=1)}
    for key in (*NODE_KEYS, *EDGE_KEYS, *GRAPH_KEYS):
        if key in batches[0]:
            tensors[key] = torch.cat([b[key] for b in batches])
    return make_batch(tensors, np.concatenate([c[1] for c in counts]), np.concatenate([c[3] for c in counts]),
                      _meta(batches[0]))


def batch_to_dict(batch: Batch) -> dict:
    """Plain dict of tensors, lists and numbers (loadable with ``torch.load(weights_only=True)``)."""
    _, n_nodes, _, n_edges = _counts(batch)
    out = {key: batch[key] for key in ("edge_index", *NODE_KEYS, *EDGE_KEYS, *GRAPH_KEYS) if key in batch}
    out["node_counts"] = torch.from_numpy(n_nodes)
    out["edge_counts"] = torch.from_numpy(n_edges)
    out["meta"] = _meta(batch)
    return out


def batch_from_dict(data: dict) -> Batch:
    """Inverse of :func:`batch_to_dict`."""
    tensors = {k: v for k, v in data.items() if k not in ("node_counts", "edge_counts", "meta")}
    return make_batch(tensors, data["node_counts"], data["edge_counts"], data["meta"])
