"""The one home of jetgnn's kinematic conventions: φ wrapping, ΔR, and jet four-momenta from constituents.

Angles are in radians, momenta and energies in GeV. :func:`wrap_phi` and :func:`delta_r` work on Python floats,
numpy and awkward arrays and torch tensors alike (the exported ONNX graphs use them too); code that holds
four-vectors uses ``vector`` (``deltaphi``, ``deltaR``), which follows the same convention. The compiled
graph-building kernels carry their own scalar copy of :func:`wrap_phi` (``jetgnn.graphs.kernels``), tested
against this one.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import vector


def wrap_phi(phi):
    """An angle (or angle difference) wrapped to [-π, π): (φ + π) mod 2π − π with a floor modulo, which
    Python, numpy, awkward and torch all use for ``%``."""
    return (phi + math.pi) % (2 * math.pi) - math.pi


def delta_phi(phi_a, phi_b):
    """φ_a − φ_b wrapped to [-π, π)."""
    return wrap_phi(phi_a - phi_b)


def delta_r(deta, dphi):
    """Angular distance sqrt(Δη² + Δφ²) from already wrapped differences: ``np.hypot`` for floats, numpy and
    awkward arrays; written out for torch tensors (ONNX has no hypot)."""
    if type(deta).__module__.startswith("torch"):
        return (deta.square() + dphi.square()).sqrt()
    return np.hypot(deta, dphi)


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
