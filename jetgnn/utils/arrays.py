"""Vectorised index helpers for flat (jagged-as-offsets) arrays."""

from __future__ import annotations

import numpy as np


def segment_ranges(starts, lengths) -> np.ndarray:
    """Concatenation of the ranges [starts[i], starts[i] + lengths[i]) as one flat int64 index array.

    The building block for gathering whole jets (their nodes or edges) out of flat arrays without a loop.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)
