"""Constituents as a padded tensor for set models: (Δη, Δφ, pT fraction) of the ``n_max`` hardest particles.

Shapes: ``padded_particles(jets, n_max) -> (features [n_jets, n_max, 3] float32, mask [n_jets, n_max] bool)``;
Δη, Δφ in radians relative to the jet axis (Δφ wrapped), pT fraction = pT / Σ pT of the kept particles.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.kinematics import wrap_phi

#: names of the three features, in order
PARTICLE_FEATURES = ("deta", "dphi", "pt_fraction")


def padded_particles(jets: Jets, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    arrays = jets.arrays
    missing = [f for f in ("part_px", "part_py", "part_deta", "part_dphi") if f not in arrays.fields]
    if missing:
        raise InputError(f"constituent inputs need the fields {', '.join(missing)}")
    pt = np.hypot(arrays.part_px, arrays.part_py)
    order = ak.argsort(pt, axis=1, ascending=False)
    pt, deta, dphi = pt[order][:, :n_max], arrays.part_deta[order][:, :n_max], arrays.part_dphi[order][:, :n_max]
    total = ak.to_numpy(ak.sum(pt, axis=1)).astype(np.float64)

    def dense(values):
        return ak.to_numpy(ak.fill_none(ak.pad_none(values, n_max, axis=1, clip=True), 0.0)).astype(np.float64)

    mask = ak.to_numpy(ak.fill_none(ak.pad_none(ak.ones_like(pt, dtype=bool), n_max, axis=1, clip=True), False))
    fraction = dense(pt) / np.maximum(total, 1e-12)[:, None]
    features = np.stack([dense(deta), wrap_phi(dense(dphi)) * mask, fraction], axis=-1)
    return features.astype(np.float32), mask.astype(bool)
