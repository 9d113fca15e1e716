"""Distance of closest approach between pairs of tracks of a jet.

Hadron-level tracks are straight lines (no magnetic field, see ``jetgnn.generation.impact``). A track with
transverse impact parameter d0 and longitudinal impact parameter dz (mm), azimuth phi and pseudorapidity eta
passes through its point of closest approach to the beam line

    p = (d0 sin(phi), -d0 cos(phi), dz)      with direction      u = (cos(phi), sin(phi), sinh(eta)),

which follows from the convention d0 = (x py - y px) / pT. A rotation about the beam axis does not change
distances, so phi may be measured from the jet axis (the ``dphi`` of a constituent); eta must be absolute.
"""

from __future__ import annotations

import torch


def pair_distance(d0: torch.Tensor, dz: torch.Tensor, phi: torch.Tensor, eta: torch.Tensor,
                  d0_err: torch.Tensor, dz_err: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of closest approach of every track pair of each jet, and its significance.

    d0, dz, d0_err, dz_err : [B, N] (mm); phi, eta : [B, N] (radians; phi relative to any fixed axis).
    Returns (dca [B, N, N] in mm, significance [B, N, N] = dca / sqrt(d0_err_a^2 + d0_err_b^2 + dz_err_a^2 +
    dz_err_b^2)), computed in float64 (tracks of a jet are nearly parallel) and returned in the input dtype.
    Parallel tracks get the distance of one to the other line.
    """
    dtype = d0.dtype
    d0, dz, phi, eta = (t.double() for t in (d0, dz, phi, eta))
    point = torch.stack([d0 * torch.sin(phi), -d0 * torch.cos(phi), dz], dim=-1)  # [B, N, 3]
    sinh_eta = (torch.exp(eta) - torch.exp(-eta)) / 2  # written out: ONNX Runtime has no float64 Sinh
    direction = torch.stack([torch.cos(phi), torch.sin(phi), sinh_eta], dim=-1)
    w0 = point[:, :, None, :] - point[:, None, :, :]  # [B, N, N, 3]: p_a - p_b
    u_a, u_b = direction[:, :, None, :], direction[:, None, :, :]
    a = (u_a * u_a).sum(-1)
    b = (u_a * u_b).sum(-1)
    c = (u_b * u_b).sum(-1)
    d = (u_a * w0).sum(-1)
    e = (u_b * w0).sum(-1)
    denom = a * c - b * b
    parallel = denom <= 1e-12 * a * c
    safe = torch.where(parallel, torch.ones_like(denom), denom)
    s = torch.where(parallel, torch.zeros_like(denom), (b * e - c * d) / safe)
    t = torch.where(parallel, e / c, (a * e - b * d) / safe)
    dca = torch.linalg.vector_norm(w0 + s[..., None] * u_a - t[..., None] * u_b, dim=-1)
    err2 = (d0_err.double() ** 2 + dz_err.double() ** 2)
    sigma = torch.sqrt(err2[:, :, None] + err2[:, None, :]).clamp_min(1e-6)
    return dca.to(dtype), (dca / sigma).to(dtype)
