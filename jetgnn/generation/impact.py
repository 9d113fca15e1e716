"""Track impact parameters from production vertices, with a documented detector resolution.

Hadron-level tracks are straight lines (no magnetic field) from their production vertex; the primary
vertex is at the origin. For a track produced at (x, y, z) mm with momentum (px, py, pz) GeV:

* transverse impact parameter  d0 = (x py - y px) / pT            (mm, Delphes/JetClass sign convention)
* longitudinal impact parameter dz = z - (x px + y py) / pT * pz / pT (mm, z at the point of closest approach)

Resolution (ATLAS-Run-2-like, inner tracker with an innermost pixel layer), with p in GeV and theta the
polar angle:

* sigma(d0) = 0.010 mm (+) 0.070 mm GeV / (p sin^(3/2) theta)
* sigma(dz) = 0.040 mm (+) 0.120 mm GeV / (p sin^(3/2) theta) / sin(theta)

(+) is a sum in quadrature. The true values are smeared by Gaussians of these widths, and the widths are
stored as ``part_d0err`` / ``part_dzerr``. Neutral particles get 0 for all four branches.
"""

from __future__ import annotations

import numpy as np

D0_CONSTANT_MM = 0.010
D0_MS_MM_GEV = 0.070
DZ_CONSTANT_MM = 0.040
DZ_MS_MM_GEV = 0.120


def impact_parameters(x, y, z, px, py, pz):
    """True (d0, dz) in mm of straight tracks from (x, y, z) mm with momenta (px, py, pz) GeV (arrays)."""
    pt = np.hypot(px, py)
    pt = np.where(pt > 0, pt, np.inf)
    d0 = (x * py - y * px) / pt
    dz = z - (x * px + y * py) / pt * pz / pt
    return d0, dz


def resolution(px, py, pz):
    """Impact-parameter resolutions (sigma_d0, sigma_dz) in mm as functions of momentum and angle."""
    pt = np.hypot(px, py)
    p = np.sqrt(pt**2 + pz**2)
    sin_theta = np.where(p > 0, pt / np.where(p > 0, p, 1.0), 1.0)
    sin_theta = np.clip(sin_theta, 1e-3, 1.0)
    ms = 1.0 / (np.maximum(p, 1e-6) * sin_theta**1.5)
    sigma_d0 = np.hypot(D0_CONSTANT_MM, D0_MS_MM_GEV * ms)
    sigma_dz = np.hypot(DZ_CONSTANT_MM, DZ_MS_MM_GEV * ms / sin_theta)
    return sigma_d0, sigma_dz


def smeared_impact_parameters(x, y, z, px, py, pz, charge, rng: np.random.Generator):
    """Measured (d0, d0err, dz, dzerr) in mm for every particle; zeros for neutrals.

    All inputs are flat numpy arrays of equal length; ``rng`` makes the smearing reproducible.
    """
    d0, dz = impact_parameters(x, y, z, px, py, pz)
    sigma_d0, sigma_dz = resolution(px, py, pz)
    d0 = d0 + rng.standard_normal(d0.shape) * sigma_d0
    dz = dz + rng.standard_normal(dz.shape) * sigma_dz
    charged = charge != 0
    zero = np.float64(0.0)
    return (
        np.where(charged, d0, zero),
        np.where(charged, sigma_d0, zero),
        np.where(charged, dz, zero),
        np.where(charged, sigma_dz, zero),
    )
