"""Multilayer perceptrons with the usual Linear -> norm -> activation pattern."""

from __future__ import annotations

from torch import nn

from jetgnn.errors import InputError

#: activation functions by name (``activation`` of the MLP-based models)
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


def check_activation(name: str, model: str) -> None:
    """InputError for an activation name that :func:`mlp` does not know."""
    if name not in ACTIVATIONS:
        raise InputError(f"{model}: unknown activation {name!r} (choose from {', '.join(ACTIVATIONS)})")


def mlp(sizes: list[int], norm: bool = True, dropout: float = 0.0, last_activation: bool = True,
        activation: str = "gelu") -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ...`` with BatchNorm (if ``norm``), the activation (GELU, or ReLU:
    what hls4ml implements) and dropout between."""
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if k < len(sizes) - 2 or last_activation:
            if norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
