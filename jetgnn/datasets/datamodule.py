"""``JetDataModule``: the one answer to "which jets are training, validation and test jets?".

Training, pre-training and the benchmark all take their split from here: the files of a :class:`DataConfig`
are read once (and kept for the next run of the same process on the same files, e.g. the seeds of a
benchmark), split with the seeds of the config, and served to Lightning as graph datasets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import awkward as ak
import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from jetgnn.datasets.config import DataConfig
from jetgnn.datasets.contrastive import ContrastivePairs
from jetgnn.datasets.in_memory import InMemoryGraphDataset
from jetgnn.datasets.streaming import StreamingGraphDataset
from jetgnn.errors import InputError
from jetgnn.graphs.builder import build_graphs, infer_jet_radius
from jetgnn.io.files import expand_paths
from jetgnn.io.jets import Jets, check_classes, require_classes
from jetgnn.io.mapping import load_mapping
from jetgnn.io.reader import read_jets
from jetgnn.io.sources import open_source

_READ_CACHE: dict[tuple, Jets] = {}
_READ_CACHE_SIZE = 2


def read_once(files: list[str], mapping, max_jets: int | None) -> Jets:
    """read_jets of ``files``, kept for the next call with the same (unchanged) files and options."""
    paths = expand_paths(files)
    stats = tuple((os.path.abspath(p), os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths)
    key = (stats, json.dumps(mapping, sort_keys=True, default=str), max_jets)
    if key not in _READ_CACHE:
        while len(_READ_CACHE) >= _READ_CACHE_SIZE:
            _READ_CACHE.pop(next(iter(_READ_CACHE)))
        _READ_CACHE[key] = read_jets(paths, mapping=mapping, entry_stop=max_jets)
    return _READ_CACHE[key]


def refuse_streaming(config: DataConfig, command: str) -> None:
    """One InputError: ``data.streaming`` is for supervised training (``jetgnn train``) only."""
    if config.streaming is not None:
        raise InputError(f"data.streaming is supported by jetgnn train only; {command} reads its jets into memory "
                         f"(remove data.streaming)")


class EpochLoader:
    """A training DataLoader that starts only when its first batch is asked for, on the trainer's epoch.

    Lightning makes the training loader (and starts a DataLoader's worker processes, which take their copy of the
    dataset's epoch as they start) before a resumed run has settled which epoch it is in: started there, the
    workers would serve the order of the wrong epoch. This wrapper starts the DataLoader at the first ``next``,
    when the epoch is known, and sets it on the dataset first.
    """

    def __init__(self, loader: DataLoader, epoch):
        self.loader, self._epoch = loader, epoch

    @property
    def dataset(self):
        return self.loader.dataset

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.loader.dataset.set_epoch(self._epoch())
        yield from self.loader


@dataclass(frozen=True)
class Split:
    """The jets of one run: ``test`` is the validation jets when the config names no test files."""

    train: Jets
    val: Jets
    test: Jets
    test_is_validation: bool
    #: streaming (``data.streaming``): ``train`` is a sample, and this many jets are streamed every epoch
    n_streamed: int | None = None

    @property
    def label_names(self) -> list[str] | None:
        return self.train.label_names

    @property
    def n_train_jets(self) -> int:
        return len(self.train) if self.n_streamed is None else self.n_streamed


class JetDataModule(L.LightningDataModule):
    """The jets of a data config, split and served as graph datasets (in-memory, shuffled every epoch).

    config : the ``data`` section; seed : ``training.seed`` (seeds the split unless ``data.split_seed`` is set,
    and the shuffling); num_workers : DataLoader workers; pin_memory : the loaders pin their batches
    (page-locked memory, for asynchronous copies to a GPU); labelled : the jets must carry labels (training)
    or labels are dropped (pre-training never sees them); hint : how the user names files in the error for
    missing ones.
    """

    def __init__(self, config: DataConfig, seed: int = 0, num_workers: int = 0, labelled: bool = True,
                 hint: str = "set data.{what} in the config or pass --{what}", pin_memory: bool = False):
        super().__init__()
        self.config, self.seed, self.num_workers, self.labelled, self.hint = config, seed, num_workers, labelled, hint
        self.pin_memory = pin_memory
        self._split: Split | None = None
        self.train_set = self.val_set = None
        #: build_graphs options on top of graph_options() for the datasets (e.g. no edges for a model that
        #: reads none: :func:`jetgnn.models.base.unread_edge_options`); config.yaml records graph_options()
        self.graph_overrides: dict = {}

    # -- the split ---------------------------------------------------------------------------------------
    def _read(self, files: list[str], what: str) -> Jets:
        if not files:
            raise InputError(f"no {what} files: {self.hint.format(what=what)}")
        if self.config.sample_labels is not None and what in ("train", "val"):
            return self._read_samples(files)
        jets = read_once(files, self.config.mapping, self.config.max_jets)
        if not self.labelled:
            return Jets(jets.arrays[[f for f in jets.fields if f != "jet_label"]])
        if jets.labels is None:
            raise InputError(f"{what} files have no labels (label branches or a mapping with labels are needed)")
        return jets

    def _read_samples(self, files: list[str]) -> Jets:
        """Weak supervision: the jets of entry k of ``files`` get label k of ``data.sample_labels``."""
        parts = []
        for k, pattern in enumerate(files):
            jets = read_once([pattern], self.config.mapping, self.config.max_jets)
            arrays = jets.arrays[[f for f in jets.fields if f != "jet_label"]]
            parts.append(ak.with_field(arrays, np.full(len(jets), k, dtype=np.int64), "jet_label"))
        return Jets(ak.concatenate(parts), list(self.config.sample_labels))

    @property
    def split(self) -> Split:
        """Training jets, validation jets (``data.val`` files, else a seeded ``val_fraction`` of the training
        files), a seeded ``train_fraction`` of the training jets, and the test jets."""
        if self._split is None and self.config.streaming is not None:
            self._split = self._streaming_split()
        if self._split is None:
            data = self.config
            train = self._read(data.train, "train")
            if data.val:
                val = self._read(data.val, "val")
            else:
                split_seed = self.seed if data.split_seed is None else data.split_seed
                order = np.random.default_rng(split_seed).permutation(len(train))
                n_val = max(1, int(round(data.val_fraction * len(train))))
                val, train = train[np.sort(order[:n_val])], train[np.sort(order[n_val:])]
            if data.train_fraction < 1:
                n_keep = max(2, int(round(data.train_fraction * len(train))))
                keep = np.random.default_rng([self.seed, 1]).permutation(len(train))[:n_keep]
                train = train[np.sort(keep)]
            test = self._read(data.test, "test") if data.test else val
            if self.labelled:
                self._check_classes(train, val, test)
            self._split = Split(train, val, test, not data.test)
        return self._split

    def _streaming_split(self) -> Split:
        """``data.streaming``: a sample of the training files (``streaming.sample_jets``, spread over the files)
        stands for them where a sample is needed; validation and test jets are read as usual."""
        data = self.config
        if not data.val:
            raise InputError("data.streaming needs validation files (set data.val or pass --val): the training "
                             "files are streamed, not split")
        if not data.train:
            raise InputError(f"no train files: {self.hint.format(what='train')}")
        paths = expand_paths(data.train)
        per_file = -(-data.streaming.sample_jets // len(paths))
        sample = read_once(data.train, data.mapping, per_file)
        if sample.labels is None:
            raise InputError("train files have no labels (label branches or a mapping with labels are needed)")
        val = self._read(data.val, "val")
        test = self._read(data.test, "test") if data.test else val
        self._check_classes(sample, val, test)
        mapping = load_mapping(data.mapping) if data.mapping is not None else None
        n = sum(open_source(p, mapping.format if mapping else None, mapping.tree if mapping else None).num_entries
                for p in paths)
        return Split(sample, val, test, not data.test, n_streamed=n)

    def _check_classes(self, train: Jets, val: Jets, test: Jets) -> None:
        """Every split has the training files' classes, each with jets (checked before any training)."""
        data = self.config
        names = {"train": ", ".join(data.train), "val": ", ".join(data.val or data.train),
                 "test": ", ".join(data.test or data.val or data.train)}
        check_classes(val.label_names, train.label_names, f"validation files {names['val']}",
                      f"training files {names['train']}")
        check_classes(test.label_names, train.label_names, f"test files {names['test']}",
                      f"training files {names['train']}")
        require_classes(train, f"training jets of {names['train']}", "training")
        require_classes(val, f"validation jets of {names['val']}", "validation")

    def graph_options(self) -> dict:
        """build_graphs options with the radius fixed (inferred from the training jets when the config leaves it
        open), so that predictions later build the same graphs."""
        options = self.config.graph.model_dump()
        if options["radius"] is None:
            options["radius"] = infer_jet_radius(self.split.train)
        return options

    # -- datasets for Lightning ----------------------------------------------------------------------------
    def make_datasets(self, graph: dict):
        data = self.config
        if data.streaming is not None:
            stream = data.streaming
            train = StreamingGraphDataset(data.train, batch_size=data.batch_size, step_size=stream.step_size,
                                          shuffle_buffer=stream.shuffle_buffer, shuffle=True, balance=data.balance,
                                          cache_dir=stream.cache_dir, seed=self.seed, mapping=data.mapping, **graph)
        else:
            train = InMemoryGraphDataset(self.split.train, batch_size=data.batch_size, shuffle=True,
                                         balance=data.balance, seed=self.seed, **graph)
        val = InMemoryGraphDataset(self.split.val, batch_size=data.batch_size, shuffle=False, **graph)
        return train, val

    def example_batch(self):
        """A few training jets as a graph Batch (names of the features, for building a model)."""
        return build_graphs(self.split.train[:8], **self.graph_options())

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set, self.val_set = self.make_datasets({**self.graph_options(), **self.graph_overrides})

    def _loader(self, dataset) -> DataLoader:
        return DataLoader(dataset, batch_size=None, num_workers=self.num_workers, pin_memory=self.pin_memory)

    def train_dataloader(self) -> DataLoader | EpochLoader:
        """The training loader; under a trainer, an :class:`EpochLoader` on ``trainer.current_epoch``."""
        self.setup()
        if self.trainer is None:
            return self._loader(self.train_set)
        return EpochLoader(self._loader(self.train_set), lambda: self.trainer.current_epoch)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.val_set)


class ContrastiveDataModule(JetDataModule):
    """Unlabelled jets served as pairs of augmented views (:class:`ContrastivePairs`) for pre-training."""

    def __init__(self, config: DataConfig, seed: int = 0, num_workers: int = 0, augmentations: dict | None = None,
                 pin_memory: bool = False):
        refuse_streaming(config, "jetgnn pretrain")
        super().__init__(config, seed, num_workers, labelled=False,
                         hint="pass --data or set data.{what} in the config", pin_memory=pin_memory)
        self.augmentations = augmentations

    def make_datasets(self, graph: dict):
        train_jets, val_jets = self.split.train, self.split.val
        train = ContrastivePairs(train_jets, min(self.config.batch_size, len(train_jets)), self.augmentations,
                                 seed=self.seed, **graph)
        val = ContrastivePairs(val_jets, min(self.config.batch_size, len(val_jets)), self.augmentations,
                               shuffle=False, seed=self.seed + 1, **graph)
        return train, val

    def example_batch(self):
        self.setup()
        return self.train_set.views(self.split.train[:8], np.random.default_rng(self.seed))[0]
