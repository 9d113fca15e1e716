"""Read ROOT jets into :class:`~jetgnn.io.jets.Jets` (``jetgnn.read_jets``, ``jetgnn.iter_jets``; SPEC §6).

Files in the jetclass schema are read with no configuration; any other flat or jagged ntuple through a
:class:`~jetgnn.io.mapping.BranchMapping` (YAML). Everything is columnar: uproot reads whole chunks into
awkward arrays, and conversions (momentum forms, jet kinematics from constituents with ``vector``,
relative coordinates, labels) run on the whole chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import awkward as ak
import numpy as np
import vector

from jetgnn.errors import InputError
from jetgnn.io.files import expand_paths, open_tree, read_arrays
from jetgnn.io.jets import Jets, check_classes, concatenate
from jetgnn.io.mapping import BranchMapping, jetclass_mapping, load_mapping
from jetgnn.kinematics import constituent_sum
from jetgnn.kinematics import mass as kinematics_mass

vector.register_awkward()

ON_INVALID = ("raise", "drop")
_LABEL_ALIAS = "jetgnn_label_expression"


def _available_list(tree) -> str:
    names = list(tree.keys())
    shown = ", ".join(names[:40])
    return shown + (f", ... ({len(names)} branches)" if len(names) > 40 else "")


def _jetclass_mapping(tree, path: str) -> BranchMapping:
    available = set(tree.keys())
    for branch in ("part_px", "part_py", "part_pz", "part_energy"):
        if branch not in available:
            raise InputError(f"{path}: branch {branch!r} not found in tree {tree.name!r}, so this is not a "
                             f"jetclass file; pass a mapping YAML (available: {_available_list(tree)})")
    return jetclass_mapping(available, origin="<jetclass>")


def _branches(mapping: BranchMapping) -> list[str]:
    """Plain branch names a mapping reads (expanding {i} columns)."""
    names: list[str] = []
    for branch in mapping.particles.values():
        if "{i}" in branch:
            names.extend(branch.format(i=i) for i in range(mapping.max_particles))
        else:
            names.append(branch)
    names += list(mapping.jets.values()) + list(mapping.jet_extra.values())
    if mapping.label_one_hot:
        names += mapping.label_one_hot
    if mapping.label_branch:
        names.append(mapping.label_branch)
    return list(dict.fromkeys(names))


def _check_branches(tree, names: list[str], path: str, mapping: BranchMapping) -> None:
    available = set(tree.keys())
    for name in names:
        if name not in available:
            raise InputError(f"{path}: branch {name!r} (from {mapping.origin}) not found in tree {tree.name!r} "
                             f"(available: {_available_list(tree)})")


def _particle_columns(raw, mapping: BranchMapping, path: str, entry_offset: int) -> dict[str, ak.Array]:
    cols = {}
    if mapping.flat_columns:
        energy_key = mapping.particles["energy"]
        energy = np.stack([ak.to_numpy(raw[energy_key.format(i=i)]) for i in range(mapping.max_particles)], axis=1)
        valid = ak.from_regular(ak.Array(energy != 0))  # var-length lists, so masking keeps jets
        for key, branch in mapping.particles.items():
            if "{i}" not in branch:
                raise InputError(f"{mapping.origin}: particles.{key} must also use {{i}} like the other columns")
            dense = np.stack([ak.to_numpy(raw[branch.format(i=i)]) for i in range(mapping.max_particles)], axis=1)
            cols[key] = ak.from_regular(ak.Array(dense))[valid]
        return cols
    counts = None
    first = None
    for key, branch in mapping.particles.items():
        values = raw[branch]
        if values.ndim != 2:
            raise InputError(f"{path}: particle branch {branch!r} is not jagged (one list per jet); "
                             f"flat per-particle columns need {{i}} names and max_particles in the mapping")
        n = ak.to_numpy(ak.num(values, axis=1))
        if counts is None:
            counts, first = n, branch
        elif not np.array_equal(n, counts):
            entry = entry_offset + int(np.flatnonzero(n != counts)[0])
            raise InputError(f"{path}: jagged branches {first!r} and {branch!r} have different lengths in entry "
                             f"{entry} ({counts[entry - entry_offset]} vs {n[entry - entry_offset]})")
        cols[key] = values
    return cols


def _non_finite_jets(cols: dict[str, ak.Array], jet_cols: dict[str, np.ndarray]) -> tuple[np.ndarray, str | None]:
    """Mask of jets with a NaN/inf in any float field, and the first offending field."""
    bad = None
    first = None
    for name, values in list(cols.items()) + list(jet_cols.items()):
        flat = ak.to_numpy(ak.flatten(values, axis=None)) if isinstance(values, ak.Array) else values
        if flat.dtype.kind != "f" or np.isfinite(flat).all():
            continue
        if isinstance(values, ak.Array) and values.ndim == 2:
            jet_bad = ak.to_numpy(ak.any(~np.isfinite(values), axis=1))
        else:
            jet_bad = ~np.isfinite(np.asarray(values))
        bad = jet_bad if bad is None else bad | jet_bad
        first = first or name
    return bad, first


def _labels(raw, mapping: BranchMapping, path: str, entry_offset: int) -> np.ndarray | None:
    if mapping.label_one_hot:
        onehot = np.stack([ak.to_numpy(raw[b]).astype(np.int64) for b in mapping.label_one_hot], axis=1)
        sums = onehot.sum(axis=1)
        if np.any(sums != 1):
            entry = entry_offset + int(np.flatnonzero(sums != 1)[0])
            raise InputError(f"{path}: one-hot label branches {', '.join(mapping.label_one_hot)} do not have "
                             f"exactly one 1 in entry {entry}")
        return onehot.argmax(axis=1)
    if mapping.label_branch:
        labels, source = ak.to_numpy(raw[mapping.label_branch]).astype(np.int64), f"branch {mapping.label_branch!r}"
    elif mapping.label_expression:
        labels, source = ak.to_numpy(raw[_LABEL_ALIAS]).astype(np.int64), f"label {mapping.label_expression!r}"
    else:
        return None
    n_classes = len(mapping.label_names) if mapping.label_names else None
    outside = (labels < 0) | (labels >= n_classes) if n_classes else labels < 0
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        allowed = f"0-{n_classes - 1} ({', '.join(mapping.label_names)})" if n_classes else "0, 1, ..."
        raise InputError(f"{path}: {source} is {int(labels[first])} in entry {entry_offset + first}, not a class "
                         f"index {allowed}")
    return labels


@dataclass
class _Chunk:
    """The raw columns of one chunk after the non-finite check: particle columns (mapping keys), per-jet
    kinematics (mapping keys), extra per-jet fields and labels."""

    particles: dict[str, ak.Array]
    jets: dict[str, np.ndarray]
    extra: dict[str, ak.Array]
    labels: np.ndarray | None
    n_dropped: int


def _read_chunk(raw, mapping: BranchMapping, path: str, entry_offset: int, on_invalid: str) -> _Chunk:
    """Columns of one chunk; jets with a NaN/inf are an error (``raise``) or left out (``drop``)."""
    cols = _particle_columns(raw, mapping, path, entry_offset)
    jet_raw = {k: ak.to_numpy(raw[b]) for k, b in mapping.jets.items()}
    extra = {k: raw[b] for k, b in mapping.jet_extra.items()}
    float_particles = {mapping.particles[k]: v for k, v in cols.items()}
    float_jets = {mapping.jets[k]: v for k, v in jet_raw.items()}
    float_jets.update({mapping.jet_extra[k]: ak.to_numpy(v) for k, v in extra.items() if v.ndim == 1})
    bad, first = _non_finite_jets(float_particles, float_jets)
    labels = _labels(raw, mapping, path, entry_offset)
    if bad is None:
        return _Chunk(cols, jet_raw, extra, labels, 0)
    if on_invalid == "raise":
        entry = entry_offset + int(np.flatnonzero(bad)[0])
        raise InputError(f"{path}: branch {first!r} has a NaN or inf value in entry {entry} "
                         f"(read with on_invalid='drop' to skip such jets)")
    keep = ~bad
    return _Chunk({k: v[keep] for k, v in cols.items()}, {k: v[keep] for k, v in jet_raw.items()},
                  {k: v[keep] for k, v in extra.items()}, labels[keep] if labels is not None else None,
                  int(bad.sum()))


def _four_momenta(chunk: _Chunk, momentum: str):
    """Constituent four-momenta as a jagged ``vector`` Momentum4D array, whichever form the file stores."""
    cols = chunk.particles
    if momentum == "cartesian":
        return ak.zip({"px": cols["px"], "py": cols["py"], "pz": cols["pz"], "E": cols["energy"]},
                      with_name="Momentum4D")
    return ak.zip({"pt": cols["pt"], "eta": cols["eta"], "phi": cols["phi"], "E": cols["energy"]},
                  with_name="Momentum4D")


def _jet_kinematics(chunk: _Chunk, p4, counts: np.ndarray) -> dict[str, np.ndarray]:
    """jet_pt/eta/phi/energy/mass/nparticles: from the file where it has them, else from the constituents
    (E-scheme sum with ``vector``, float64; empty jets get zeros)."""
    jet_raw = dict(chunk.jets)
    missing = [key for key in ("pt", "eta", "phi", "energy", "mass") if key not in jet_raw]
    if missing:
        jet = constituent_sum(p4.px, p4.py, p4.pz, chunk.particles["energy"])
        has = counts > 0
        computed = {"pt": jet.pt, "eta": np.where(has, np.nan_to_num(np.asarray(jet.eta)), 0.0),
                    "phi": np.where(has, jet.phi, 0.0), "energy": jet.E, "mass": kinematics_mass(jet)}
        jet_raw.update({key: computed[key] for key in missing})
    out = {f"jet_{key}": np.asarray(jet_raw[key]).astype(np.float32)
           for key in ("pt", "eta", "phi", "energy", "mass")}
    out["jet_nparticles"] = np.asarray(jet_raw.get("nparticles", counts)).astype(np.int32)
    return out


def _relative_coordinates(chunk: _Chunk, p4, jets: dict[str, np.ndarray]) -> dict[str, ak.Array]:
    """part_deta / part_dphi: from the file where it has them, else from the jet axis (``vector``; Δφ wrapped)."""
    cols = chunk.particles
    if "deta" in cols and "dphi" in cols:
        return {"part_deta": cols["deta"], "part_dphi": cols["dphi"]}
    axis = ak.zip({"rho": jets["jet_pt"], "eta": jets["jet_eta"], "phi": jets["jet_phi"]}, with_name="Momentum3D")
    return {"part_deta": ak.values_astype(p4.deltaeta(axis), np.float32),
            "part_dphi": ak.values_astype(p4.deltaphi(axis), np.float32)}


def _standardise(raw, mapping: BranchMapping, path: str, entry_offset: int, on_invalid: str) -> Jets:
    """One chunk of raw branches -> Jets in jetclass field names."""
    chunk = _read_chunk(raw, mapping, path, entry_offset, on_invalid)
    p4 = _four_momenta(chunk, mapping.momentum)
    counts = ak.to_numpy(ak.num(p4, axis=1))
    out: dict[str, ak.Array | np.ndarray] = {
        "part_px": ak.values_astype(p4.px, np.float32),
        "part_py": ak.values_astype(p4.py, np.float32),
        "part_pz": ak.values_astype(p4.pz, np.float32),
        "part_energy": ak.values_astype(chunk.particles["energy"], np.float32),
    }
    out.update(_jet_kinematics(chunk, p4, counts))
    out.update(_relative_coordinates(chunk, p4, out))
    for key, values in chunk.particles.items():
        if key not in ("px", "py", "pz", "energy", "pt", "eta", "phi", "deta", "dphi"):
            out[f"part_{key}"] = values
    for key, values in chunk.extra.items():
        out[key if key.startswith(("jet_", "aux_")) else f"jet_{key}"] = values
    label_names = mapping.label_names
    if chunk.labels is not None:
        out["jet_label"] = chunk.labels
        if label_names is None:
            label_names = [f"class_{k}" for k in range(int(chunk.labels.max(initial=0)) + 1)]
    summary = {"n_jets": len(counts), "n_dropped_nonfinite": chunk.n_dropped, "n_empty": int((counts == 0).sum()),
               "n_single": int((counts == 1).sum())}
    return Jets(ak.zip(out, depth_limit=1), label_names, summary)


def _prepare(path: str, mapping: BranchMapping | None, tree_name: str | None):
    """Open the tree, resolve the mapping (jetclass if None) and list what to read; errors name the file."""
    tree = open_tree(path, tree_name or (mapping.tree if mapping is not None else None))
    resolved = mapping if mapping is not None else _jetclass_mapping(tree, path)
    names = _branches(resolved)
    _check_branches(tree, names, path, resolved)
    aliases = {_LABEL_ALIAS: resolved.label_expression} if resolved.label_expression else None
    expressions = names + ([_LABEL_ALIAS] if aliases else [])
    return tree, resolved, expressions, aliases


def _check_policy(on_invalid: str) -> None:
    if on_invalid not in ON_INVALID:
        raise InputError(f"on_invalid must be one of {', '.join(ON_INVALID)}, got {on_invalid!r}")


def iter_jets(paths, step_size: int = 100_000, mapping=None, *, tree: str | None = None,
              on_invalid: str = "raise") -> Iterator[Jets]:
    """Stream Jets chunks of at most ``step_size`` jets from ROOT files (paths or globs), with bounded memory.

    mapping : None for the jetclass schema, else a BranchMapping, a YAML path/string or a dict.
    on_invalid : "raise" (default) stops at the first NaN/inf with a clear error; "drop" skips such jets
        and counts them in ``Jets.summary["n_dropped_nonfinite"]``.
    Chunks do not span files.
    """
    _check_policy(on_invalid)
    if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
        raise InputError(f"step_size must be a positive integer, got {step_size!r}")
    if mapping is not None:
        mapping = load_mapping(mapping)
    for path in expand_paths(paths):
        t, resolved, expressions, aliases = _prepare(path, mapping, tree)
        for start in range(0, t.num_entries, step_size):
            raw = read_arrays(t, path, expressions, aliases=aliases, entry_start=start,
                              entry_stop=start + step_size, library="ak")
            yield _standardise(raw, resolved, path, start, on_invalid)


def read_entries(path: str, entry_start: int, entry_stop: int, mapping=None, *, tree: str | None = None,
                 on_invalid: str = "raise") -> Jets:
    """Jets of entries [entry_start, entry_stop) of one file (the unit of work of streaming datasets)."""
    _check_policy(on_invalid)
    mapping = load_mapping(mapping) if mapping is not None else None
    t, resolved, expressions, aliases = _prepare(path, mapping, tree)
    raw = read_arrays(t, path, expressions, aliases=aliases, entry_start=entry_start, entry_stop=entry_stop,
                      library="ak")
    return _standardise(raw, resolved, path, entry_start, on_invalid)


def read_jets(paths, mapping=None, *, tree: str | None = None, on_invalid: str = "raise",
              entry_stop: int | None = None) -> Jets:
    """Read all jets of ROOT files (paths or globs) into one Jets collection; ``len(jets)`` == entries.

    See :func:`iter_jets` for ``mapping`` and ``on_invalid``. ``entry_stop`` limits the jets read per file.
    """
    _check_policy(on_invalid)
    if mapping is not None:
        mapping = load_mapping(mapping)
    chunks = []
    paths_read: list[str] = []
    for path in expand_paths(paths):
        t, resolved, expressions, aliases = _prepare(path, mapping, tree)
        raw = read_arrays(t, path, expressions, aliases=aliases, entry_stop=entry_stop, library="ak")
        chunks.append(_standardise(raw, resolved, path, 0, on_invalid))
        paths_read.append(path)
        check_classes(chunks[-1].label_names, chunks[0].label_names, path, paths_read[0])
    return chunks[0] if len(chunks) == 1 else concatenate(chunks)
