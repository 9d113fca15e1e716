"""ParticleNet (Qu & Gouskos 2020): EdgeConv blocks on dynamic kNN graphs, global average pooling."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from jetgnn.models.base import InputSpec, JetTagger, classifier
from jetgnn.models.layers import EdgeConvBlock
from jetgnn.models.layers.dense import jet_mean


class ParticleNet(JetTagger):
    """k : neighbours; conv : channels per EdgeConv block; fc : widths of the classifier; dropout;
    linear_head : a single linear layer as classifier (the JetCLR linear test).

    The first block finds neighbours in (deta, dphi) (``batch.pos``), later blocks in the learned features;
    :meth:`embed` is the mean of the last block's features over each jet's particles.
    """

    reads = ("x", "pos")
    #: messages (edges x channels of the widest block) per forward pass when scoring. The old fixed 128 jets per
    #: pass suited ParticleNet (k 16, 256 channels) but left ParticleNet-Lite (k 7, 64 channels) ~25% slower
    #: than at 512 jets; ~2^24 messages was near the fastest for both (benchmarks/scoring_batch.py)
    scoring_messages: ClassVar[int] = 2 ** 24
    # checkpoints from before EdgeConv was PyG's (same weights, h was called nn there)
    legacy_keys = {r"\.conv\.h\.": ".conv.nn."}

    def __init__(self, spec: InputSpec, n_classes: int, k: int = 16,
                 conv: tuple = ((64, 64, 64), (128, 128, 128), (256, 256, 256)), fc: tuple = (256,),
                 dropout: float = 0.1, linear_head: bool = False):
        super().__init__(spec, n_classes)
        self.input_norm = nn.BatchNorm1d(len(spec.x_names))
        blocks, width = [], len(spec.x_names)
        for channels in conv:
            blocks.append(EdgeConvBlock(width, list(channels), k))
            width = channels[-1]
        self.blocks = nn.ModuleList(blocks)
        self.head = classifier(width, n_classes, tuple(fc), dropout, linear_head)
        self.scoring_nodes = max(1024, self.scoring_messages // (k * max(max(c) for c in conv)))

    def embed(self, batch):
        x = self.input_norm(batch.x)
        points = batch.pos
        for block in self.blocks:
            x = block(points, x, batch)
            points = x
        return jet_mean(x, batch)
