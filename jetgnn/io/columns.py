"""One chunk of input columns -> per-jet columns, as a mapping describes them (columnar, whole chunks).

Steps: evaluate the mapping's expressions; turn zero-padded per-particle matrices (``PX_{i}`` columns, ``X[:, :, k]``
of npz/HDF5 files) into jagged lists; convert every particle collection's momentum form to px, py, pz, E (GeV)
and apply per-particle weights; for event-level inputs, flatten jets to one per entry, gather their constituents
through the links and apply the jet selection; derive charge and type flags from the PDG id where the input has
only the id. The reader (:mod:`jetgnn.io.reader`) then builds the jetclass fields from these columns.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import awkward as ak
import numpy as np
import vector

from jetgnn.errors import InputError
from jetgnn.io.expressions import column_prefix, columns_of, evaluate
from jetgnn.io.links import particle_positions, per_jet
from jetgnn.io.mapping import LINK_KEYS, MOMENTUM_FORMS, BranchMapping, ParticleCollection
from jetgnn.io.schema import pid_charge_mass, type_flags

vector.register_awkward()

#: per-particle column: True where a particle column (before the momentum conversion) is NaN or inf
NONFINITE = "_nonfinite"
_FLAG_KEYS = ("isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon")
#: relative tolerance of the energy >= |p| check (float32 rounding of massless particles)
_ENERGY_TOLERANCE = 1e-3


@dataclass
class Chunk:
    """Per-jet columns of one chunk: particle columns (px, py, pz, energy, optional keys; jagged per jet), jet
    kinematics given by the mapping (numpy), extra per-jet fields, labels, the ``event_index`` / ``jet_index`` of
    event-level inputs, and the expression each particle key came from (for messages)."""

    particles: dict[str, ak.Array]
    jets: dict[str, np.ndarray]
    extra: dict[str, ak.Array]
    labels: np.ndarray | None
    indices: dict[str, np.ndarray]
    sources: dict[str, str]
    n_dropped: int = 0
    nonfinite_names: tuple[str, ...] = ()


def _viable(expression: str, keys, max_particles) -> bool:
    text = expression.format(i=0) if "{i}" in expression and max_particles else expression
    if text in keys:
        return True
    try:
        columns_of(text, keys)
    except InputError:
        return False
    return True


def resolve_choices(mapping: BranchMapping, keys, path: str) -> BranchMapping:
    """The mapping with every list of alternative expressions replaced by the first whose columns ``keys`` has
    (one InputError naming the mapping key and the alternatives if none fits)."""
    keys = set(keys)

    def pick(value, where):
        if not isinstance(value, list):
            return value
        for expression in value:
            if _viable(expression, keys, mapping.max_particles):
                return expression
        raise InputError(f"{path}: none of the alternatives of {where} (from {mapping.origin}) fits this file: "
                         f"{', '.join(value)} (available: {_available(keys)})")

    collections = [ParticleCollection({k: pick(v, f"particles.{k}") for k, v in c.fields.items()}, c.momentum)
                   for c in mapping.collections]
    links = mapping.links
    if links is not None:
        links = links.model_copy(update={name: pick(getattr(links, name), f"links.{name}")
                                         for name in LINK_KEYS})
    return dataclasses.replace(
        mapping, collections=collections, particles=dict(collections[0].fields),
        jets={k: pick(v, f"jets.{k}") for k, v in mapping.jets.items()},
        jet_extra={k: pick(v, f"jets.extra.{k}") for k, v in mapping.jet_extra.items()},
        selection=pick(mapping.selection, "jets.selection"), links=links,
        label_branch=pick(mapping.label_branch, "labels.branch"),
        label_expression=pick(mapping.label_expression, "labels.expression"))


def mapping_columns(mapping: BranchMapping, keys, path: str, container: str = "the file") -> list[str]:
    """Every input column the mapping's expressions read; an unknown one is an InputError naming the column (or
    the mapping key of a bad expression), the mapping's origin, ``container`` (e.g. "tree 'Events'") and the
    available columns."""
    keys = set(keys)
    needed: list[str] = []
    for where, expression in _expressions(mapping):
        for i in (range(mapping.max_particles) if "{i}" in expression else [None]):
            text = expression.format(i=i) if i is not None else expression
            if text not in keys and _NAME_ONLY.fullmatch(text) and column_prefix(text, keys) is None:
                raise InputError(f"{path}: branch {text!r} (from {mapping.origin}, {where}) not found in "
                                 f"{container} (available: {_available(keys)})")
            try:
                needed.extend(columns_of(text, keys))
            except InputError as err:
                raise InputError(f"{path}: {where} (from {mapping.origin}): {err} (available: "
                                 f"{_available(keys)})") from None
    return list(dict.fromkeys(needed))


_NAME_ONLY = re.compile(r"[A-Za-z_][A-Za-z0-9_.#/]*")


def _available(keys) -> str:
    names = sorted(keys)
    return ", ".join(names[:40]) + (f", ... ({len(names)} columns)" if len(names) > 40 else "")


def _expressions(mapping: BranchMapping):
    for k, collection in enumerate(mapping.collections):
        prefix = "particles" if len(mapping.collections) == 1 else f"particles[{k}]"
        for key, expression in collection.fields.items():
            yield f"{prefix}.{key}", expression
    for key, expression in mapping.jets.items():
        yield f"jets.{key}", expression
    for key, expression in mapping.jet_extra.items():
        yield f"jets.extra.{key}", expression
    if mapping.selection:
        yield "jets.selection", mapping.selection
    for name in LINK_KEYS:
        value = getattr(mapping.links, name, None) if mapping.links is not None else None
        if value:
            yield f"links.{name}", value
    for k, expression in enumerate(mapping.label_one_hot or []):
        yield f"labels.one_hot[{k}]", expression
    if mapping.label_branch:
        yield "labels.branch", mapping.label_branch
    if mapping.label_expression:
        yield "labels.expression", mapping.label_expression


class _Evaluator:
    def __init__(self, raw: dict, mapping: BranchMapping, path: str):
        self.raw, self.mapping, self.path = raw, mapping, path
        self.nonfinite_names: list[str] = []  # expressions of particle columns with NaN/inf values

    def __call__(self, expression: str, where: str):
        if "{i}" in expression:  # flat per-particle columns: a zero-padded [n, max_particles] matrix
            texts = [expression.format(i=i) for i in range(self.mapping.max_particles)]
            return _padded([np.asarray(self.raw[text] if text in self.raw else  # a plain column: no evaluation
                                        evaluate(text, self.raw, f"{self.path}: {where}")) for text in texts])
        value = evaluate(expression, self.raw, f"{self.path}: {where} (from {self.mapping.origin})")
        if isinstance(value, ak.Array) and value.fields:
            raise InputError(f"{self.path}: {where} = {expression!r} holds objects (fields: {', '.join(value.fields)}),"
                             f" not numbers; map one of their members, e.g. {expression}.{value.fields[0]}")
        return value


@dataclass(frozen=True)
class _Padded:
    """The flat columns ``X_0 .. X_{M-1}`` of one per-particle quantity ([n] each, zero-padded), not yet stacked."""

    columns: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.columns[0])

    def block(self, start: int, stop: int) -> np.ndarray:
        """Jets [start, stop) as a [stop - start, M] matrix."""
        return np.ascontiguousarray(np.stack([c[start:stop] for c in self.columns]).T)


def _padded(columns: list[np.ndarray]):
    shape = next((c.shape for c in columns if c.ndim), None)
    if shape is None or len(shape) != 1:
        return np.stack(columns, axis=-1)
    return _Padded(tuple(np.broadcast_to(c, shape) if c.ndim == 0 else c for c in columns))


#: jets per block of :func:`_unpad` (a block of 200 float32 columns, 6 MB, stays in cache while transposed)
_BLOCK = 8192


def _unpad(fields: dict, form: tuple[str, ...]) -> dict:
    """Zero-padded particle matrices (flat ``X_{i}`` columns, or [n, M] arrays of npz/HDF5 files) as jagged lists
    (padding: every momentum component but mass is 0).

    Block by block, never the whole [n, M] matrix: stacking 200 columns of 100k jets into one matrix writes with
    a stride of 200 elements and took 0.14 s per quantity (0.54 s of a 2.0 s read); blocks of 8192 jets stay in cache.
    """
    dense = {k: v for k, v in fields.items()
             if isinstance(v, _Padded) or (isinstance(v, np.ndarray) and v.ndim == 2)}
    if not dense:
        return fields
    n = len(next(iter(dense.values())))
    values: dict[str, list[np.ndarray]] = {k: [] for k in dense}
    counts = []
    for start in range(0, n, _BLOCK):
        blocks = {k: v.block(start, start + _BLOCK) if isinstance(v, _Padded) else v[start:start + _BLOCK]
                  for k, v in dense.items()}
        valid = np.zeros(next(iter(blocks.values())).shape, dtype=bool)
        for key in form:
            if key != "mass" and key in blocks:
                valid |= blocks[key] != 0
        counts.append(valid.sum(axis=1))
        for key, block in blocks.items():
            values[key].append(block[valid])
    counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    return {k: ak.unflatten(_concat(values[k], dense[k]), counts) if k in dense else v for k, v in fields.items()}


def _concat(parts: list[np.ndarray], like) -> np.ndarray:
    if parts:
        return np.concatenate(parts)
    dtype = np.result_type(*like.columns) if isinstance(like, _Padded) else like.dtype
    return np.zeros(0, dtype=dtype)


def _broadcast(value, like):
    """A scalar expression value (e.g. ``mass: 0``) broadcast to the shape of ``like``."""
    if np.isscalar(value) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return like * 0 + value
    return value


def _cartesian(fields: dict, momentum: str, path: str, source: dict) -> dict:
    """px, py, pz, energy (GeV) of a collection in any momentum form; energy >= |p| is checked where given."""
    form = MOMENTUM_FORMS[momentum]
    values = {k: fields[k] for k in form}  # constants are broadcast already (_collection)
    if momentum == "pt_rapidity_phi_mass":  # vector has no rapidity coordinate: pz and E from mT
        mt = np.sqrt(values["pt"] ** 2 + values["mass"] ** 2)
        p4 = ak.zip({"pt": values["pt"], "phi": values["phi"], "pz": mt * np.sinh(values["rapidity"]),
                     "E": mt * np.cosh(values["rapidity"])}, with_name="Momentum4D")
    else:  # vector's own coordinates (energy is vector's "E")
        p4 = ak.zip({"E" if k == "energy" else k: values[k] for k in form}, with_name="Momentum4D")
    out = {"px": p4.px, "py": p4.py, "pz": p4.pz, "energy": p4.E}
    if "energy" in form:
        energy, p = ak.flatten(out["energy"], axis=None), ak.flatten(p4.p, axis=None)
        energy, p = ak.to_numpy(energy), ak.to_numpy(p)
        bad = energy < p * (1 - _ENERGY_TOLERANCE) - 1e-6
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(f"{path}: particle energy {energy[k]:.4g} GeV is below its momentum {p[k]:.4g} GeV "
                             f"(particles.energy = {source['energy']!r}); if that column is the mass, map it as "
                             f"particles.mass")
    return out


def _check_lengths(fields: dict, sources: dict, form, path: str, entry_offset: int) -> None:
    """Every particle column is a list per entry, of the same length as the first momentum column's."""
    first = form[0]
    reference = fields[first]
    if not isinstance(reference, ak.Array) or reference.ndim < 2:
        raise InputError(f"{path}: particle branch {sources[first]!r} is not jagged (one list per jet); flat "
                         f"per-particle columns need {{i}} names and max_particles in the mapping")
    counts = ak.to_numpy(ak.num(reference, axis=1))
    for key, values in fields.items():
        if key == first or not isinstance(values, ak.Array) or values.ndim < 2:
            continue
        n = ak.to_numpy(ak.num(values, axis=1))
        if not np.array_equal(n, counts):
            k = int(np.flatnonzero(n != counts)[0])
            raise InputError(f"{path}: jagged branches {sources[first]!r} and {sources[key]!r} have different "
                             f"lengths in entry {entry_offset + k} ({counts[k]} vs {n[k]})")


