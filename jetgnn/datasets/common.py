"""Pieces shared by the in-memory and streaming datasets."""

from __future__ import annotations

import numpy as np

from jetgnn.errors import InputError

#: build_graphs keyword arguments a dataset passes through
GRAPH_KEYWORDS = ("edges", "radius", "k", "max_particles", "self_loops", "globals", "scale", "with_edge_features")


def check_graph_kwargs(graph_kwargs: dict) -> dict:
    unknown = sorted(set(graph_kwargs) - set(GRAPH_KEYWORDS))
    if unknown:
        raise InputError(f"unknown graph option {unknown[0]!r} (allowed: {', '.join(GRAPH_KEYWORDS)})")
    return dict(graph_kwargs)


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


def per_rank(order: np.ndarray) -> np.ndarray:
    """This rank's share of ``order``: every rank gets an equal share (the remainder is dropped), so that all
    ranks step together under DDP."""
    rank, world = ddp_rank()
    if world == 1:
        return order
    return order[: len(order) - len(order) % world][rank::world]
