"""Pairs of augmented views of the same jets, for contrastive (JetCLR) pre-training."""

from __future__ import annotations

import numpy as np

from jetgnn.datasets.common import EpochDataset, batch_slices, check_positive, graph_options
from jetgnn.graphs.builder import build_graphs, infer_jet_radius
from jetgnn.io.jets import Jets
from jetgnn.transforms.augment import augment, check_augmentations


class ContrastivePairs(EpochDataset):
    """Yields ``(view_1, view_2)``: two graph Batches of the same ``batch_size`` jets, each built from an
    independent augmentation (:func:`jetgnn.transforms.augment.augment` with ``augmentations``).

    Jets are shuffled every epoch; the randomness of epoch e, batch b of rank r comes from the seed
    (seed, e, b, r), so a run is reproducible, whatever the number of DataLoader workers. Labels are never used
    (the views carry none). Jets are sharded like :class:`~jetgnn.datasets.InMemoryGraphDataset`'s.
    """

    def __init__(self, jets: Jets, batch_size: int = 256, augmentations: dict | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = True, **graph_kwargs):
        super().__init__()
        self.jets = jets
        self.batch_size = check_positive("batch_size", batch_size)
        if augmentations is not None:
            check_augmentations(augmentations)
        self.augmentations, self.shuffle, self.seed, self.drop_last = augmentations, shuffle, seed, drop_last
        self.graph_kwargs = graph_options(graph_kwargs)
        self.radius = self.graph_kwargs.get("radius") or infer_jet_radius(jets)

    def _slices(self, n: int) -> list[slice]:
        return batch_slices(n, self.batch_size, self.drop_last) or [slice(0, n)]

    def __len__(self) -> int:
        return len(self._slices(len(self.shard.rank_share(np.arange(len(self.jets))))))

    def views(self, jets: Jets, rng: np.random.Generator):
        return tuple(build_graphs(augment(jets, rng, self.augmentations, radius=self.radius), **self.graph_kwargs)
                     for _ in range(2))

    def __iter__(self):
        epoch = self._begin_epoch()
        shard = self.shard
        n = len(self.jets)
        order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        order = shard.rank_share(order)
        batches = list(enumerate(self._slices(len(order))))
        for b, part in shard.worker_share(batches):
            yield self.views(self.jets[np.sort(order[part])], np.random.default_rng([self.seed, epoch, b, shard.rank]))