def _collection(evaluator: _Evaluator, collection: ParticleCollection, path: str, entry_offset: int) -> dict:
    """One collection's columns: px, py, pz, energy and its other keys (weights applied to the momentum)."""
    fields = {key: evaluator(expression, f"particles.{key}") for key, expression in collection.fields.items()}
    form = MOMENTUM_FORMS[collection.momentum]
    fields = _unpad(fields, form)
    fields = {k: _broadcast(v, fields[form[0]]) for k, v in fields.items()}  # constants, e.g. pid: 22
    _check_lengths(fields, collection.fields, form, path, entry_offset)
    nonfinite = None
    for key, values in fields.items():
        flat = ak.to_numpy(ak.flatten(values, axis=None)) if isinstance(values, ak.Array) else np.asarray(values)
        if flat.dtype.kind == "f" and not np.isfinite(flat).all() and isinstance(values, ak.Array):
            bad = ~np.isfinite(values)
            nonfinite = bad if nonfinite is None else nonfinite | bad
            evaluator.nonfinite_names.append(collection.fields[key])
    out = {k: v for k, v in fields.items() if k not in form}
    out[NONFINITE] = nonfinite if nonfinite is not None else fields[form[0]] != fields[form[0]]
    out.update(_cartesian(fields, collection.momentum, path, collection.fields))
    if "pid" in out:
        _from_pid(out)
    return out


