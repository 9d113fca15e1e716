"""Particle Transformer encoder (ParT-style): self-attention over a jet's particles with a learned bias
from pairwise features, masked for padding, and permutation invariant after pooling."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import to_dense_batch

from jetgnn.models.base import InputSpec, JetTagger
from jetgnn.models.layers import dense_pair_features, mlp


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention with an additive [B, heads, N, N] bias, then a feed-forward layer."""

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


class ParticleTransformer(JetTagger):
    """embed : particle embedding width; heads, layers : attention shape; pair_hidden : width of the MLP that
    turns the 4 pairwise features (ln ΔR, ln kT, ln z, ln m^2) into one bias per head.

    :meth:`embed` gives the pooled [n_jets, embed] representation (the JetCLR encoder output).
    """

    def __init__(self, spec: InputSpec, n_classes: int, embed: int = 64, heads: int = 4, layers: int = 3,
                 pair_hidden: int = 32, dropout: float = 0.1):
        super().__init__(spec, n_classes)
        self.heads = heads
        self.input_norm = nn.BatchNorm1d(len(spec.x_names))
        self.particle_embed = nn.Sequential(nn.Linear(len(spec.x_names), embed), nn.GELU(), nn.Linear(embed, embed))
        self.pair_embed = nn.Sequential(nn.Linear(4, pair_hidden), nn.GELU(), nn.Linear(pair_hidden, heads))
        self.blocks = nn.ModuleList(AttentionBlock(embed, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Sequential(mlp([embed, embed], norm=False, dropout=dropout), nn.Linear(embed, n_classes))

    def embed(self, batch) -> torch.Tensor:
        x, mask = to_dense_batch(self.particle_embed(self.input_norm(batch.x)), batch.batch,
                                 batch_size=batch.num_graphs)
        pt = torch.exp(self.raw_node_feature(batch, "log_pt"))
        pt, _ = to_dense_batch(pt, batch.batch, batch_size=batch.num_graphs)
        pos, _ = to_dense_batch(batch.pos, batch.batch, batch_size=batch.num_graphs)
        bias = self.pair_embed(dense_pair_features(pt, pos[..., 0], pos[..., 1])).permute(0, 3, 1, 2)
        pair_ok = mask[:, None, :, None] & mask[:, None, None, :]
        # padded keys are masked out; a padded query attends to itself only (its row must not be all -inf)
        eye = torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)[None, None]
        bias = bias.masked_fill(~(pair_ok | (eye & ~mask[:, None, :, None])), float("-inf"))
        for block in self.blocks:
            x = block(x, bias)
        x = self.norm(x) * mask[..., None]
        return x.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)

    def forward(self, batch):
        return self.head(self.embed(batch))
