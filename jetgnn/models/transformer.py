"""Particle Transformer encoder (ParT-style): self-attention over a jet's particles with a learned bias
from pairwise features, masked for padding, and permutation invariant after pooling."""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.models.base import InputSpec, JetTagger, classifier
from jetgnn.models.layers import AttentionBlock, dense_pair_features, mask_attention_bias
from jetgnn.models.layers.dense import to_dense


class ParticleTransformer(JetTagger):
    """embed : particle embedding width; heads, layers : attention shape; pair_hidden : width of the MLP that
    turns the 4 pairwise features (ln ΔR, ln kT, ln z, ln m^2; from ``batch.pt`` in GeV and ``batch.pos``) into
    one bias per head; linear_head : a single linear layer as classifier (the JetCLR linear test) instead of an
    MLP.

    :meth:`embed` gives the pooled [n_jets, embed] representation (the JetCLR encoder output).
    """

    reads = ("x", "pos", "pt")

    def __init__(self, spec: InputSpec, n_classes: int, embed: int = 64, heads: int = 4, layers: int = 3,
                 pair_hidden: int = 32, dropout: float = 0.1, linear_head: bool = False):
        super().__init__(spec, n_classes)
        self.heads = heads
        self.input_norm = nn.BatchNorm1d(len(spec.x_names))
        self.particle_embed = nn.Sequential(nn.Linear(len(spec.x_names), embed), nn.GELU(), nn.Linear(embed, embed))
        self.pair_embed = nn.Sequential(nn.Linear(4, pair_hidden), nn.GELU(), nn.Linear(pair_hidden, heads))
        self.blocks = nn.ModuleList(AttentionBlock(embed, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(embed)
        self.head = classifier(embed, n_classes, (embed,), dropout, linear_head)

    def embed(self, batch) -> torch.Tensor:
        x, mask = to_dense(self.particle_embed(self.input_norm(batch.x)), batch)
        pt = to_dense(batch.pt, batch)[0]
        pos = to_dense(batch.pos, batch)[0]
        bias = self.pair_embed(dense_pair_features(pt, pos[..., 0], pos[..., 1])).permute(0, 3, 1, 2)
        bias = mask_attention_bias(bias, mask)
        for block in self.blocks:
            x = block(x, bias)
        x = self.norm(x) * mask[..., None]
        return x.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
