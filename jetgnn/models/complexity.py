r"""What a network costs in hardware terms: non-zero parameters, multiply-accumulates and bit operations per jet.

Wall time does not see unstructured sparsity or narrow integers; these counts do. For a fully connected (or
1×1-convolution) layer with :math:`n` inputs, :math:`m` outputs, :math:`b_w`-bit weights, :math:`b_a`-bit
inputs and a fraction :math:`f_p` of zero weights, one application costs (Baskaran et al. 2019, as used for the
quantised and pruned jet taggers of Hawks et al. 2021)

.. math::
    \mathrm{BOPs} = m\,n\,\big((1 - f_p)\, b_a b_w + b_a + b_w + \log_2 n\big).

Float layers count as 32 bits. Multiply-accumulates outside linear layers (attention products, kNN distances)
come from ``torch.utils.flop_counter`` and count as dense 32-bit operations.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

FLOAT_BITS = 32


@dataclass(frozen=True)
class ModelCost:
    """params : all parameters; nonzero_params : parameters that are not zero (pruned or quantised to zero weights
    count as zero); macs_per_jet : multiply-accumulates of a dense evaluation; nonzero_macs_per_jet : those with a
    non-zero weight; bops_per_jet : bit operations (formula above); weight_sparsity : zero fraction of the linear
    and convolution weights."""

    params: int
    nonzero_params: int
    macs_per_jet: float
    nonzero_macs_per_jet: float
    bops_per_jet: float
    weight_sparsity: float

    def to_dict(self) -> dict:
        return asdict(self)


def effective_weight(module: nn.Module) -> torch.Tensor:
    """The weight a layer multiplies with: the quantised one for Brevitas layers (zeros after rounding count)."""
    quant = getattr(module, "quant_weight", None)
    if callable(quant):
        value = quant()
        return getattr(value, "value", value).detach()
    return module.weight.detach()


def _layer_cost(module: nn.Module, inputs, output) -> tuple[float, float, float, int, int]:
    """(dense MACs, non-zero MACs, BOPs, zero weights, weights) of one call of a linear / convolution layer."""
    weight = effective_weight(module)
    if isinstance(module, nn.Linear):
        n_in, n_out = module.in_features, module.out_features
        rows = inputs[0].numel() // n_in
    else:  # convolution: every output position is one application of a [out, in * kernel] matrix
        n_out, n_in = weight.shape[0], weight[0].numel()
        rows = output.numel() // n_out
    zeros = int((weight == 0).sum().item())
    nonzero_fraction = 1.0 - zeros / weight.numel()
    b_w = getattr(module, "weight_bits", FLOAT_BITS)
    b_a = getattr(module, "input_bits", FLOAT_BITS)
    macs = rows * n_in * n_out
    bops = macs * (nonzero_fraction * b_a * b_w + b_a + b_w + math.log2(max(n_in, 1)))
    return macs, macs * nonzero_fraction, bops, zeros, weight.numel()


def model_cost(model: nn.Module, batch) -> ModelCost:
    """The costs of ``model`` on ``batch`` (a graph batch, or a tensor for a plain network), per jet.

    Shapes: the batch's jets set the per-jet average (a graph network's cost grows with the constituents).
    """
    # a frozen copy: FlopCounterMode's module tracker hooks the gradients of tensors that require them, which
    # fails on Brevitas' and pruning's derived weights
    model = copy.deepcopy(model).requires_grad_(False)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]
    totals = {"macs": 0.0, "nonzero": 0.0, "bops": 0.0}
    weights = {}

    def hook(module, inputs, output):
        macs, nonzero, bops, zeros, size = _layer_cost(module, inputs, output)
        totals["macs"] += macs
        totals["nonzero"] += nonzero
        totals["bops"] += bops
        weights[id(module)] = (zeros, size)

    handles = [layer.register_forward_hook(hook) for layer in layers]
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    n_jets = getattr(batch, "num_graphs", None) or len(batch)
    other = max(counter.get_total_flops() / 2 - totals["macs"], 0.0)  # MACs outside the linear layers
    other_bops = other * (FLOAT_BITS * FLOAT_BITS + 2 * FLOAT_BITS)  # dense 32-bit, accumulation term left out
    zero_params = sum(int((effective_weight(m) == 0).sum().item()) for m in layers)
    params = sum(p.numel() for p in model.parameters())
    n_weights = sum(size for _, size in weights.values()) or sum(m.weight.numel() for m in layers)
    zero_weights = sum(zeros for zeros, _ in weights.values())
    return ModelCost(params=params, nonzero_params=params - zero_params,
                     macs_per_jet=(totals["macs"] + other) / n_jets,
                     nonzero_macs_per_jet=(totals["nonzero"] + other) / n_jets,
                     bops_per_jet=(totals["bops"] + other_bops) / n_jets,
                     weight_sparsity=zero_weights / max(n_weights, 1))
