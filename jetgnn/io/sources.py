"""Columnar sources: ROOT (TTree, RNTuple), HDF5, parquet and npz files behind one small interface.

A :class:`Source` has ``path``, ``num_entries``, ``keys()`` (column names: branches, datasets, fields) and
``arrays(names, entry_start, entry_stop)`` (name -> numpy or awkward array of those entries). Mappings and
expressions work on any of them alike. The format comes from the file's extension (``.root``, ``.h5``/``.hdf5``,
``.parquet``/``.pq``, ``.npz``) or the mapping's ``format``.

HDF5 layouts: plain datasets (h5py; e.g. JetNet, ``/X``, ``/y``; nested groups as ``group/name``) and pandas
``fixed`` frames (``pd.to_hdf``: a group with ``block<k>_items`` / ``block<k>_values``, as the Top Quark
Tagging reference files), whose columns become the keys.
"""

from __future__ import annotations

import os
from typing import Protocol

import awkward as ak
import numpy as np

from jetgnn.errors import InputError, MissingExtraError
from jetgnn.io.files import open_tree, read_arrays

FORMATS = ("root", "hdf5", "parquet", "npz")
_EXTENSIONS = {".root": "root", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5", ".parquet": "parquet",
               ".pq": "parquet", ".npz": "npz"}


class Source(Protocol):
    path: str
    num_entries: int

    def keys(self) -> list[str]: ...

    def arrays(self, names, entry_start: int | None = None, entry_stop: int | None = None) -> dict: ...


def detect_format(path: str, declared: str | None = None) -> str:
    if declared is not None:
        return declared
    ext = os.path.splitext(path)[1].lower()
    return _EXTENSIONS.get(ext, "root")  # ROOT files need no extension (uproot checks the magic bytes)


def open_source(path: str, fmt: str | None = None, tree: str | None = None) -> Source:
    """The Source of one file; errors name the file."""
    kind = detect_format(path, fmt)
    if kind == "root":
        return RootSource(path, tree)
    if kind == "hdf5":
        return H5Source(path, tree)
    if kind == "parquet":
        return ParquetSource(path)
    if kind == "npz":
        return NpzSource(path)
    raise InputError(f"{path}: unknown format {kind!r} (formats: {', '.join(FORMATS)})")


class RootSource:
    """A TTree or RNTuple read with uproot (damaged baskets are one InputError naming branch and entries)."""

    def __init__(self, path: str, tree: str | None = None):
        self.path = path
        self.tree = open_tree(path, tree)
        self.num_entries = int(self.tree.num_entries)
        self._flat: dict[str, bool] = {}

    def keys(self) -> list[str]:
        """Branch names, with split sub-branches also by their own names (``Jet.momentum.x`` as well as
        ``Jet/Jet.momentum.x``), as uproot reads them."""
        names = list(self.tree.keys())
        try:
            names += [n for n in self.tree.keys(full_paths=False) if n not in names]
        except TypeError:  # RNTuple
            pass
        return names

    def arrays(self, names, entry_start=None, entry_stop=None) -> dict:
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        if type(self.tree).__name__ == "RNTuple":  # RNTuple: a record array, split into its fields
            record = read_arrays(self.tree, self.path, names, entry_start=entry_start, entry_stop=entry_stop)
            return {name: record[name] for name in names}
        # one number per entry: numpy arrays (uproot's awkward wrapping costs ~0.1 ms per branch, a third of the
        # reading time of 800 flat PX_{i} columns); lists and objects: awkward
        flat = [name for name in names if self._is_flat(name)]
        rest = [name for name in names if not self._flat[name]]
        out = {}
        if flat:
            out.update(read_arrays(self.tree, self.path, flat, entry_start=entry_start, entry_stop=entry_stop,
                                   library="np", how=dict))
        if rest:
            out.update(read_arrays(self.tree, self.path, rest, entry_start=entry_start, entry_stop=entry_stop,
                                   library="ak", how=dict))
        return {name: out[name] for name in names}

    def _is_flat(self, name: str) -> bool:
        if name not in self._flat:
            try:
                interpretation = self.tree[name].interpretation
            except Exception:  # not a branch (uproot reports the name when reading)
                interpretation = None
            self._flat[name] = type(interpretation).__name__ == "AsDtype" and \
                getattr(interpretation, "inner_shape", ()) == ()
        return self._flat[name]


