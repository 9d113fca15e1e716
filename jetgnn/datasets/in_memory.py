"""In-memory dataset: graphs built once, shuffled batches every epoch."""

from __future__ import annotations

import numpy as np

from jetgnn.datasets.common import EpochDataset, balanced_subset, batch_slices, check_positive, graph_options
from jetgnn.errors import InputError
from jetgnn.graphs.batching import concat_batches, select_graphs
from jetgnn.graphs.builder import build_graphs
from jetgnn.io.jets import Jets
from jetgnn.io.reader import iter_jets


class InMemoryGraphDataset(EpochDataset):
    """All jets of ``source`` as graphs in memory, served as shuffled Batches of ``batch_size`` jets.

    source : Jets, or ROOT paths/globs (read in chunks of ``step_size`` with ``mapping``).
    balance : keep as many jets per class as the rarest class has (chosen once, with ``seed``).
    graph_kwargs : passed to :func:`jetgnn.build_graphs` (edges, radius, k, max_particles, ...).
    Each pass over the dataset is one epoch, ordered by (``seed``, epoch); see :class:`EpochDataset` for
    :meth:`set_epoch`. Under DDP every rank takes an equal share of the jets, and a rank's batches are dealt to
    its DataLoader workers (:class:`Shard`): every jet is served exactly once per epoch (DDP drops the
    remainder of the jets that do not divide between the ranks).
    """

    def __init__(self, source, batch_size: int = 256, shuffle: bool = True, drop_last: bool = False,
                 balance: bool = False, seed: int = 0, mapping=None, step_size: int = 50_000, **graph_kwargs):
        super().__init__()
        self.batch_size = check_positive("batch_size", batch_size)
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.graph_kwargs = graph_options(graph_kwargs)
        chunks = [source] if isinstance(source, Jets) else iter_jets(source, step_size=step_size, mapping=mapping)
        batches, self.label_names = [], None
        for chunk in chunks:
            self.label_names = self.label_names or chunk.label_names
            if len(chunk):
                batches.append(build_graphs(chunk, **self.graph_kwargs))
        if not batches:
            raise InputError("no jets to build graphs from")
        self.graphs = concat_batches(batches)
        self.index = np.arange(self.graphs.num_graphs)
        if balance and "y" in self.graphs:
            self.index = balanced_subset(self.graphs.y.numpy(), np.random.default_rng(seed))

    @property
    def num_jets(self) -> int:
        return len(self.index)

    def __len__(self) -> int:
        """Batches per epoch of this rank (all its DataLoader workers together)."""
        return len(batch_slices(len(self.shard.rank_share(self.index)), self.batch_size, self.drop_last))

    def __iter__(self):
        epoch = self._begin_epoch()
        shard = self.shard
        order = np.random.default_rng([self.seed, epoch]).permutation(self.index) if self.shuffle else self.index
        order = shard.rank_share(order)
        for part in shard.worker_share(batch_slices(len(order), self.batch_size, self.drop_last)):
            yield select_graphs(self.graphs, order[part])
