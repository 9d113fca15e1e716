"""The ``data`` section of training and pre-training configs: files, split, batches and graph options."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, model_validator

from jetgnn.graphs.options import EDGE_METHODS, GraphOptions
from jetgnn.utils.config import ConfigModel, Float, NonNegativeInt, PositiveInt


def _file_list(value):
    """A file list from a single path or a list of paths (``pathlib.Path`` as strings)."""
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    if isinstance(value, (list, tuple)):
        return [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
    return value


def _open_unit(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f"must be in (0, 1), got {value!r}")
    return value


def _half_open_unit(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be in (0, 1], got {value!r}")
    return value


Files = Annotated[list[str], BeforeValidator(_file_list)]


class TrainingGraphOptions(GraphOptions):
    """build_graphs options of a config's ``data.graph``: kNN graphs unless a config says otherwise."""

    edges: Literal[EDGE_METHODS] = "knn"


class StreamingSection(ConfigModel):
    """``data.streaming``: train from the files without holding the training jets in memory.

    step_size : entries read (and graphs built) at a time; shuffle_buffer : jets shuffled together before
    batching (memory is bounded by about this many graphs); cache_dir : keep each unit's built graphs on disk so
    that later epochs skip reading and graph building; sample_jets : training jets read up front (from the
    start of each file, spread over the files) for what needs a sample — the class list, the ΔR radius when
    ``graph.radius`` is open, the model's input names and the recorded training ranges.
    """

    step_size: PositiveInt = 10_000
    shuffle_buffer: PositiveInt = 50_000
    cache_dir: str | None = None
    sample_jets: PositiveInt = 10_000


class DataConfig(ConfigModel):
    """Where the jets come from and how they are split and batched.

    train / val / test : ROOT files or globs (no ``val``: a seeded ``val_fraction`` of the training jets; no
    ``test``: final metrics on the validation jets); mapping : branch-mapping YAML (path, string or dict) for
    non-jetclass files; split_seed : seed of the train/validation split (None: ``training.seed``);
    max_jets : read at most this many jets per file set; train_fraction : train on a seeded fraction of the
    training jets (label-efficiency scans); balance : downsample to equal class counts; sample_labels : weak
    supervision (CWoLa): one class name per ``train`` (and ``val``) entry, each jet labelled by the entry it was
    read from instead of its own label (name each mixed sample after the class it is enriched in, so that
    ``evaluate`` on truth-labelled files compares the same classes); ``test`` files keep their own labels.
    streaming : stream the training files (:class:`StreamingSection`; needs ``val`` files) instead of reading
    them into memory.
    """

    train: Files = []
    val: Files = []
    test: Files = []
    mapping: str | dict | None = None
    val_fraction: Annotated[Float, AfterValidator(_open_unit)] = 0.2
    split_seed: NonNegativeInt | None = None
    max_jets: PositiveInt | None = None
    train_fraction: Annotated[Float, AfterValidator(_half_open_unit)] = 1.0
    batch_size: PositiveInt = 256
    balance: bool = False
    sample_labels: list[str] | None = None
    graph: TrainingGraphOptions = TrainingGraphOptions()
    streaming: StreamingSection | None = None

    @model_validator(mode="after")
    def _streaming_needs_validation_files(self):
        if self.streaming is not None:
            unsupported = [key for key, off in (("data.sample_labels", self.sample_labels is None),
                                                ("data.train_fraction", self.train_fraction == 1.0),
                                                ("data.max_jets", self.max_jets is None)) if not off]
            if unsupported:
                raise ValueError(f"streaming reads every training jet once per epoch: unset "
                                 f"{', '.join(unsupported)}")
        return self

    @model_validator(mode="after")
    def _one_label_per_sample(self):
        if self.sample_labels is not None:
            if len(set(self.sample_labels)) != len(self.sample_labels) or len(self.sample_labels) < 2:
                raise ValueError(f"'data.sample_labels' must name two or more different classes, got "
                                 f"{self.sample_labels}")
            for key in ("train", "val"):
                files = getattr(self, key)
                if files and len(files) != len(self.sample_labels):
                    raise ValueError(f"'data.sample_labels' names {len(self.sample_labels)} samples but 'data.{key}' "
                                     f"has {len(files)} entries (one file or glob per sample)")
        return self
