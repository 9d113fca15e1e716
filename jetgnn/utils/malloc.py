"""Memory settings for training and inference: glibc keeps large freed buffers, oneDNN caches no kernels.

glibc serves blocks above ``M_MMAP_THRESHOLD`` (128 kB at start, adapted upwards to at most 32 MB) with
``mmap`` and gives them back with ``munmap`` when freed, and returns free memory at the top of the heap to the
OS once it exceeds ``M_TRIM_THRESHOLD``. A training step allocates and frees tensors of many MB every batch, so
stock glibc maps, zero-fills (page faults) and unmaps the same memory over and over. Raising both thresholds lets
freed tensors be reused in place. Measured on 2 cores (benchmarks/malloc_defaults.py,
benchmarks/results/malloc_defaults.json): ParticleNet trains 1.53x faster, the transformer 1.20x, PFN 1.06x; the
cost is that the process keeps its peak heap instead of shrinking between steps (+45% peak RSS for ParticleNet).

:func:`tune_malloc` applies it once per process through ``mallopt`` (what the environment variables
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` do at start-up); forked DataLoader workers inherit it.
``jetgnn`` calls it at start-up of every CLI command, in ``jetgnn.train`` and in ``build_graphs`` (so scoring
too).

The same call switches off oneDNN's primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY=0``). PyTorch runs GELU
on large CPU tensors through oneDNN, which JIT-compiles one kernel per tensor shape and keeps the last 1,024 in
that cache. Jets have varying numbers of particles, so nearly every batch compiles new kernels, and their small
long-lived allocations land between the step's freed activations. The freed blocks then cannot be merged, and
the heap grew with every step: PFN streaming training used 1.4 GB peak RSS on 20,000 jets and 2.5 GB on 200,000,
and eight epochs on 20,000 jets held in memory reached 2.6 GB with 0.5 GB of it in use. With the cache off, both
stay flat (1.1 GB). Compiling a GELU kernel costs about as much as the cache lookup (benchmarks/streaming_memory.py,
``--onednn-cache``). The cache capacity is read the first time oneDNN runs, so a process that ran a GELU before
jetgnn's first call keeps its cache.

:func:`release_free_memory` (glibc's ``malloc_trim``) returns the free pages inside the heap to the OS. The
training callback ``ReleaseFreeMemory`` calls it, but it is not added to trainings by default.

Opt out of both with ``JETGNN_MALLOC=default`` (glibc's and oneDNN's own behaviour). If you set
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` yourself, jetgnn leaves the allocator alone, and if you set
``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` (or ``DNNL_PRIMITIVE_CACHE_CAPACITY``), it leaves the cache alone. Where
glibc is absent (macOS, musl), only the oneDNN setting is applied.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

#: glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: bytes. Tensors below MMAP_THRESHOLD come from the heap and are reused in place; larger ones are still mapped
#: and unmapped, because with no limit (2 GB) scoring ParticleNet in batches of 1024 jets (1 GB message tensors)
#: fragmented the heap until the process was killed at 22 GB (6 GB with stock glibc)
MMAP_THRESHOLD = 256 * 2**20
#: free memory kept at the top of the heap before it is returned to the OS
TRIM_THRESHOLD = 2**30
OPT_OUT = "JETGNN_MALLOC"
#: oneDNN's primitive cache capacity (environment variables; the DNNL_ spelling is the older one)
ONEDNN_CACHE_VARS = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY")

_state: dict[str, str] = {}


def tune_malloc() -> str:
    """Raise glibc's mmap and trim thresholds and switch off oneDNN's primitive cache, once per process.

    Returns what was done to the allocator: "tuned", "opted out" (``JETGNN_MALLOC=default``), "user settings"
    (``MALLOC_*_THRESHOLD_`` in the environment) or "unavailable" (not glibc). :func:`onednn_cache_setting` says
    what was done to the cache."""
    if "result" in _state:
        return _state["result"]
    opted_out = os.environ.get(OPT_OUT, "").strip().lower() in ("default", "0", "off", "no")
    _state["onednn"] = _limit_onednn_cache() if not opted_out else "opted out"
    if opted_out:
        result = "opted out"
    elif any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        result = "user settings"
    else:
        result = "tuned" if _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) \
            else "unavailable"
    _state["result"] = result
    return result


def malloc_setting() -> str:
    """What :func:`tune_malloc` did in this process ("not applied" before it ran), for run metadata."""
    return _state.get("result", "not applied")


def onednn_cache_setting() -> str:
    """What :func:`tune_malloc` did to oneDNN's primitive cache: "off", "user setting", "opted out" or "not
    applied" (before it ran), for run metadata."""
    return _state.get("onednn", "not applied")


def _limit_onednn_cache() -> str:
    """Switch off oneDNN's primitive cache for this process and its children unless the user sized it."""
    if any(k in os.environ for k in ONEDNN_CACHE_VARS):
        return "user setting"
    os.environ[ONEDNN_CACHE_VARS[0]] = "0"
    return "off"


def _mallopt(param: int, value: int) -> bool:
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(param, value) == 1


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


@functools.cache
def _libc():
    """The C library (None where it cannot be loaded)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def heap_free_bytes() -> int | None:
    """Bytes of free memory inside glibc's heap arenas (``mallinfo2().fordblks``); None where unavailable."""
    info = getattr(_libc(), "mallinfo2", None)
    if info is None:
        return None
    info.restype = _MallInfo2
    return int(info().fordblks)


def release_free_memory(keep: int = 0) -> bool:
    """Return the free pages of every heap arena to the OS (glibc ``malloc_trim(0)``) when more than ``keep``
    bytes are free (:func:`heap_free_bytes`; always when that is unknown); True if it trimmed. Allocated memory is
    untouched; later allocations fault the pages in again (the cost: trim only what is worth it)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    if keep > 0:
        free = heap_free_bytes()
        if free is not None and free <= keep:
            return False
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    trim(0)
    return True