def _apply_weights(fields: dict) -> dict:
    """Per-particle weights (PUPPI) applied to the four-momentum; particles of weight 0 are removed. Runs after the
    links are resolved (they count positions in the unweighted collection)."""
    weight = fields.pop("weight", None)
    if weight is None:
        return fields
    for key in ("px", "py", "pz", "energy"):
        fields[key] = fields[key] * weight
    keep = (weight > 0) | fields[NONFINITE]  # a NaN weight stays, to be reported
    return {k: v[keep] for k, v in fields.items()}


def _from_pid(fields: dict) -> None:
    """Charge and type flags derived from the PDG id where the input has only the id (vectorised)."""
    pid = fields["pid"]
    counts = ak.num(pid, axis=1) if pid.ndim > 1 else None
    flat_pid = ak.to_numpy(ak.flatten(pid, axis=None)).astype(np.int64)
    if "charge" not in fields:
        charge, _ = pid_charge_mass(flat_pid)
        fields["charge"] = ak.unflatten(charge, counts) if counts is not None else charge
    if not any(k in fields for k in _FLAG_KEYS):
        flat_charge = ak.to_numpy(ak.flatten(fields["charge"], axis=None))
        for name, flags in type_flags(flat_pid, flat_charge).items():
            key = name[len("part_"):]
            fields[key] = ak.unflatten(flags, counts) if counts is not None else flags


