"""Sums and means of rows by group (particles per jet, messages per target node) with ``index_add``."""

from __future__ import annotations

import torch


def segment_sum(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    r"""Row sums by group,

    .. math::
        y_g = \sum_{r \,:\, \mathrm{index}_r = g} v_r ,

    the values of PyG's ``scatter(values, index, dim=0, dim_size=size, reduce="sum")`` up to float rounding.

    Measured reason for not calling PyG's ``scatter``: it expands ``index`` to the shape of ``values`` and runs
    ``scatter_add_``, which the ONNX exporter writes as ``ScatterElements`` (element by element, one thread in
    ONNX Runtime): 47% of an exported PFN's and 62% of an exported ParticleNet-Lite's ONNX Runtime time on
    bucketed top jets. ``index_add`` becomes ``ScatterND`` on whole rows: on [42,000, 64] rows into 6,000 groups
    0.8 ms instead of 45 ms in ONNX Runtime, and in PyTorch (2 cores) as fast forward and up to 1.35x faster
    forward + backward ([96,000, 256] rows, ParticleNet's widest block: 36 vs 49 ms).

    Not in an exported graph: ONNX Runtime's ``ScatterND`` with ``reduction="add"`` adds repeated rows from
    several threads without a lock (microsoft/onnxruntime#18048): 40,000 rows into 2,000 groups with 4 threads
    lost a row (an error of 9.3) in 1 run of 5, and an exported MPNN's probabilities moved by up to 6e-5 from run to
    run with 2 threads. When exporting, this is ``scatter_add`` (``ScatterElements``: one thread, exact); the
    exported models sum over the padded layout instead where they can (:func:`~jetgnn.models.layers.dense.jet_sum`,
    :class:`~jetgnn.models.layers.dense.EdgeGrid`), with unique indices only.

    Args:
        values: rows to add up.
        index: group of each row, in ``[0, size)``.
        size: number of groups (empty groups give zeros).
    Shapes:
        values [R, ...], index [R] (int64) -> [size, ...].
    """
    out = values.new_zeros((size, *values.shape[1:]))
    if torch.compiler.is_exporting():
        # ScatterElements (single-threaded, exact) rather than ScatterND: see the docstring
        return out.scatter_add(0, index.reshape(-1, *[1] * (values.dim() - 1)).expand_as(values), values)
    return out.index_add(0, index, values)


def segment_mean(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    r"""Row means by group, :math:`y_g = \frac{1}{\max(n_g, 1)} \sum_{r : \mathrm{index}_r = g} v_r` with
    :math:`n_g` the rows of group g (empty groups give zeros, as PyG's ``reduce="mean"``); see
    :func:`segment_sum`. Counts are taken in float32 and divided in the dtype of ``values``.

    Shapes:
        values [R, ...], index [R] (int64) -> [size, ...].
    """
    ones = torch.ones((), dtype=torch.float32, device=values.device).expand(index.shape[0])
    counts = torch.zeros(size, dtype=torch.float32, device=values.device).index_add(0, index, ones)
    return divide_by_counts(segment_sum(values, index, size), counts)


def divide_by_counts(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Means from group sums: ``sums`` [G, ...] / max(``counts`` [G], 1), in the dtype of ``sums`` (empty groups
    stay zero)."""
    return sums / counts.clamp_min(1).to(sums.dtype).reshape(-1, *[1] * (sums.dim() - 1))
