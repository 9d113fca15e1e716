"""Streaming dataset over ROOT files: bounded memory, shuffling buffer, sharding, balancing, cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from jetgnn.datasets.common import EpochDataset, Shard, balanced_subset, batch_slices, check_positive, graph_options
from jetgnn.graphs.batching import batch_from_dict, batch_to_dict, concat_batches, select_graphs
from jetgnn.graphs.builder import build_graphs
from jetgnn.io.files import expand_paths
from jetgnn.io.mapping import load_mapping
from jetgnn.io.reader import read_entries
from jetgnn.io.sources import open_source
from jetgnn.utils.files import atomic_path
from jetgnn.version import __version__

#: version of the cached graph format (bump when build_graphs adds or changes tensors)
GRAPH_CACHE_FORMAT = 2


class StreamingGraphDataset(EpochDataset):
    """Batches of graphs streamed from ROOT files with memory bounded by ``shuffle_buffer`` jets.

    Files are cut into units of ``step_size`` entries; every epoch the units are shuffled (seed + epoch) and
    dealt round-robin to the DataLoader workers; under DDP every rank reads each of its workers' units and keeps
    an equal share of their jets (:class:`Shard`), so each jet is served once per epoch (under DDP, the last jets
    of a unit that do not divide between the ranks are left out) and every rank takes the same number of steps.
    Built graphs go into a buffer of about ``shuffle_buffer`` jets that is shuffled before batches of
    ``batch_size`` are drawn from it. ``balance`` keeps, per unit, as many jets per class as the rarest class has.
    ``cache_dir`` stores each unit's built graphs (keyed by file, size, mtime, entry range, mapping, graph options
    and DDP rank), so later epochs skip ROOT reading and graph building; cache files load with
    ``torch.load(weights_only=True)``.
    """

    def __init__(self, paths, batch_size: int = 256, step_size: int = 10_000, shuffle_buffer: int = 50_000,
                 shuffle: bool = True, balance: bool = False, cache_dir=None, seed: int = 0, mapping=None,
                 drop_last: bool = False, on_invalid: str = "raise", **graph_kwargs):
        super().__init__()
        self.paths = expand_paths(paths)
        self.batch_size = check_positive("batch_size", batch_size)
        self.step_size = check_positive("step_size", step_size)
        self.shuffle_buffer = check_positive("shuffle_buffer", shuffle_buffer)
        self.shuffle, self.balance, self.seed, self.drop_last = shuffle, balance, seed, drop_last
        self.on_invalid = on_invalid
        self.mapping = load_mapping(mapping) if mapping is not None else None
        self.graph_kwargs = graph_options(graph_kwargs)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        if self.cache_dir is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.units = []
        for path in self.paths:
            n = open_source(path, self.mapping.format if self.mapping else None,
                            self.mapping.tree if self.mapping else None).num_entries
            self.units += [(path, start, min(start + self.step_size, n)) for start in range(0, n, self.step_size)]
        self.num_jets = sum(stop - start for _, start, stop in self.units)
        self.stats = {"units_read": 0, "units_from_cache": 0}

    # -- one unit: ROOT entries -> Batch (or from the cache) ------------------------------------------
    def _cache_path(self, path: str, start: int, stop: int, shard: Shard) -> Path:
        stat = os.stat(path)
        key = json.dumps({"file": os.path.abspath(path), "size": stat.st_size, "mtime": stat.st_mtime_ns,
                          "range": [start, stop], "graph": self.graph_kwargs, "balance": self.balance,
                          "seed": self.seed, "mapping": repr(self.mapping), "version": __version__,
                          "format": GRAPH_CACHE_FORMAT, "rank": [shard.rank, shard.world]},
                         sort_keys=True, default=str)
        return self.cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.pt"

    def _load_unit(self, path: str, start: int, stop: int, shard: Shard):
        """This rank's share of the graphs of one unit (from the cache when it holds them)."""
        cache = self._cache_path(path, start, stop, shard) if self.cache_dir is not None else None
        if cache is not None and cache.exists():
            self.stats["units_from_cache"] += 1
            return batch_from_dict(torch.load(cache, weights_only=True))
        jets = read_entries(path, start, stop, self.mapping, on_invalid=self.on_invalid)
        if self.balance and "jet_label" in jets:
            jets = jets[balanced_subset(jets.labels, np.random.default_rng([self.seed, start, len(path)]))]
        jets = jets[shard.rank_share(np.arange(len(jets)))]
        batch = build_graphs(jets, **self.graph_kwargs) if len(jets) else None
        self.stats["units_read"] += 1
        if cache is not None and batch is not None:
            with atomic_path(cache) as tmp:
                torch.save(batch_to_dict(batch), tmp)
        return batch

    # -- iteration ------------------------------------------------------------------------------------
    def __iter__(self):
        epoch = self._begin_epoch()
        shard = self.shard
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.units)) if self.shuffle \
            else np.arange(len(self.units))
        rng = np.random.default_rng([self.seed, epoch, shard.rank, shard.worker])  # this reader's buffer
        buffer, buffered = [], 0
        for unit in shard.worker_share([self.units[i] for i in order]):
            batch = self._load_unit(*unit, shard)
            if batch is None:
                continue
            buffer.append(batch)
            buffered += batch.num_graphs
            if buffered >= self.shuffle_buffer:
                leftover = yield from self._drain(buffer, rng, keep_remainder=True)
                buffer = [leftover] if leftover is not None else []
                buffered = leftover.num_graphs if leftover is not None else 0
        if buffer:
            yield from self._drain(buffer, rng, keep_remainder=False)

    def _drain(self, buffer, rng, keep_remainder: bool):
        pool = concat_batches(buffer)
        n = pool.num_graphs
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        parts = batch_slices(n, self.batch_size, drop_last=keep_remainder or self.drop_last)
        for part in parts:
            yield select_graphs(pool, order[part])
        used = parts[-1].stop if parts else 0
        if keep_remainder and used < n:
            return select_graphs(pool, order[used:])
        return None

    def __len__(self) -> int:
        """Approximate number of batches per epoch of this rank (exact without balancing, for one worker)."""
        if self.balance:
            raise TypeError("the number of batches of a balanced streaming dataset is only known after reading")
        return -(-(self.num_jets // self.shard.world) // self.batch_size)

