"""Dense pairwise features of the particles of each jet (for attention biases, ParT-style)."""

from __future__ import annotations

import torch

from jetgnn.graphs.features import EPS
from jetgnn.kinematics import delta_r, wrap_phi


def dense_pair_features(pt: torch.Tensor, deta: torch.Tensor, dphi: torch.Tensor) -> torch.Tensor:
    """[B, N, N, 4] features ln ΔR, ln kT, ln z, ln m^2 of every particle pair.

    pt (GeV), deta, dphi (radians): [B, N] padded tensors; padded entries should have pt = 0. Particles are
    treated as massless, so m^2 = 2 pT_a pT_b (cosh Δη - cos Δφ), which is boost invariant along the beam.
    """
    d_eta = deta[:, :, None] - deta[:, None, :]
    d_phi = wrap_phi(dphi[:, :, None] - dphi[:, None, :])
    delta = delta_r(d_eta, d_phi).clamp_min(EPS ** 0.5)  # no log(0) on the diagonal
    pt_a, pt_b = pt[:, :, None], pt[:, None, :]
    pt_min = torch.minimum(pt_a, pt_b)
    # cosh Δη - cos Δφ = 2 sinh^2(Δη/2) + 2 sin^2(Δφ/2): no cancellation for the small angles inside a jet
    m2 = 4 * pt_a * pt_b * (torch.sinh(d_eta / 2).square() + torch.sin(d_phi / 2).square())
    return torch.stack([
        torch.log(delta),
        torch.log((pt_min * delta).clamp_min(EPS)),
        torch.log((pt_min / (pt_a + pt_b).clamp_min(EPS)).clamp_min(EPS)),
        torch.log(m2.clamp_min(EPS)),
    ], dim=-1)
