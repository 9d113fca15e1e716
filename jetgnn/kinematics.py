"""Jet kinematics from constituents with ``vector``, on flat arrays (no per-jet loops)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import vector


def constituent_sum(px: ak.Array, py: ak.Array, pz: ak.Array, energy: ak.Array):
    """E-scheme sum of each jet's constituents as a ``vector`` MomentumNumpy4D array (float64, GeV).

    px, py, pz, energy : jagged awkward arrays [jets][constituents]. Sums run in float64 over flat arrays
    with ``np.bincount`` (empty jets give a zero vector), which is much faster than reducing awkward records.
    """
    counts = ak.to_numpy(ak.num(px, axis=1))
    owner = np.repeat(np.arange(len(counts)), counts)
    sums = {
        name: np.bincount(owner, weights=ak.to_numpy(ak.flatten(values)).astype(np.float64), minlength=len(counts))
        for name, values in (("px", px), ("py", py), ("pz", pz), ("E", energy))
    }
    return vector.array(sums)


def mass(p4) -> np.ndarray:
    """Invariant mass (GeV) of a vector array, 0 where m^2 < 0 from rounding."""
    return np.sqrt(np.maximum(np.asarray(p4.tau2), 0.0))
