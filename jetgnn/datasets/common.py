"""Pieces shared by the datasets: who reads what (DDP rank x DataLoader worker), the epoch, batching helpers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from jetgnn.errors import InputError
from jetgnn.graphs.options import GraphOptions


def graph_options(graph_kwargs: dict) -> dict:
    """Validated build_graphs keyword arguments (one InputError line for an unknown option or a bad value)."""
    options = GraphOptions.from_kwargs(graph_kwargs)
    return {key: getattr(options, key) for key in graph_kwargs}


def check_positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return value


def balanced_subset(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices (sorted) keeping, per class present, as many jets as the rarest class has."""
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        return np.arange(len(labels))
    n = counts.min()
    keep = [rng.choice(np.flatnonzero(labels == c), size=n, replace=False) for c in classes]
    return np.sort(np.concatenate(keep))


def batch_slices(n: int, batch_size: int, drop_last: bool) -> list[slice]:
    stop = n - n % batch_size if drop_last else n
    return [slice(start, min(start + batch_size, n)) for start in range(0, stop, batch_size)]


def ddp_rank() -> tuple[int, int]:
    """(rank, world size) of this process under torch.distributed, (0, 1) without it."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@dataclass(frozen=True)
class Shard:
    """Which part of an epoch this reader serves: DDP rank ``rank`` of ``world``, DataLoader worker ``worker`` of
    ``workers``. The one helper every dataset shards with:

    * :meth:`rank_share` gives each rank an equal share of the jets (the remainder is dropped, so that every rank
      takes the same number of steps and DDP's collective operations stay in step);
    * :meth:`worker_share` deals a rank's work items (batches, file units) round-robin to its DataLoader
      workers. DataLoader collects from its workers in turn, so batches arrive in the same order for any number
      of workers.
    """

    rank: int = 0
    world: int = 1
    worker: int = 0
    workers: int = 1

    @classmethod
    def current(cls, ddp: tuple[int, int] = (0, 1)) -> Shard:
        """The shard of this process: the DDP rank from torch.distributed, or in a DataLoader worker (where the
        process group is not initialised) the ``ddp`` (rank, world size) its dataset recorded in the main
        process; the worker from ``get_worker_info``."""
        rank, world = ddp_rank()
        info = get_worker_info()
        if info is None:
            return cls(rank, world)
        if world == 1:
            rank, world = ddp
        return cls(rank, world, info.id, info.num_workers)

    def rank_share(self, order: np.ndarray) -> np.ndarray:
        """This rank's equal share of ``order``."""
        if self.world == 1:
            return order
        return order[: len(order) - len(order) % self.world][self.rank::self.world]

    def worker_share(self, items: Sequence) -> list:
        """This worker's items: every ``workers``-th, starting at ``worker``."""
        return list(items[self.worker::self.workers])


class EpochDataset(IterableDataset):
    """An IterableDataset with an epoch that sets its shuffling and randomness, sharded with :class:`Shard`.

    The epoch lives in shared memory, so that :meth:`set_epoch` in the main process reaches DataLoader workers
    however they are started (forked, spawned or persistent). Training calls ``set_epoch(trainer.current_epoch)``
    before every epoch (``jetgnn.training.callbacks.DatasetEpoch``), which keeps the order right after a resume;
    iterated in the main process without it, each pass moves on to the next epoch by itself. The DDP rank is
    recorded when the dataset is made and at every ``set_epoch`` (DataLoader workers cannot ask torch.distributed).
    """

    def __init__(self):
        super().__init__()
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._ddp = ddp_rank()

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    @property
    def shard(self) -> Shard:
        """This reader's shard (DDP rank x DataLoader worker)."""
        return Shard.current(self._ddp)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next pass serves (call it in the main process before each epoch, as for a
        DistributedSampler); it also records this process's DDP rank for the DataLoader workers."""
        self._epoch.fill_(int(epoch))
        if get_worker_info() is None:
            self._ddp = ddp_rank()

    def _begin_epoch(self) -> int:
        """The epoch this pass serves; in the main process the counter then moves on to the next one."""
        epoch = self.epoch
        if get_worker_info() is None:
            self._epoch.fill_(epoch + 1)
        return epoch
