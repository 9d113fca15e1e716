"""Contrastive loss (NT-Xent, SimCLR) and the alignment / uniformity of a representation (Wang & Isola 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Normalised-temperature cross-entropy of two views [B, D] of the same B jets.

    Each of the 2B projections must pick out its partner view among the other 2B - 1 by cosine similarity / T.
    """
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    similarity = z @ z.T / temperature
    n = len(z1)
    similarity.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(similarity, partner)


def alignment(h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of the normalised representations of two views of the same jets (lower: better)."""
    return (F.normalize(h1, dim=1) - F.normalize(h2, dim=1)).norm(dim=1).pow(2).mean()


def uniformity(h: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """log E exp(-t |h_i - h_j|^2) over pairs of normalised representations (lower: more uniform on the sphere)."""
    h = F.normalize(h, dim=1)
    return torch.pdist(h).pow(2).mul(-t).exp().mean().log()
