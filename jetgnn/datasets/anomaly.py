"""Inputs of the anomaly models and their datasets: jet images or padded constituents, with the jet mass.

:class:`AnomalyInputs` says what a model reads (recorded in its checkpoint); :func:`model_inputs` builds it from
Jets (vectorised, :mod:`jetgnn.transforms.images`, :mod:`jetgnn.transforms.particles`); :class:`AnomalyBatch` is
one batch (``inputs`` tensors, ``mass`` [n] GeV); :class:`AnomalyDataModule` reads the background jets of a data
config (the jets of the ``background`` classes of labelled files; every jet of unlabelled ones), splits them like
every training and serves shuffled batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
import torch

from jetgnn.datasets.anomaly_inputs import AnomalyInputs, as_model_input, model_inputs
from jetgnn.datasets.common import EpochDataset, batch_slices
from jetgnn.datasets.config import DataConfig
from jetgnn.datasets.datamodule import JetDataModule, read_once, refuse_streaming
from jetgnn.errors import InputError
from jetgnn.io.jets import Jets


@dataclass
class AnomalyBatch:
    """One batch: the model's input tensors and the jets' masses (GeV)."""

    inputs: tuple[torch.Tensor, ...]
    mass: torch.Tensor

    @property
    def num_graphs(self) -> int:  # the name the throughput callback counts jets with
        return len(self.mass)

    @property
    def model_input(self):
        return as_model_input(self.inputs)

    def pin_memory(self) -> AnomalyBatch:
        """The batch in page-locked memory (what a DataLoader with ``pin_memory`` calls)."""
        return AnomalyBatch(tuple(t.pin_memory() for t in self.inputs), self.mass.pin_memory())


class TensorBatches(EpochDataset):
    """Batches of precomputed inputs; reshuffled every epoch from (``seed``, epoch), sharded like every dataset
    (:class:`~jetgnn.datasets.common.Shard`): under DDP each rank takes an equal share of the jets, and a rank's
    batches are dealt to its DataLoader workers, so every jet is served once per epoch, in the same batches for
    any number of workers."""

    def __init__(self, arrays: tuple[np.ndarray, ...], mass: np.ndarray, batch_size: int, shuffle: bool,
                 seed: int = 0):
        super().__init__()
        self.arrays = tuple(torch.as_tensor(a) for a in arrays)
        self.mass = torch.as_tensor(np.asarray(mass, dtype=np.float32))
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed

    def __len__(self) -> int:
        """Batches per epoch of this rank (all its DataLoader workers together)."""
        return len(batch_slices(len(self.shard.rank_share(np.arange(len(self.mass)))), self.batch_size, False))

    def __iter__(self):
        epoch, shard = self._begin_epoch(), self.shard
        n = len(self.mass)
        order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)
        order = torch.from_numpy(shard.rank_share(order))
        for part in shard.worker_share(batch_slices(len(order), self.batch_size, False)):
            index = order[part]
            yield AnomalyBatch(tuple(a[index] for a in self.arrays), self.mass[index])


def background_mask(jets: Jets, background: list[str] | None, where: str, hint: str,
                    require: bool = True) -> np.ndarray | None:
    """Per jet: True for the ``background`` classes; None when every jet counts (no classes given, or unlabelled
    jets). ``require``: a background class the jets do not have is an InputError naming it, ``where`` and
    ``hint``."""
    if background is None or jets.labels is None:
        return None
    names = list(jets.label_names or [])
    unknown = [name for name in background if name not in names]
    if unknown and require:
        raise InputError(f"{where}: no class {', '.join(unknown)} among the jets' classes ({', '.join(names)}); "
                         f"{hint}")
    return np.isin(jets.labels, [names.index(name) for name in background if name in names])


def select_background(jets: Jets, background: list[str] | None, where: str) -> Jets:
    """The jets of the ``background`` classes (all jets if None or the jets have no labels), without labels."""
    keep = background_mask(jets, background, where, "set anomaly.background to some of them")
    if keep is not None:
        jets = jets[keep]
    if not len(jets):
        raise InputError(f"{where}: no background jets ({', '.join(background or [])})")
    return Jets(jets.arrays[[f for f in jets.fields if f != "jet_label"]])


class AnomalyDataModule(JetDataModule):
    """The background jets of ``config`` as :class:`TensorBatches` of ``inputs`` (see the module docstring)."""

    def __init__(self, config: DataConfig, inputs: AnomalyInputs, background: list[str] | None, seed: int = 0,
                 num_workers: int = 0, pin_memory: bool = False):
        refuse_streaming(config, "jetgnn anomaly train")
        super().__init__(config, seed=seed, num_workers=num_workers, labelled=True, pin_memory=pin_memory)
        self.inputs, self.background = inputs, background

    def _read(self, files: list[str], what: str) -> Jets:
        if not files:
            raise InputError(f"no {what} files: {self.hint.format(what=what)}")
        jets = read_once(files, self.config.mapping, self.config.max_jets)
        return select_background(jets, self.background, f"{what} files {', '.join(files)}")

    def _check_classes(self, train: Jets, val: Jets, test: Jets) -> None:
        pass  # background jets carry no labels

    def graph_options(self) -> dict:
        return self.config.graph.model_dump()

    def make_datasets(self, graph: dict):
        size = self.config.batch_size
        train = TensorBatches(model_inputs(self.split.train, self.inputs), ak.to_numpy(self.split.train['jet_mass']),
                              size, shuffle=True, seed=self.seed)
        val = TensorBatches(model_inputs(self.split.val, self.inputs), ak.to_numpy(self.split.val['jet_mass']), size,
                            shuffle=False)
        return train, val
