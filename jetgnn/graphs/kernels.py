"""Compiled (numba) kernels for graph edges and pairwise features, parallel over jets.

One pass counts each jet's edges, a second writes edge indices and features straight into their final,
jet-ordered place: no padding, no intermediate pair tensors, one write per output value. Inputs are the
flat per-node arrays of a chunk and ``ptr`` (nodes of jet j at ``ptr[j]:ptr[j+1]``).
Edge convention: (source, target) with target the particle whose neighbourhood is built.

Each kernel exists twice: parallel over jets (numba's threads) in the process that imported this module,
and serial in forked children such as DataLoader workers, where numba's thread pool must not be used
after a fork (and where the parallelism comes from the workers themselves). :func:`kernel` picks one.
"""

from __future__ import annotations

import math
import os
import types

import numba
import numpy as np

_EPS = 1e-8
_TWO_PI = 2.0 * math.pi
_LOG_EPS = math.log(_EPS)


@numba.njit(inline="always")
def _delta2(deta, dphi, a, b):
    """ΔR² of nodes a and b: the compiled, branch-only form of ``jetgnn.kinematics.wrap_phi`` / ``delta_r`` for
    differences within (-2π, 2π) (tests/test_conventions.py checks that they agree)."""
    de = deta[a] - deta[b]
    dp = dphi[a] - dphi[b]
    if dp > math.pi:
        dp -= _TWO_PI
    elif dp < -math.pi:
        dp += _TWO_PI
    return de * de + dp * dp


def count_delta_r(deta, dphi, ptr, radius2, self_loops):
    """Edges per jet of the ΔR < radius graph."""
    n_jets = len(ptr) - 1
    counts = np.zeros(n_jets, dtype=np.int64)
    for j in numba.prange(n_jets):
        c = 0
        for t in range(ptr[j], ptr[j + 1]):
            for s in range(ptr[j], ptr[j + 1]):
                if s == t:
                    c += self_loops
                elif _delta2(deta, dphi, s, t) < radius2:
                    c += 1
        counts[j] = c
    return counts


def fill_delta_r(deta, dphi, ptr, edge_ptr, radius2, self_loops, source, target):
    """Write the ΔR edges of every jet at edge_ptr[j]: sorted by target, then source."""
    for j in numba.prange(len(ptr) - 1):
        k = edge_ptr[j]
        for t in range(ptr[j], ptr[j + 1]):
            for s in range(ptr[j], ptr[j + 1]):
                if (s == t and self_loops) or (s != t and _delta2(deta, dphi, s, t) < radius2):
                    source[k] = s
                    target[k] = t
                    k += 1


def fill_knn(deta, dphi, ptr, edge_ptr, k, self_loops, source, target):
    """Write each node's min(k, n-1) nearest other nodes of its jet (nearest first; ties by index), with the
    self loop first if asked. Top-k by insertion into a small sorted buffer: O(n k) per node, no sorting."""
    for j in numba.prange(len(ptr) - 1):
        start, stop = ptr[j], ptr[j + 1]
        m = min(k, stop - start - 1)
        best_d = np.empty(max(m, 1), dtype=np.float64)
        best_i = np.empty(max(m, 1), dtype=np.int64)
        out = edge_ptr[j]
        for t in range(start, stop):
            if self_loops:
                source[out] = t
                target[out] = t
                out += 1
            filled = 0
            for s in range(start, stop):
                if s == t:
                    continue
                d = _delta2(deta, dphi, s, t)
                if filled == m and d >= best_d[m - 1]:
                    continue
                pos = filled if filled < m else m - 1
                while pos > 0 and best_d[pos - 1] > d:
                    if pos < m:
                        best_d[pos] = best_d[pos - 1]
                        best_i[pos] = best_i[pos - 1]
                    pos -= 1
                best_d[pos] = d
                best_i[pos] = s
                if filled < m:
                    filled += 1
            for q in range(m):
                source[out] = best_i[q]
                target[out] = t
                out += 1


def pair_features(source, target, deta, dphi, pt, log_pt, px, py, pz, energy, out):
    """ParT-style features of every edge: delta_r, ln delta_r, ln kT, ln z, ln m^2 (GeV units).

    ``log_pt`` = ln(max(pT, 1e-8)) per node, so ln kT and ln z need no logarithm of their own.
    """
    for e in numba.prange(len(source)):
        a = source[e]
        b = target[e]
        d2 = _delta2(deta, dphi, a, b)
        log_delta = 0.5 * math.log(max(d2, _EPS * _EPS))
        log_pt_min = min(log_pt[a], log_pt[b])
        sx = px[a] + px[b]
        sy = py[a] + py[b]
        sz = pz[a] + pz[b]
        se = energy[a] + energy[b]
        m2 = se * se - sx * sx - sy * sy - sz * sz
        out[e, 0] = math.sqrt(d2)
        out[e, 1] = log_delta
        out[e, 2] = max(log_pt_min + log_delta, _LOG_EPS)
        out[e, 3] = max(log_pt_min - math.log(max(pt[a] + pt[b], _EPS)), _LOG_EPS)
        out[e, 4] = math.log(max(m2, _EPS))


_IMPORT_PID = os.getpid()
_KERNELS: dict[tuple[str, bool], object] = {}


def kernel(name: str):
    """The compiled kernel ``name``: parallel in the importing process, serial in forked children."""
    parallel = os.getpid() == _IMPORT_PID
    key = (name, parallel)
    if key not in _KERNELS:
        func = globals()[name]
        if not parallel:  # a distinct function object, so numba's on-disk cache keeps the two apart
            func = types.FunctionType(func.__code__, func.__globals__, name, func.__defaults__, func.__closure__)
            func.__qualname__ = f"{name}_serial"
        _KERNELS[key] = numba.njit(parallel=parallel, cache=True)(func)
    return _KERNELS[key]