def _concatenate(collections: list[dict]) -> dict:
    """Collections concatenated per list (per event or per jet), keys missing in one filled with 0."""
    if len(collections) == 1:
        return collections[0]
    keys = list(dict.fromkeys(k for c in collections for k in c))
    out = {}
    for key in keys:
        fill = {NONFINITE: lambda c: c["px"] != c["px"], "weight": lambda c: c["px"] * 0 + 1}
        parts = [c[key] if key in c else fill.get(key, lambda c: c["px"] * 0)(c)
                 for c in collections]
        out[key] = ak.concatenate(parts, axis=1)
    return out


def evaluate_chunk(raw: dict, mapping: BranchMapping, path: str, entry_offset: int) -> Chunk:
    """The per-jet columns of one chunk of input columns ``raw`` (name -> array)."""
    evaluator = _Evaluator(raw, mapping, path)
    particles = _concatenate([_collection(evaluator, c, path, entry_offset) for c in mapping.collections])
    jets = {k: evaluator(e, f"jets.{k}") for k, e in mapping.jets.items()}
    extra = {k: evaluator(e, f"jets.extra.{k}") for k, e in mapping.jet_extra.items()}
    labels = _labels(evaluator, mapping, path, entry_offset)
    sources = dict(mapping.collections[0].fields)
    indices: dict[str, np.ndarray] = {}
    if mapping.event_level:
        particles, jets, extra, labels, indices = _flatten_events(evaluator, mapping, particles, jets, extra, labels,
                                                                  path, entry_offset)
    particles = _apply_weights(particles)
    jets = {k: ak.to_numpy(v) if isinstance(v, ak.Array) else np.asarray(v) for k, v in jets.items()}
    return Chunk(particles, jets, extra, labels, indices, sources, 0, tuple(evaluator.nonfinite_names))


def _jet_counts(mapping: BranchMapping, jets: dict, extra: dict, path: str) -> np.ndarray:
    reference = next(iter([*jets.values(), *extra.values()]), None)
    if reference is None or getattr(reference, "ndim", 1) < 2:
        raise InputError(f"{path}: an event-level mapping (jets.collection: {mapping.jet_collection}) needs jagged "
                         f"per-event jet fields (e.g. jets.pt)")
    return ak.to_numpy(ak.num(reference, axis=1))


