"""Deep sets (Komiske, Metodiev, Thaler 2019): Particle Flow Network and the IRC-safe Energy Flow Network."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter

from jetgnn.models.base import InputSpec, JetTagger
from jetgnn.models.layers import mlp


class PFN(JetTagger):
    """F(sum_i Phi(p_i)) on all node features."""

    def __init__(self, spec: InputSpec, n_classes: int, phi: tuple = (100, 100, 128), f: tuple = (100, 100, 100),
                 dropout: float = 0.0):
        super().__init__(spec, n_classes)
        self.input_norm = nn.BatchNorm1d(len(spec.x_names))
        self.phi = mlp([len(spec.x_names), *phi], norm=False)
        self.f = nn.Sequential(mlp([phi[-1], *f], norm=False, dropout=dropout), nn.Linear(f[-1], n_classes))

    def embed(self, batch):
        return scatter(self.phi(self.input_norm(batch.x)), batch.batch, dim=0, dim_size=batch.num_graphs,
                       reduce="sum")

    def forward(self, batch):
        return self.f(self.embed(batch))


class EFN(JetTagger):
    """F(sum_i z_i Phi(deta_i, dphi_i)) with z_i = pT_i / sum_j pT_j: infrared and collinear safe.

    Only angles enter Phi and energies enter linearly, so splitting a particle into collinear pieces or
    adding a particle of zero energy leaves the output unchanged (a test checks both).
    """

    def __init__(self, spec: InputSpec, n_classes: int, phi: tuple = (100, 100, 128), f: tuple = (100, 100, 100),
                 dropout: float = 0.0):
        super().__init__(spec, n_classes)
        self.phi = mlp([2, *phi], norm=False)
        self.f = nn.Sequential(mlp([phi[-1], *f], norm=False, dropout=dropout), nn.Linear(f[-1], n_classes))

    def energy_fractions(self, batch) -> torch.Tensor:
        pt = torch.exp(self.raw_node_feature(batch, "log_pt"))
        total = scatter(pt, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")
        return pt / total.clamp_min(1e-12)[batch.batch]

    def embed(self, batch):
        z = self.energy_fractions(batch)
        return scatter(z[:, None] * self.phi(batch.pos), batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")

    def forward(self, batch):
        return self.f(self.embed(batch))
