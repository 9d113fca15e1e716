"""Distance correlation (Székely et al.; DisCo decorrelation of taggers from the jet mass, Kasieczka & Shih 2020).

.. math::
    \\mathrm{dCor}^2(X, Y) = \\frac{\\mathrm{dCov}^2(X, Y)}{\\sqrt{\\mathrm{dCov}^2(X, X)\\,\\mathrm{dCov}^2(Y, Y)}},
    \\qquad \\mathrm{dCov}^2(X, Y) = \\frac{1}{n^2}\\sum_{jk} A_{jk} B_{jk}

with :math:`A, B` the double-centred distance matrices of the samples. Shapes: x, y ``[n]`` -> scalar in [0, 1].
"""

from __future__ import annotations

import torch


def _centred(values: torch.Tensor) -> torch.Tensor:
    distances = (values[:, None] - values[None, :]).abs()
    return distances - distances.mean(0, keepdim=True) - distances.mean(1, keepdim=True) + distances.mean()


def distance_correlation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a, b = _centred(x.float()), _centred(y.float())
    dcov_xy, dcov_xx, dcov_yy = (a * b).mean(), (a * a).mean(), (b * b).mean()
    return dcov_xy / torch.sqrt(dcov_xx * dcov_yy).clamp_min(1e-12)


def with_decorrelation(per_jet: torch.Tensor, mass: torch.Tensor | None, weight: float, terms: dict) -> dict:
    """``terms`` with ``loss`` = mean of ``per_jet`` + weight · dCor²(per_jet, mass) · mean (scaled by the batch's
    mean, so that the weight does not depend on the loss's units) and ``disco`` when the penalty is on."""
    loss = per_jet.mean()
    if weight > 0 and mass is not None:
        disco = distance_correlation(per_jet, mass)
        loss = loss + weight * disco * per_jet.mean().detach()
        terms["disco"] = disco.detach()
    terms["loss"] = loss
    return terms
