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
    adding a particle of zero energy leaves the output unchanged (a test checks both). Angles are
    standardised and the pooled observables layer-normalised (both keep IRC safety); without them training
    stays stuck at initialisation on R=0.4 jets, whose angles are ~0.1 rad.
    """

    def __init__(self, spec: InputSpec, n_classes: int, phi: tuple = (100, 100, 128), f: tuple = (100, 100, 100),
                 dropout: float = 0.0):
        super().__init__(spec, n_classes)
        # angles of R=0.4 jets are ~0.1 rad: standardise them with their exact running average (momentum=None;
        # the input distribution does not change during training), a fixed affine map at inference
        self.angle_norm = nn.BatchNorm1d(2, momentum=None, affine=False)
        self.phi = mlp([2, *phi], norm=False)
        # the pooled observables of different jets differ only slightly (most energy sits near the axis):
        # a LayerNorm brings them to O(1) before F; it acts after the sum, so IRC safety is kept, and it has
        # no running statistics that could differ between training and inference
        self.f = nn.Sequential(nn.LayerNorm(phi[-1]), mlp([phi[-1], *f], norm=False, dropout=dropout),
                               nn.Linear(f[-1], n_classes))

    def energy_fractions(self, batch) -> torch.Tensor:
        pt = torch.exp(self.raw_node_feature(batch, "log_pt"))
        total = scatter(pt, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")
        return pt / total.clamp_min(1e-12)[batch.batch]

    def embed(self, batch):
        z = self.energy_fractions(batch)
        phi = self.phi(self.angle_norm(batch.pos))
        return scatter(z[:, None] * phi, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")

    def forward(self, batch):
        return self.f(self.embed(batch))
