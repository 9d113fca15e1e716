"""Atomic writing of jet collections as classic TTrees in the jetclass schema."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping

import awkward as ak
import numpy as np
import uproot

from jetgnn.errors import InputError
from jetgnn.io.schema import TREE_NAME
from jetgnn.utils.files import atomic_path, output_file

#: codec name -> (uproot class, default level); uproot reads all four with its own dependencies (cramjam), ROOT
#: reads ZSTD since 6.20
CODECS = {"zlib": (uproot.ZLIB, 6), "lz4": (uproot.LZ4, 4), "zstd": (uproot.ZSTD, 5), "lzma": (uproot.LZMA, 6)}
#: what jetgnn writes by default. Measured (benchmarks/basket_codecs.py, 20k top jets, 2 cores, baskets of 10k
#: jets): ZSTD(5) reads at 92.5k jets/s for a 44.2 MB file, ZLIB(6) 64.5k jets/s / 43.5 MB (and 51.8k in the
#: 1,000-jet baskets of before), LZ4 101k jets/s but 55 MB, LZMA 14k jets/s / 39.6 MB; ZSTD also writes 4x faster
#: than ZLIB(6). ``--compression zlib`` for readers older than ROOT 6.20.
DEFAULT_CODEC = "zstd:5"
#: jets per basket in generated files (one generation chunk, <= 1000 jets, before)
BASKET_JETS = 10_000


def rebasket(chunks: Iterable[Mapping[str, object]], n_jets: int) -> Iterator[dict]:
    """Regroup chunks of branch arrays (numpy or awkward) into chunks of ``n_jets`` jets (the last one
    shorter): one ``extend`` per chunk writes one basket per branch."""
    pending: list[Mapping[str, object]] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(next(iter(chunk.values())))
        if held >= n_jets:
            merged = _concatenate(pending)
            for start in range(0, held - n_jets + 1, n_jets):
                yield {k: v[start:start + n_jets] for k, v in merged.items()}
            rest = held - held % n_jets
            pending = [{k: v[rest:] for k, v in merged.items()}] if held % n_jets else []
            held %= n_jets
    if held:
        yield _concatenate(pending)


def _concatenate(chunks: list[Mapping[str, object]]) -> dict:
    if len(chunks) == 1:
        return dict(chunks[0])
    return {k: (np.concatenate([c[k] for c in chunks]) if isinstance(chunks[0][k], np.ndarray)
                else ak.concatenate([c[k] for c in chunks])) for k in chunks[0]}


def compression_of(text: str):
    """``"zstd"``, ``"lz4:4"``, ``"zlib:6"``, ``"lzma"`` -> the uproot compression object (level after ':');
    one InputError for an unknown codec or level."""
    name, _, level = str(text).strip().lower().partition(":")
    if name not in CODECS:
        raise InputError(f"unknown compression {text!r} (known: {', '.join(CODECS)}, optionally with ':level')")
    cls, default = CODECS[name]
    try:
        value = int(level) if level else default
    except ValueError:
        raise InputError(f"compression {text!r}: the level after ':' must be an integer") from None
    if not 1 <= value <= 9:
        raise InputError(f"compression {text!r}: level {value} is outside 1-9")
    return cls(value)


def _split_branches(arrays: Mapping[str, object]) -> tuple[dict, dict]:
    """Split into flat branches and jagged ``part_*`` branches (which share one counter ``npart``)."""
    flat, jagged = {}, {}
    for name, values in arrays.items():
        if name.startswith("part_"):
            jagged[name[len("part_"):]] = values
        else:
            flat[name] = np.asarray(values)
    return flat, jagged


def _tree_payload(arrays: Mapping[str, object]) -> dict:
    flat, jagged = _split_branches(arrays)
    payload = dict(flat)
    if jagged:
        payload["part"] = ak.zip(jagged)  # branches part_<field>, one shared counter "npart"
    return payload


#: the uproot compression object of DEFAULT_CODEC (every file jetgnn writes)
DEFAULT_COMPRESSION = compression_of(DEFAULT_CODEC)


def write_jets(
    path: str | os.PathLike,
    chunks: Iterable[Mapping[str, object]],
    compression=DEFAULT_COMPRESSION,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Write chunks of jets to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : output ``.root`` file.
    chunks : iterable of mappings branch name -> array. ``part_*`` values are jagged
        (awkward, one list per jet); all other values are flat numpy arrays of length n_jets.
    metadata : optional name -> text, stored as TObjString keys beside the tree (e.g. ``jetgnn_generation``).
    Returns the number of jets written. A classic TTree (``mktree`` + ``extend``) is written, as SPEC §2 asks.
    """
    return write_tree(path, (_tree_payload(chunk) for chunk in chunks), TREE_NAME, compression, metadata)


def write_tree(path, payloads: Iterable[Mapping[str, object]], tree_name: str = TREE_NAME,
               compression=DEFAULT_COMPRESSION, metadata: Mapping[str, str] | None = None) -> int:
    """Write chunks of a classic TTree atomically: flat numpy branches, and awkward records of jagged fields
    (``{"FatJet": ak.zip({"score_b": ...})}`` gives ``FatJet_score_b`` with the counter ``nFatJet``, as NanoAOD
    names them). Returns the number of entries written."""
    path = output_file(path)
    n_written = 0
    with atomic_path(path) as tmp_name, uproot.recreate(tmp_name, compression=compression) as fout:
        tree = None
        for payload in payloads:
            if tree is None:
                types = {name: _branch_type(values) for name, values in payload.items()}
                tree = fout.mktree(tree_name, types)
            tree.extend(payload)
            n_written += len(next(iter(payload.values())))
        if tree is None:
            raise InputError(f"nothing to write to {path}: no chunks were given")
        for name, text in (metadata or {}).items():
            fout[name] = str(text)  # a TObjString
    return n_written


def _branch_type(values):
    """The type uproot's ``mktree`` needs: a numpy dtype for flat arrays, an awkward type for records."""
    if isinstance(values, ak.Array):
        return values.type
    return np.asarray(values).dtype
