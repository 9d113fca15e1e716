"""Uniformly distributed massless n-body phase space (RAMBO; Kleiss, Stirling & Ellis 1986), vectorised.

The toy of the topological pitfall (Batson, Haaf, Kahn & Roberts 2021): massless 3-body phase space at fixed
centre-of-mass energy has dimension 3 x 3 - 4 = 5 and is compact, so an autoencoder with a 5-dimensional latent
cannot map it continuously and one-to-one onto a Euclidean latent; its loss peaks somewhere although nothing in
the data is anomalous.

Algorithm: n isotropic massless momenta with energies q ~ q e^{-q} (the product of two uniform logs), then the
Lorentz boost and scaling that bring their sum to (sqrt_s, 0, 0, 0); the weight is constant for massless
particles, so the events are uniform in phase space. Shapes: ``rambo(n_events, n_particles) ->
[n_events, n_particles, 4]`` (E, px, py, pz) in units of ``sqrt_s``.
"""

from __future__ import annotations

import numpy as np


def rambo(n_events: int, n_particles: int = 3, sqrt_s: float = 1.0, seed: int | None = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (n_events, n_particles)
    cos_theta = 2 * rng.random(shape) - 1
    sin_theta = np.sqrt(1 - cos_theta ** 2)
    phi = 2 * np.pi * rng.random(shape)
    energy = -np.log(rng.random(shape) * rng.random(shape))
    q = np.stack([energy, energy * sin_theta * np.cos(phi), energy * sin_theta * np.sin(phi), energy * cos_theta],
                 axis=-1)
    total = q.sum(axis=1)
    mass = np.sqrt(total[:, 0] ** 2 - (total[:, 1:] ** 2).sum(axis=1))
    b = -total[:, 1:] / mass[:, None]
    gamma = total[:, 0] / mass
    a = 1 / (1 + gamma)
    x = sqrt_s / mass
    bq = (b[:, None, :] * q[..., 1:]).sum(-1)
    p = np.empty_like(q)
    p[..., 0] = x[:, None] * (gamma[:, None] * q[..., 0] + bq)
    p[..., 1:] = x[:, None, None] * (q[..., 1:] + b[:, None, :] * (q[..., :1] + a[:, None, None] * bq[..., None]))
    return p
