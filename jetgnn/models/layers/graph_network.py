"""A full graph-network block (Battaglia et al. 2018): edge, node and global updates."""

from __future__ import annotations

import torch
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from jetgnn.models.layers.dense import DenseLayout, EdgeGrid
from jetgnn.models.layers.mlp import mlp


class GraphNetworkBlock(MessagePassing):
    """One interaction-network step with globals.

    e'_ij = phi_e([e_ij, v_i, v_j, u])          (edge update, messages j -> i)
    v'_i  = phi_v([v_i, sum_j e'_ij, u])         (node update)
    u'    = phi_u([u, mean_i v'_i, mean_ij e'])  (global update)
    All three are MLPs of width ``hidden``; residual connections keep deep stacks trainable.

    Shapes:
        x [n_nodes, node_dim], edge_index [2, n_edges], edge_attr [n_edges, edge_dim], u [n_jets, global_dim],
        batch [n_nodes] -> (nodes [n_nodes, hidden], edges [n_edges, hidden], u [n_jets, hidden]). On a padded
        (exported) batch, ``grid`` (its ``edge_grid``) and ``layout`` (its ``dense_layout``) do the sums and means
        without a scatter-add (see :class:`~jetgnn.models.layers.dense.EdgeGrid`).
    """

    def __init__(self, node_dim: int, edge_dim: int, global_dim: int, hidden: int):
        super().__init__(aggr="sum")
        self.phi_e = mlp([edge_dim + 2 * node_dim + global_dim, hidden, hidden])
        self.phi_v = mlp([node_dim + hidden + global_dim, hidden, hidden])
        self.phi_u = mlp([global_dim + 2 * hidden, hidden, hidden])
        self._edges: torch.Tensor | None = None
        self._grid: EdgeGrid | None = None

    def forward(self, x, edge_index, edge_attr, u, batch, grid: EdgeGrid | None = None,
                layout: DenseLayout | None = None):
        edge_batch = batch[edge_index[1]]
        self._grid = grid
        aggregated = self.propagate(edge_index, x=x, edge_attr=edge_attr, u_edge=u[edge_batch])
        edges, self._edges, self._grid = self._edges, None, None
        nodes = self.phi_v(torch.cat([x, aggregated, u[batch]], dim=-1))
        n_graphs = u.shape[0]
        if grid is None or layout is None:
            node_mean = scatter(nodes, batch, dim=0, dim_size=n_graphs, reduce="mean")
            edge_mean = scatter(edges, edge_batch, dim=0, dim_size=n_graphs, reduce="mean")
        else:
            node_mean = layout.mean(nodes)
            edge_mean = grid.jet_mean(edges)
        new_u = self.phi_u(torch.cat([u, node_mean, edge_mean], dim=-1))
        return nodes, edges, new_u

    def message(self, x_i, x_j, edge_attr, u_edge):
        edges = self.phi_e(torch.cat([edge_attr, x_i, x_j, u_edge], dim=-1))
        self._edges = edges
        return edges

    def aggregate(self, inputs, index, ptr=None, dim_size=None):
        if self._grid is not None:
            return self._grid.sum(inputs)
        return super().aggregate(inputs, index, ptr=ptr, dim_size=dim_size)
