"""Atomic writing of jet collections as classic TTrees in the jetclass schema."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import awkward as ak
import numpy as np
import uproot

from jetgnn.errors import InputError
from jetgnn.io.schema import TREE_NAME
from jetgnn.utils.files import atomic_path, output_file

#: Compression of written files. ZLIB needs no extra package in any ROOT or uproot install, and reads ~5x
#: faster than LZMA (0.05 vs 0.26 s for 2000 top jets here) for 10% larger files (4.45 vs 4.0 MB).
DEFAULT_COMPRESSION = uproot.ZLIB(6)


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