def _flatten_events(evaluator, mapping, particles, jets, extra, labels, path, entry_offset):
    n_jets = _jet_counts(mapping, jets, extra, path)
    n_events = len(n_jets)
    indices = {"event_index": np.repeat(np.arange(entry_offset, entry_offset + n_events), n_jets),
               "jet_index": ak.to_numpy(ak.flatten(ak.local_index(ak.unflatten(np.zeros(int(n_jets.sum())), n_jets),
                                                                  axis=1)))}
    jets = {k: ak.to_numpy(ak.flatten(v, axis=1)) for k, v in jets.items()}
    extra = {k: ak.flatten(v, axis=1) for k, v in extra.items()}
    if labels is not None:
        labels = np.asarray(labels)
    if mapping.links is not None:
        n_particles = ak.to_numpy(ak.num(particles["px"], axis=1))
        positions, counts = particle_positions(mapping.links, evaluator.raw, n_jets, n_particles,
                                               lambda e, w: evaluator(e, w), path, entry_offset,
                                               uids=particles.pop("uid", None))
        particles = {k: per_jet(v, positions, counts) for k, v in particles.items()}
    else:  # per-jet particle lists inside each event: [events][jets][particles]
        if particles["px"].ndim != 3:
            raise InputError(f"{path}: event-level particles need links (mapping key links) unless they are "
                             f"lists per jet ([events][jets][particles])")
        particles = {k: ak.flatten(v, axis=1) for k, v in particles.items()}
    if mapping.selection:
        keep = ak.to_numpy(ak.flatten(evaluator(mapping.selection, "jets.selection"), axis=1)).astype(bool)
        particles = {k: v[keep] for k, v in particles.items()}
        jets = {k: v[keep] for k, v in jets.items()}
        extra = {k: v[keep] for k, v in extra.items()}
        indices = {k: v[keep] for k, v in indices.items()}
        labels = labels[keep] if labels is not None else None
    return particles, jets, extra, labels, indices


def _labels(evaluator, mapping: BranchMapping, path: str, entry_offset: int):
    if mapping.label_one_hot:
        onehot = [evaluator(e, f"labels.one_hot[{k}]") for k, e in enumerate(mapping.label_one_hot)]
        if mapping.event_level:
            onehot = [ak.flatten(v, axis=1) for v in onehot]
        onehot = np.stack([ak.to_numpy(v).astype(np.int64) for v in onehot], axis=1)
        sums = onehot.sum(axis=1)
        if np.any(sums != 1):
            entry = entry_offset + int(np.flatnonzero(sums != 1)[0])
            raise InputError(f"{path}: one-hot label branches {', '.join(mapping.label_one_hot)} do not have "
                             f"exactly one 1 in entry {entry}")
        return onehot.argmax(axis=1)
    if mapping.label_branch:
        source, expression = f"branch {mapping.label_branch!r}", mapping.label_branch
    elif mapping.label_expression:
        source, expression = f"label {mapping.label_expression!r}", mapping.label_expression
    else:
        return None
    value = evaluator(expression, "labels")
    if mapping.event_level:
        value = ak.flatten(value, axis=1)
    labels = ak.to_numpy(value).astype(np.int64)
    if mapping.label_values is not None:
        values = np.asarray(mapping.label_values, dtype=np.int64)
        match = labels[:, None] == values[None, :]
        index, unknown = np.argmax(match, axis=1), ~match.any(axis=1)
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            raise InputError(f"{path}: {source} is {int(labels[first])} for jet {first} of the chunk at entry "
                             f"{entry_offset}, not one of labels.values {mapping.label_values} (select such jets out "
                             f"with jets.selection)")
        return index
    n_classes = len(mapping.label_names) if mapping.label_names else None
    outside = (labels < 0) | (labels >= n_classes) if n_classes else labels < 0
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        allowed = f"0-{n_classes - 1} ({', '.join(mapping.label_names)})" if n_classes else "0, 1, ..."
        raise InputError(f"{path}: {source} is {int(labels[first])} in entry {entry_offset + first}, not a class "
                         f"index {allowed}")
    return labels
