"""Interaction network / graph network on the ΔR graph, with edge features and jet-level globals."""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.errors import InputError
from jetgnn.models.base import InputSpec, JetTagger, classifier
from jetgnn.models.layers import GraphNetworkBlock, mlp
from jetgnn.models.layers.dense import jet_mean


class MPNN(JetTagger):
    """Encoders for nodes, edges and globals (jet mass etc., batch-normalised from GeV), ``n_blocks``
    GraphNetworkBlocks with residual updates of nodes, edges and globals; :meth:`embed` is [u, mean of nodes],
    classified by ``head`` (hidden width ``hidden``; ``linear_head``: a single linear layer)."""

    reads = ("x", "u", "edge_index", "edge_attr")

    def __init__(self, spec: InputSpec, n_classes: int, hidden: int = 64, n_blocks: int = 3, dropout: float = 0.1,
                 linear_head: bool = False):
        super().__init__(spec, n_classes)
        if not spec.edge_attr_names:
            raise InputError("mpnn needs edge features: build graphs with with_edge_features=True")
        self.node_encoder = nn.Sequential(nn.BatchNorm1d(len(spec.x_names)), mlp([len(spec.x_names), hidden]))
        self.edge_encoder = nn.Sequential(nn.BatchNorm1d(len(spec.edge_attr_names)),
                                          mlp([len(spec.edge_attr_names), hidden]))
        self.global_encoder = nn.Sequential(nn.BatchNorm1d(len(spec.u_names)), mlp([len(spec.u_names), hidden]))
        self.blocks = nn.ModuleList(GraphNetworkBlock(hidden, hidden, hidden, hidden) for _ in range(n_blocks))
        self.head = classifier(2 * hidden, n_classes, (hidden,), dropout, linear_head)

    def embed(self, batch):
        x = self.node_encoder(batch.x)
        e = self.edge_encoder(batch.edge_attr)
        u = self.global_encoder(batch.u)
        for block in self.blocks:
            dx, de, du = block(x, batch.edge_index, e, u, batch.batch, getattr(batch, "edge_grid", None),
                               getattr(batch, "dense_layout", None))
            x, e, u = x + dx, e + de, u + du
        return torch.cat([u, jet_mean(x, batch)], dim=-1)
