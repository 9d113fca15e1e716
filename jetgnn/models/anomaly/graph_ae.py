"""Constituent-level autoencoder: a transformer encoder of the particle set, a set decoder, and a
permutation-invariant reconstruction loss between the input and output particle clouds.

.. math::
    z = \\mathrm{pool}\\big(\\mathrm{Transformer}(W x_{1..N})\\big), \\qquad
    (\\hat p_k, \\hat w_k)_{k=1..M} = \\mathrm{MLP}(z), \\quad \\hat w = \\mathrm{softmax}, \\qquad
    \\text{score} = D\\big((p, w), (\\hat p, \\hat w)\\big)

with particles at :math:`p_i = (\\Delta\\eta_i, \\Delta\\phi_i)` (radians) and pT fractions :math:`w_i`,
:math:`D` the Sinkhorn approximation of the energy mover's distance (``loss: sinkhorn``) or the pT-weighted
Chamfer distance (``loss: chamfer``), see :mod:`jetgnn.models.anomaly.emd`. The masked mean pool and the set
losses make the model invariant under permutations of the constituents.

Args:
    n_features: particle features of the input (the first three are Δη, Δφ and the pT fraction). latent:
    dimension of z. dim, heads, layers: the transformer. n_out: particles of the reconstruction. loss:
    "sinkhorn" or "chamfer". epsilon, iterations: the Sinkhorn regularisation (radians) and iterations.

Shapes: particles ``[n, N, F]`` and mask ``[n, N]`` -> score ``[n]``.
"""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.models.anomaly.base import AnomalyModel
from jetgnn.models.anomaly.emd import chamfer, sinkhorn_emd


class GraphAE(AnomalyModel):
    input_kind = "particles"
    scores = ("reconstruction",)

    def __init__(self, n_features: int, latent: int = 16, dim: int = 64, heads: int = 4, layers: int = 2,
                 n_out: int = 32, loss: str = "sinkhorn", epsilon: float = 0.01, iterations: int = 30):
        super().__init__()
        if loss not in ("sinkhorn", "chamfer"):
            raise ValueError(f"graph_ae loss must be sinkhorn or chamfer, got {loss!r}")
        self.embed = nn.Linear(n_features, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.to_latent = nn.Linear(dim, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, 4 * dim), nn.ReLU(), nn.Linear(4 * dim, 4 * dim), nn.ReLU(),
                                     nn.Linear(4 * dim, 3 * n_out))
        self.n_out, self.loss_name, self.epsilon, self.iterations = n_out, loss, epsilon, iterations

    def encode(self, inputs) -> torch.Tensor:
        particles, mask = inputs
        h = self.encoder(self.embed(particles), src_key_padding_mask=~mask)
        weights = mask.float()[..., None]
        return self.to_latent((h * weights).sum(1) / weights.sum(1).clamp_min(1))

    def reconstruct(self, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.decoder(self.encode(inputs)).view(-1, self.n_out, 3)
        return out[..., :2], torch.softmax(out[..., 2], dim=1)

    def distance(self, inputs) -> torch.Tensor:
        particles, mask = inputs
        positions, weights = self.reconstruct(inputs)
        w_in = particles[..., 2] * mask
        w_in = w_in / w_in.sum(1, keepdim=True).clamp_min(1e-12)
        if self.loss_name == "chamfer":
            return chamfer(particles[..., :2], w_in, positions, weights)
        return sinkhorn_emd(particles[..., :2], w_in, positions, weights, self.epsilon, self.iterations)

    def score(self, inputs) -> torch.Tensor:
        return self.distance(inputs)

    def loss(self, inputs, mass=None) -> dict[str, torch.Tensor]:
        distance = self.distance(inputs)
        return {"loss": distance.mean(), "reconstruction": distance.mean().detach()}
