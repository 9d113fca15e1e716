"""Grouping of a jet's tracks into vertices from pairwise decisions (connected components, all jets at once).

Vertex ids follow the truth convention of SPEC §2 (``part_vtx_idx``): 0 for the primary-vertex group, 1, 2, ...
for the other groups in the order of their leading (hardest) track, -1 for padding.
"""

from __future__ import annotations

import numpy as np


def group_tracks(linked: np.ndarray, mask: np.ndarray, primary_score: np.ndarray,
                 min_primary_score: float = 0.5) -> np.ndarray:
    """Vertex id of every track: connected components of the ``linked`` pairs of each jet.

    linked : [B, N, N] bool, True where two tracks are taken to share a vertex (only i < j is read);
    mask : [B, N] bool, True for real tracks (tracks ordered by decreasing pT);
    primary_score : [B, N] float, how primary each track looks (e.g. P(origin = primary) or 0/1).

    In each jet the group with the largest summed ``primary_score`` is the primary vertex (id 0) if that sum
    reaches ``min_primary_score``; every other group, single tracks included, is numbered 1, 2, ... by its
    leading track. Returns [B, N] int64 ids, -1 where ``mask`` is False.
    """
    # imported here: scipy.sparse.csgraph takes ~0.6 s to import, paid otherwise by every command that loads a model
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    linked, mask = np.asarray(linked, dtype=bool), np.asarray(mask, dtype=bool)
    n_jets, n = mask.shape
    upper = np.triu(linked & mask[:, :, None] & mask[:, None, :], k=1)
    jet, i, j = np.nonzero(upper)
    n_nodes = n_jets * n
    graph = coo_matrix((np.ones(len(jet), dtype=np.int8), (jet * n + i, jet * n + j)), shape=(n_nodes, n_nodes))
    _, component = connected_components(graph, directed=False)
    real = mask.ravel()
    node = np.flatnonzero(real)
    comp = component[node]
    # components of real tracks: first (leading) track, jet, summed primary score
    comps, first = np.unique(comp, return_index=True)
    lead = node[first]
    comp_jet = lead // n
    score = np.bincount(np.searchsorted(comps, comp), weights=np.asarray(primary_score, dtype=np.float64).ravel()[node],
                        minlength=len(comps))
    # the primary group of each jet: the highest score, if high enough
    by_score = np.lexsort((-score, comp_jet))
    best = by_score[np.r_[True, comp_jet[by_score][1:] != comp_jet[by_score][:-1]]]
    is_primary = np.zeros(len(comps), dtype=bool)
    is_primary[best[score[best] >= min_primary_score]] = True
    # number the groups of each jet: primary first, then by leading track
    order = np.lexsort((lead, ~is_primary, comp_jet))
    sorted_jet = comp_jet[order]
    jet_start = np.r_[0, np.flatnonzero(sorted_jet[1:] != sorted_jet[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(jet_start, np.diff(np.r_[jet_start, len(order)]))
    has_primary = np.zeros(n_jets, dtype=bool)
    has_primary[comp_jet[is_primary]] = True
    comp_id = np.empty(len(comps), dtype=np.int64)
    comp_id[order] = rank + ~has_primary[sorted_jet]
    out = np.full(n_nodes, -1, dtype=np.int64)
    out[node] = comp_id[np.searchsorted(comps, comp)]
    return out.reshape(n_jets, n)
