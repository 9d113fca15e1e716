"""Self-attention over the particles of each jet with an additive pairwise bias (ParT-style)."""

from __future__ import annotations

import torch
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

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        h = self.norm1(x)
        h, _ = self.attention(h, h, h, attn_mask=bias.reshape(b * self.heads, n, n), need_weights=False)
        x = x + h
        return x + self.feed_forward(self.norm2(x))
