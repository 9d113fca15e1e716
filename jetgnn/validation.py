"""Physics observables used to validate generated jets (summary tables, plots, benchmarks).

All functions take an awkward array of a jetclass tree (fields as in SPEC §2) and return numpy arrays.
"""

from __future__ import annotations

import awkward as ak
import numpy as np


def ip_significance(a: ak.Array) -> ak.Array:
    """|d0| / sigma(d0) per particle (jagged); 0 for neutrals."""
    return np.abs(a.part_d0val) / ak.where(a.part_d0err > 0, a.part_d0err, np.inf)


def n_significant_tracks(a: ak.Array, threshold: float = 3.0) -> np.ndarray:
    """Tracks per jet with |d0|/sigma above ``threshold``."""
    return ak.to_numpy(ak.sum(ip_significance(a) > threshold, axis=1))


def n_displaced_vertices(a: ak.Array, min_tracks: int = 1) -> np.ndarray:
    """Truth displaced vertices per jet (``part_vtx_idx`` > 0) with at least ``min_tracks`` tracks."""
    vtx = a.part_vtx_idx
    counts = np.zeros(len(a), dtype=np.int64)
    n_max = int(ak.max(vtx, axis=None, initial=0))
    for v in range(1, n_max + 1):
        counts += ak.to_numpy(ak.sum(vtx == v, axis=1) >= min_tracks)
    return counts
