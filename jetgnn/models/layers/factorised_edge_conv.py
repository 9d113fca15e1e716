"""EdgeConv with its first linear layer evaluated per node instead of per edge."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn.inits import reset

from jetgnn.models.layers.dense import EdgeGrid
from jetgnn.models.layers.segment import segment_mean


def batch_norm_affine(norm: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(scale, shift) with ``norm(y) = y * scale + shift`` for an eval-mode BatchNorm with running statistics;
    None where ``norm`` is not one (training mode, no running statistics, another module)."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.training or norm.running_var is None:
        return None
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    return scale, (shift + norm.bias if norm.affine else shift)


def run_folded(layers, h: torch.Tensor, owned: bool = False) -> torch.Tensor:
    """``layers`` applied in turn to ``h``, each Linear followed by an eval-mode BatchNorm as one affine map
    (:func:`batch_norm_affine`): the same values up to float rounding, one pass over [rows, C] fewer.
    ReLUs act in place on tensors made here (and on ``h`` itself if ``owned``)."""
    k = 0
    while k < len(layers):
        layer = layers[k]
        if isinstance(layer, torch.nn.Linear) and k + 1 < len(layers):
            affine = batch_norm_affine(layers[k + 1])
            if affine is not None:  # eval mode: BN(W h + c) = (s W) h + (s c + b)
                scale, shift = affine
                bias = shift if layer.bias is None else layer.bias * scale + shift
                h = F.linear(h, layer.weight * scale[:, None], bias)
                k += 2
                continue
        # in place on a tensor made here (ReLU's backward needs only its output): no [rows, C] allocation
        h = torch.relu_(h) if isinstance(layer, nn.ReLU) and (owned or k > 0) else layer(h)
        k += 1
    return h


class FactorisedEdgeConv(nn.Module):
    r"""EdgeConv (Wang et al. 2019) with mean aggregation,

    .. math::
        x'_i = \frac{1}{|\mathcal{N}(i)|} \sum_{j \in \mathcal{N}(i)} h_\Theta(x_i \,\|\, x_j - x_i),

    where the first layer of :math:`h_\Theta` is linear (no bias), :math:`W = [W_a \,|\, W_b]`, and so splits into
    per-node products, :math:`W [x_i \| x_j - x_i] = (W_a - W_b)\, x_i + W_b\, x_j`: two [n_nodes, C] x [C, C']
    matrix products and one gather-add per edge instead of a [n_edges, 2C] x [2C, C'] product. The values are those
    of PyG's :class:`~torch_geometric.nn.conv.EdgeConv` (``aggr="mean"``) on the same ``nn`` up to float rounding
    (``tests/test_models.py``). In eval mode each BatchNorm of ``nn`` that follows a Linear is folded into it.

    Measured reason for not using PyG's EdgeConv: in ParticleNet-Lite's forward (2 cores, top jets, 64
    particles, k = 7) the edge matrix products were 43% of the time, the first layer a third of their FLOPs (2C of
    the 2C + C' + C' inputs per edge) and the [x_i, x_j - x_i] concatenation 7% more. Same weights, same batches
    (``benchmarks/edge_conv.py``, ``benchmarks/results/edge_conv.json``): training 1.27x (ParticleNet-Lite) and
    1.62x (ParticleNet) PyG's jets/s, prediction 1.33x and 1.45x.

    Args:
        nn: :math:`h_\Theta`, a Sequential whose first module is ``Linear(2 * C, C', bias=False)`` (see
            :func:`~jetgnn.models.layers.edge_conv.edge_mlp`).
    Shapes:
        x [n_nodes, C], edge_index [2, n_edges] (source j, target i) -> [n_nodes, channels of the last layer];
        grid (optional): the :class:`~jetgnn.models.layers.dense.EdgeGrid` of the edges, which then aggregates
        (padded, exported batches).
    """

    def __init__(self, nn: nn.Sequential):
        super().__init__()
        first = nn[0]
        if not isinstance(first, torch.nn.Linear) or first.bias is not None or first.in_features % 2:
            raise ValueError("FactorisedEdgeConv: the first layer of nn must be a bias-free Linear(2 * C, C')")
        self.nn = nn
        reset(self.nn)  # as PyG's EdgeConv does: the same initial weights for the same seed as before

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, grid: EdgeGrid | None = None) -> torch.Tensor:
        source, target = edge_index[0], edge_index[1]
        layers = list(self.nn)
        weight = layers[0].weight
        channels = x.shape[1]
        w_target, w_source = weight[:, :channels] - weight[:, channels:], weight[:, channels:]
        affine = batch_norm_affine(layers[1]) if len(layers) > 1 else None
        bias = None
        if affine is not None:  # eval mode: BN(W_t x_i + W_s x_j) = (s W_t) x_i + b + (s W_s) x_j
            scale, bias = affine
            w_target, w_source = w_target * scale[:, None], w_source * scale[:, None]
        layers = layers[1 if affine is None else 2:]
        h = F.linear(x, w_target, bias).index_select(0, target) + F.linear(x, w_source).index_select(0, source)
        h = run_folded(layers, h, owned=True)
        return segment_mean(h, target, x.shape[0]) if grid is None else grid.mean(h)
