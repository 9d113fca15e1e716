"""EdgeConv (DGCNN / ParticleNet) as a torch_geometric MessagePassing layer."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing

from jetgnn.models.layers.knn import knn_edges


class EdgeConv(MessagePassing):
    """x'_i = mean_j h([x_i, x_j - x_i]) over the edges j -> i."""

    def __init__(self, channels: list[int]):
        super().__init__(aggr="mean")
        layers: list[nn.Module] = []
        for n_in, n_out in zip([2 * channels[0], *channels[1:-1]], channels[1:], strict=True):
            layers += [nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU()]
        self.h = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.propagate(edge_index, x=x)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        return self.h(torch.cat([x_i, x_j - x_i], dim=-1))


class EdgeConvBlock(nn.Module):
    """ParticleNet block: kNN graph on ``points``, EdgeConv on ``x`` with a linear shortcut, ReLU.

    in_channels -> channels[-1]; the kNN is rebuilt from the points passed in (dynamic graph).
    """

    def __init__(self, in_channels: int, channels: list[int], k: int):
        super().__init__()
        self.k = k
        self.conv = EdgeConv([in_channels, *channels])
        self.shortcut = nn.Sequential(nn.Linear(in_channels, channels[-1], bias=False), nn.BatchNorm1d(channels[-1]))
        self.activation = nn.ReLU()

    def forward(self, points: torch.Tensor, x: torch.Tensor, batch) -> torch.Tensor:
        edge_index = knn_edges(points, batch, self.k)
        return self.activation(self.conv(x, edge_index) + self.shortcut(x))
