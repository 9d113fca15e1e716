"""Pairs of augmented views of the same jets, for contrastive (JetCLR) pre-training."""

from __future__ import annotations

import numpy as np
from torch.utils.data import IterableDataset

from jetgnn.datasets.common import batch_slices, check_graph_kwargs, check_positive, ddp_rank, per_rank
from jetgnn.graphs.builder import build_graphs, infer_jet_radius
from jetgnn.io.jets import Jets


class ContrastivePairs(IterableDataset):
    """Yields ``(view_1, view_2)``: two graph Batches of the same ``batch_size`` jets, each built from an
    independent augmentation (:func:`jetgnn.pretraining.augment.augment` with ``augmentations``).

    Jets are shuffled every epoch; the randomness of epoch e, batch b comes from the seed (seed, e, b), so a run
    is reproducible. Labels are never used (the views carry none). Under DDP each rank takes its own share.
    """

    def __init__(self, jets: Jets, batch_size: int = 256, augmentations: dict | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = True, **graph_kwargs):
        super().__init__()
        self.jets = jets
        self.batch_size = check_positive("batch_size", batch_size)
        self.augmentations, self.shuffle, self.seed, self.drop_last = augmentations, shuffle, seed, drop_last
        self.graph_kwargs = check_graph_kwargs(graph_kwargs)
        self.radius = self.graph_kwargs.get("radius") or infer_jet_radius(jets)
        self.epoch = 0

    def __len__(self) -> int:
        _, world = ddp_rank()
        return max(1, len(batch_slices(len(self.jets) // world, self.batch_size, self.drop_last)))

    def views(self, jets: Jets, rng: np.random.Generator):
        from jetgnn.pretraining.augment import augment

        return tuple(build_graphs(augment(jets, rng, self.augmentations, radius=self.radius), **self.graph_kwargs)
                     for _ in range(2))

    def __iter__(self):
        n = len(self.jets)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)
        order = per_rank(order)
        rank, _ = ddp_rank()
        epoch = self.epoch
        self.epoch += 1
        slices = batch_slices(len(order), self.batch_size, self.drop_last) or [slice(0, len(order))]
        for b, part in enumerate(slices):
            yield self.views(self.jets[np.sort(order[part])], np.random.default_rng([self.seed, epoch, b, rank]))
