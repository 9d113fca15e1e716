"""The ParticleNet block: EdgeConv on a dynamic kNN graph, with a linear shortcut."""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.models.layers.factorised_edge_conv import FactorisedEdgeConv, run_folded
from jetgnn.models.layers.knn import knn_graph


def edge_mlp(channels: list[int]) -> nn.Sequential:
    """h of EdgeConv: Linear (no bias) -> BatchNorm -> ReLU layers, ``2 * channels[0] -> channels[1] -> ...``."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip([2 * channels[0], *channels[1:-1]], channels[1:], strict=True):
        layers += [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU()]
    return nn.Sequential(*layers)


class EdgeConvBlock(nn.Module):
    r"""ParticleNet block (Qu & Gouskos 2020): a kNN graph on ``points``, then

    .. math::
        x'_i = \mathrm{ReLU}\Big(\frac{1}{k} \sum_{j \in \mathcal{N}_k(i)} h_\Theta(x_i \,\|\, x_j - x_i)
               + \mathrm{BN}(W x_i)\Big)

    with :class:`~jetgnn.models.layers.factorised_edge_conv.FactorisedEdgeConv` (PyG's EdgeConv with mean
    aggregation, its first linear layer per node) for the sum. The kNN graph is rebuilt
    from the points passed in (dynamic graph: (Δη, Δφ) in the first block, learned features later).

    Args:
        in_channels: width of x.  channels: widths of the layers of h.  k: neighbours.
    Shapes:
        points [n_nodes, D], x [n_nodes, in_channels] -> [n_nodes, channels[-1]].
    """

    def __init__(self, in_channels: int, channels: list[int], k: int):
        super().__init__()
        self.k = k
        self.conv = FactorisedEdgeConv(edge_mlp([in_channels, *channels]))
        self.shortcut = nn.Sequential(nn.Linear(in_channels, channels[-1], bias=False), nn.BatchNorm1d(channels[-1]))

    def forward(self, points: torch.Tensor, x: torch.Tensor, batch) -> torch.Tensor:
        edge_index, grid = knn_graph(points, batch, self.k)
        return torch.relu_(self.conv(x, edge_index, grid) + run_folded(self.shortcut, x))
