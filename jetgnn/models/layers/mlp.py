"""Multilayer perceptrons with the usual Linear -> norm -> activation pattern."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], norm: bool = True, dropout: float = 0.0, last_activation: bool = True) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ...`` with BatchNorm (if ``norm``), GELU and dropout between."""
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if k < len(sizes) - 2 or last_activation:
            if norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.GELU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)
