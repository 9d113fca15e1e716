"""Vectorised index helpers for flat (jagged-as-offsets) arrays."""

from __future__ import annotations

import numpy as np


def safe_ratio(num, den) -> np.ndarray:
    """num / den as float64 arrays, 0 where den is 0 (e.g. tau ratios of jets with too few constituents)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


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
