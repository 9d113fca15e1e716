"""Self-attention over the particles of each jet with an additive pairwise bias (ParT-style)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def mask_attention_bias(bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mask a [B, heads, N, N] attention bias for padding ([B, N] ``mask``, True for real particles).

    Padded keys get -inf; a padded query attends to itself only, so that no row of the softmax is all -inf.
    """
    pair_ok = mask[:, None, :, None] & mask[:, None, None, :]
    eye = torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)[None, None]
    return bias.masked_fill(~(pair_ok | (eye & ~mask[:, None, :, None])), float("-inf"))


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention with an additive [B, heads, N, N] bias, then a feed-forward layer.

    forward(x [B, N, dim], bias [B, heads, N, N]) -> [B, N, dim].
    """

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout),
                                          nn.Linear(4 * dim, dim))

    def attend(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Multi-head attention with the ``nn.MultiheadAttention`` weights, written out (same result up to
        rounding; unlike the fused kernels it exports to ONNX with dynamic shapes)."""
        b, n, dim = h.shape
        mha = self.attention
        q, k, v = F.linear(h, mha.in_proj_weight, mha.in_proj_bias).reshape(b, n, 3, self.heads, dim // self.heads) \
            .permute(2, 0, 3, 1, 4)  # 3 x [B, heads, N, dim / heads]
        weights = torch.softmax(q @ k.transpose(-1, -2) * (dim // self.heads) ** -0.5 + bias, dim=-1)
        weights = F.dropout(weights, mha.dropout, self.training)
        return mha.out_proj((weights @ v).permute(0, 2, 1, 3).reshape(b, n, dim))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = x + self.attend(self.norm1(x), bias)
        return x + self.feed_forward(self.norm2(x))
