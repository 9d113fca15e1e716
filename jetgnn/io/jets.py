"""``Jets``: an awkward-backed collection of jets in jetclass field names."""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import numpy as np

from jetgnn.errors import InputError


class Jets:
    """A collection of jets: one awkward record per jet with jetclass field names (SPEC §2).

    ``part_*`` fields are jagged (one value per constituent), ``jet_*`` / ``aux_*`` fields are per jet and
    ``jet_label`` (if the input had labels) is the class index; ``label_names`` gives the class names.
    Slicing (``jets[:1024]``, boolean masks, index arrays) returns Jets; ``jets["jet_mass"]`` returns a field;
    ``len(jets)`` is the number of jets; :func:`concatenate` joins collections.
    ``summary`` counts what the reader saw (jets read, dropped for non-finite values, empty, single-particle).
    """

    __slots__ = ("arrays", "label_names", "summary")

    def __init__(self, arrays: ak.Array, label_names: Sequence[str] | None = None, summary: dict | None = None):
        self.arrays = arrays
        self.label_names = list(label_names) if label_names is not None else None
        self.summary = dict(summary or {})

    def __len__(self) -> int:
        return len(self.arrays)

    @property
    def fields(self) -> list[str]:
        return self.arrays.fields

    def __contains__(self, name: str) -> bool:
        return name in self.arrays.fields

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.arrays[name]
        except Exception:
            raise AttributeError(f"Jets has no field {name!r} (fields: {', '.join(self.arrays.fields)})") from None

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self.arrays.fields:
                raise KeyError(f"Jets has no field {key!r} (fields: {', '.join(self.arrays.fields)})")
            return self.arrays[key]
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"jet index {int(key)} is out of range for {n} jets")
            key = int(key) % n
            key = slice(key, key + 1)
        return Jets(self.arrays[key], self.label_names)

    @property
    def labels(self) -> np.ndarray | None:
        """Class index per jet (int64 numpy), or None without labels."""
        return ak.to_numpy(self.arrays.jet_label).astype(np.int64) if "jet_label" in self.arrays.fields else None

    def columns(self, drop: Sequence[str] = (), labels: bool = True) -> dict:
        """Branch name -> array for :func:`jetgnn.io.writer.write_jets` (every field but those in ``drop``), with
        the labels (``labels``) as one-hot ``label_<class>`` branches, so that the file reads back with its class
        names."""
        out = {name: self.arrays[name] for name in self.fields if name != "jet_label" and name not in drop}
        if labels and self.labels is not None:
            names = self.label_names or [f"class_{k}" for k in range(int(self.labels.max(initial=0)) + 1)]
            out.update({f"label_{name}": (self.labels == k).astype(np.int32) for k, name in enumerate(names)})
        return out

    @property
    def n_particles(self) -> np.ndarray:
        return ak.to_numpy(ak.num(self.arrays.part_px, axis=1))

    def __repr__(self) -> str:
        labels = f", classes {self.label_names}" if self.label_names else ""
        return f"<Jets: {len(self)} jets{labels}; fields {', '.join(self.arrays.fields)}>"


def check_classes(found: Sequence[str] | None, expected: Sequence[str] | None, where: str, reference: str) -> None:
    """Raise InputError if jets from ``where`` have other classes than ``reference`` (None: no labels, fine).

    Unnamed classes (``class_0, class_1, ...`` from a bare label index) pass if there are not more of them."""
    if found is None or expected is None or list(found) == list(expected):
        return
    unnamed = all(name == f"class_{k}" for k, name in enumerate(found))
    if unnamed and len(found) <= len(expected):  # a bare label index (jet_label): taken as the expected classes
        return
    hint = "name the classes in the mapping (labels.names)" if unnamed else "the files are of different tasks"
    raise InputError(f"{where} has different classes ({', '.join(found)}) from {reference} "
                     f"({', '.join(expected)}): {hint}")


def require_classes(jets: Jets, where: str, purpose: str, every_class: bool = True) -> np.ndarray:
    """Jets per class (int64, one count per name of ``jets.label_names``); InputError naming ``where`` if there
    are no jets, no labels, a label outside the class list, or (``every_class``) a class without jets (``purpose``
    says who needs them, e.g. "training")."""
    if len(jets) == 0:
        raise InputError(f"{where}: no jets; {purpose} needs jets of every class")
    labels = jets.labels
    if labels is None:
        raise InputError(f"{where}: the jets have no labels; {purpose} needs labelled jets (label branches or a "
                         f"mapping with labels)")
    names = list(jets.label_names or [f"class_{k}" for k in range(int(labels.max()) + 1)])
    outside = (labels < 0) | (labels >= len(names))
    if outside.any():
        raise InputError(f"{where}: label {int(labels[outside][0])} of jet {int(np.flatnonzero(outside)[0])} is "
                         f"not one of the classes 0-{len(names) - 1} ({', '.join(names)})")
    counts = np.bincount(labels, minlength=len(names))
    empty = [name for name, n in zip(names, counts, strict=True) if n == 0]
    if empty and every_class:
        found = ", ".join(f"{n} {name}" for name, n in zip(names, counts, strict=True))
        raise InputError(f"{where}: no {', '.join(empty)} jets (found {found}); {purpose} needs jets of every "
                         f"class")
    return counts


def concatenate(collections: Sequence[Jets]) -> Jets:
    """Join Jets collections with the same fields and classes into one."""
    collections = list(collections)
    if not collections:
        raise ValueError("concatenate needs at least one Jets collection")
    first = collections[0]
    for other in collections[1:]:
        if other.fields != first.fields:
            raise ValueError(f"cannot concatenate Jets with different fields: {first.fields} vs {other.fields}")
        check_classes(other.label_names, first.label_names, "a Jets collection", "the first one")
    summary: dict = {}
    for c in collections:
        for k, v in c.summary.items():
            summary[k] = summary.get(k, 0) + v
    return Jets(ak.concatenate([c.arrays for c in collections]), first.label_names, summary)


#: per-jet quantities whose training range a tagger records, and how to get them from Jets
RANGE_FIELDS = {"jet_pt": lambda j: ak.to_numpy(j["jet_pt"]), "jet_mass": lambda j: ak.to_numpy(j["jet_mass"]),
                "abs_jet_eta": lambda j: np.abs(ak.to_numpy(j["jet_eta"])), "n_particles": lambda j: j.n_particles}
#: the quantiles of the recorded ranges (0.1% and 99.9%)
RANGE_QUANTILES = (0.001, 0.999)


def training_ranges(jets: Jets) -> dict[str, list[float]]:
    """{quantity: [0.1% quantile, 99.9% quantile]} of the RANGE_FIELDS over ``jets`` (GeV for pT and mass)."""
    return {name: [float(v) for v in np.quantile(get(jets).astype(np.float64), RANGE_QUANTILES)]
            for name, get in RANGE_FIELDS.items()} if len(jets) else {}


def within_ranges(jets: Jets, ranges: dict[str, list[float]]) -> np.ndarray:
    """Per jet: True if every recorded quantity lies inside its training range (no ranges: all True)."""
    inside = np.ones(len(jets), dtype=bool)
    for name, (low, high) in (ranges or {}).items():
        value = RANGE_FIELDS[name](jets)
        inside &= (value >= low) & (value <= high)
    return inside
