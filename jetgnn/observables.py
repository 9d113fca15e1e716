"""Jet observables: N-subjettiness ratios and impact-parameter / displaced-vertex counts (the one home of these
conventions, used by graph globals, the linear baselines, summaries and the physics validation).

Functions take an awkward array or :class:`~jetgnn.io.jets.Jets` with jetclass fields (SPEC §2) and return
numpy arrays.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from jetgnn.utils.arrays import safe_ratio

#: N-subjettiness ratios: name -> (numerator, denominator) jet fields; 0 where the denominator is 0
TAU_RATIOS: dict[str, tuple[str, str]] = {"tau21": ("jet_tau2", "jet_tau1"), "tau32": ("jet_tau3", "jet_tau2")}


def tau_ratio(jets, name: str) -> np.ndarray:
    """τ21 = τ2/τ1 or τ32 = τ3/τ2 per jet (float64), 0 for jets whose denominator is 0 (too few constituents)."""
    numerator, denominator = TAU_RATIOS[name]
    return safe_ratio(ak.to_numpy(jets[numerator]), ak.to_numpy(jets[denominator]))


def ip_significance(a) -> ak.Array:
    """|d0| / sigma(d0) per particle (jagged); 0 for neutrals."""
    return np.abs(a["part_d0val"]) / ak.where(a["part_d0err"] > 0, a["part_d0err"], np.inf)


def n_significant_tracks(a, threshold: float = 3.0) -> np.ndarray:
    """Tracks per jet with |d0|/sigma above ``threshold``."""
    return ak.to_numpy(ak.sum(ip_significance(a) > threshold, axis=1))


def n_displaced_vertices(a, min_tracks: int = 1) -> np.ndarray:
    """Truth displaced vertices per jet (``part_vtx_idx`` > 0) with at least ``min_tracks`` tracks."""
    vtx = a["part_vtx_idx"]
    counts = np.zeros(len(vtx), dtype=np.int64)
    n_max = int(np.max(ak.to_numpy(ak.flatten(vtx, axis=None)), initial=0))  # 0 for jets without tracks
    for v in range(1, n_max + 1):
        counts += ak.to_numpy(ak.sum(vtx == v, axis=1) >= min_tracks)
    return counts
