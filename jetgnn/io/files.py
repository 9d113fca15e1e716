"""Finding and opening ROOT files, with one clear error per problem."""

from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor

import uproot

from jetgnn.errors import InputError, JetGNNError
from jetgnn.io.schema import TREE_NAME


def expand_paths(patterns) -> list[str]:
    """Expand file names and globs (in order); raise InputError naming a pattern that matches nothing."""
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) and hasattr(patterns, "__iter__") and \
            not isinstance(patterns, (bytes, dict)):
        patterns = list(patterns)  # e.g. a numpy array of names
    if not isinstance(patterns, (list, tuple)):
        raise InputError(f"expected a file name, a glob or a list of them, got {type(patterns).__name__} "
                         f"{patterns!r:.60}")
    paths: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, (str, os.PathLike)):
            raise InputError(f"expected a file name or glob, got {type(pattern).__name__} {pattern!r:.60}")
        pattern = os.fspath(pattern)
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"no file matches {pattern!r}")
        for path in matches:
            if not os.path.isfile(path):
                raise InputError(f"file not found: {path}")
        paths.extend(matches)
    if not paths:
        raise InputError("no input files given")
    return paths


def _reason(err: BaseException) -> str:
    detail = " ".join(str(err).split())[:160]  # uproot's messages span several lines
    return f"{err.__class__.__name__}: {detail}"


def open_tree(path: str, tree_name: str | None = None):
    """Open the TTree ``tree_name`` of a ROOT file (default ``tree``, else the file's only TTree)."""
    try:
        # no array cache: every branch is read once, and the cache of a file object kept alive by reference cycles
        # until the next full garbage collection held ~500 MB after 20 streamed units (streaming training grew
        # 1.7x over 10x the data; with array_cache=None it stays flat: benchmarks/streaming_memory.py)
        fin = uproot.open(path, array_cache=None)
    except Exception as err:  # uproot raises several types for non-ROOT input
        raise InputError(f"{path} is not a readable ROOT file ({_reason(err)})") from None
    try:
        classes = fin.classnames()
    except Exception as err:  # a damaged directory
        raise InputError(f"{path}: the file's directory is damaged ({_reason(err)}); the file is truncated or "
                         f"corrupted") from None
    trees = [k.split(";")[0] for k, cls in classes.items() if cls in ("TTree", "ROOT::RNTuple")]
    name = tree_name
    if name is None:
        name = TREE_NAME if TREE_NAME in trees or len(trees) != 1 else trees[0]
    if name not in trees:
        raise InputError(f"{path} has no TTree named {name!r} (trees: {', '.join(trees) or 'none'})")
    try:
        return fin[name]
    except Exception as err:
        raise InputError(f"{path}: the header of TTree {name!r} is damaged ({_reason(err)}); the file is "
                         f"truncated or corrupted") from None


#: environment variable: threads that decompress ROOT baskets (default: the cores this process may use, at most 4;
#: 1 reads serially)
READ_THREADS_ENV = "JETGNN_READ_THREADS"
_EXECUTOR: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool)


def read_threads() -> int:
    """Decompression threads per process (``JETGNN_READ_THREADS``, else min(usable cores, 4))."""
    value = os.environ.get(READ_THREADS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise InputError(f"{READ_THREADS_ENV} must be a positive integer, got {value!r}")
        return int(value)
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 4))


def decompression_executor():
    """The thread pool uproot decompresses baskets with (zlib, LZ4 and ZSTD release the GIL), or None (serial).

    Measured reason (benchmarks/format_reading.py, 2 cores): reading 20k jetclass jets (ZLIB baskets) takes 0.27 s
    with two threads vs 0.48 s serially. One pool per process: a forked DataLoader worker makes its own (the
    parent's threads do not exist in the child).
    """
    global _EXECUTOR
    threads = read_threads()
    if threads == 1:
        return None
    if _EXECUTOR is None or _EXECUTOR[0] != os.getpid() or _EXECUTOR[1]._max_workers != threads:
        _EXECUTOR = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="jetgnn-read"))
    return _EXECUTOR[1]


#: mean compressed basket size (bytes) from which threads decompress faster than one
_THREADED_BASKET_BYTES = 32 * 1024


def _large_baskets(tree, names) -> bool:
    """Whether the baskets of ``names`` are large enough for threads: handing 801 one-basket branches of 4 kB each
    (flat PX_{i} columns of 20k jets) to threads took 0.30 s vs 0.20 s serially; jetclass baskets (~110 kB) read
    1.6x faster with two threads."""
    try:
        branches = [tree[name] for name in names]
        n_baskets = sum(branch.num_baskets for branch in branches)
        n_bytes = sum(branch.compressed_bytes for branch in branches)
    except Exception:  # RNTuple fields, or a name uproot will report when reading
        return True
    return n_baskets > 0 and n_bytes >= _THREADED_BASKET_BYTES * n_baskets


def read_arrays(tree, path: str, expressions, *, entry_start=None, entry_stop=None, **options):
    """``tree.arrays(expressions, ...)``, baskets decompressed by :func:`decompression_executor`; a truncated or
    corrupted file is one InputError naming the file, the branch and the entry range of the damaged basket (uproot
    raises OSError, zlib.error, ... from deep inside)."""
    executor = decompression_executor()
    if executor is not None and _large_baskets(tree, expressions):
        options.setdefault("decompression_executor", executor)
    try:
        return tree.arrays(expressions, entry_start=entry_start, entry_stop=entry_stop, **options)
    except JetGNNError:
        raise
    except Exception as err:
        raise damaged_file_error(tree, path, expressions, entry_start, entry_stop, err) from None


def damaged_file_error(tree, path: str, expressions, entry_start, entry_stop, err: BaseException) -> InputError:
    """The InputError for a failed read: read basket by basket to name the first damaged branch and entries."""
    start, stop = max(entry_start or 0, 0), min(entry_stop if entry_stop is not None else tree.num_entries,
                                                 tree.num_entries)
    names = [name for name in dict.fromkeys(expressions) if name in tree.keys()] or list(tree.keys())
    for name in names:
        branch = tree[name]
        for basket in range(branch.num_baskets):
            first, last = (int(v) for v in branch.basket_entry_start_stop(basket))
            if last <= start or first >= stop:
                continue
            try:
                branch.array(entry_start=first, entry_stop=last, library="np")
            except Exception as basket_err:
                return InputError(f"{path}: branch {name!r} is damaged in entries {first}-{last} (basket "
                                  f"{basket}: {_reason(basket_err)}); the file is truncated or corrupted")
    return InputError(f"{path}: cannot read entries {start}-{stop} ({_reason(err)}); the file is truncated or "
                      f"corrupted")


#: TObjString key of ``jetgnn generate`` output files: JSON with process, seed, detector setting and card
GENERATION_METADATA_KEY = "jetgnn_generation"


def generation_metadata(path) -> dict | None:
    """What ``jetgnn generate`` recorded in a file (process, seed, detector and its card), or None for files
    written otherwise. Raises InputError for unreadable files or damaged metadata."""
    import json

    open_tree(str(path))  # one clear error for files that are not jet files
    with uproot.open(path) as fin:
        if GENERATION_METADATA_KEY not in fin:
            return None
        text = str(fin[GENERATION_METADATA_KEY])
    try:
        return json.loads(text)
    except ValueError:
        raise InputError(f"{path}: the {GENERATION_METADATA_KEY} metadata is not JSON ({text[:60]!r})") from None