def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise MissingExtraError("formats", "h5py, pyarrow", "reading HDF5 files") from err
    return h5py


class H5Source:
    """Datasets of an HDF5 file, or the columns of a pandas ``fixed`` frame in it (``key``: its group)."""

    def __init__(self, path: str, key: str | None = None):
        h5py = _h5py()
        self.path = path
        try:
            self.file = h5py.File(path, "r")
        except OSError as err:
            raise InputError(f"{path} is not a readable HDF5 file ({' '.join(str(err).split())[:120]})") from None
        self.columns: dict[str, tuple[str, int | None]] = {}  # key -> (dataset path, column or None)
        self._frames: list[str] = []
        self.file.visititems(self._collect)
        if key is not None:
            self.columns = {k: v for k, v in self.columns.items() if k.startswith(f"{key}/") or
                            v[0].startswith(f"{key}/") or v[0] == key}
        if not self.columns:
            raise InputError(f"{path}: no datasets{f' under {key!r}' if key else ''}")
        lengths = {self.file[dataset].shape[0] for dataset, _ in self.columns.values() if self.file[dataset].shape}
        self.num_entries = min(lengths) if lengths else 0

    def _collect(self, name: str, obj) -> None:
        """visititems callback (a group comes before its members): pandas frames' columns, other datasets."""
        h5py = _h5py()
        if any(name.startswith(f"{frame}/") for frame in self._frames):
            return
        if isinstance(obj, h5py.Group) and any(k.startswith("block") and k.endswith("_items") for k in obj):
            self._frames.append(name)
            for item_key in (k for k in obj if k.startswith("block") and k.endswith("_items")):
                values = f"{name}/{item_key[:-len('_items')]}_values"
                for column, label in enumerate(obj[item_key][()]):
                    label = label.decode() if isinstance(label, bytes) else str(label)
                    self.columns[label] = (values, column)
        elif isinstance(obj, h5py.Dataset):
            self.columns[name] = (name, None)

    def keys(self) -> list[str]:
        return list(self.columns)

    def arrays(self, names, entry_start=None, entry_stop=None) -> dict:
        rows = slice(entry_start or 0, self.num_entries if entry_stop is None else min(entry_stop, self.num_entries))
        blocks: dict[str, np.ndarray] = {}
        out = {}
        for name in dict.fromkeys(names):
            dataset, column = self.columns[name]
            if column is None:
                out[name] = np.asarray(self.file[dataset][rows])
            else:
                if dataset not in blocks:  # one read of the rows of a pandas block, then its columns
                    blocks[dataset] = np.asarray(self.file[dataset][rows])
                out[name] = blocks[dataset][:, column]
        return out


class ParquetSource:
    """The top-level fields of a parquet file (``ak.from_parquet``)."""

    def __init__(self, path: str):
        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise MissingExtraError("formats", "h5py, pyarrow", "reading parquet files") from err
        self.path = path
        try:
            self.meta = pq.ParquetFile(path)
        except Exception as err:
            raise InputError(f"{path} is not a readable parquet file ({' '.join(str(err).split())[:120]})") from None
        self.num_entries = int(self.meta.metadata.num_rows)
        self._keys = list(self.meta.schema_arrow.names)

    def keys(self) -> list[str]:
        return list(self._keys)

    def arrays(self, names, entry_start=None, entry_stop=None) -> dict:
        names = list(dict.fromkeys(names))
        if not names:
            return {}
        table = ak.from_parquet(self.path, columns=names)[entry_start:entry_stop]
        return {name: table[name] for name in names}


class NpzSource:
    """The arrays of a numpy ``.npz`` file (read without pickle), first axis = entries."""

    def __init__(self, path: str):
        self.path = path
        try:
            self.data = np.load(path, allow_pickle=False)
        except Exception as err:
            raise InputError(f"{path} is not a readable npz file ({' '.join(str(err).split())[:120]})") from None
        lengths = {self.data[k].shape[0] for k in self.data.files if self.data[k].ndim}
        self.num_entries = min(lengths) if lengths else 0

    def keys(self) -> list[str]:
        return list(self.data.files)

    def arrays(self, names, entry_start=None, entry_stop=None) -> dict:
        return {name: self.data[name][entry_start:entry_stop] for name in dict.fromkeys(names)}
