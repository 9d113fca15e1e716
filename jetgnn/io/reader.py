"""Read ROOT jets into :class:`~jetgnn.io.jets.Jets` (``jetgnn.read_jets``, ``jetgnn.iter_jets``; SPEC §6).

Files in the jetclass schema are read with no configuration; any other flat or jagged ntuple through a
:class:`~jetgnn.io.mapping.BranchMapping` (YAML). Everything is columnar: uproot reads whole chunks into
awkward arrays, and conversions (momentum forms, jet kinematics from constituents with ``vector``,
relative coordinates, labels) run on the whole chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np
import vector

from jetgnn.errors import InputError
from jetgnn.io.files import expand_paths, open_tree
from jetgnn.io.jets import Jets, concatenate
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
        return ak.to_numpy(raw[mapping.label_branch]).astype(np.int64)
    if mapping.label_expression:
        return ak.to_numpy(raw[_LABEL_ALIAS]).astype(np.int64)
    return None


def _standardise(raw, mapping: BranchMapping, path: str, entry_offset: int, on_invalid: str) -> Jets:
    """One chunk of raw branches -> Jets in jetclass field names."""
    cols = _particle_columns(raw, mapping, path, entry_offset)
    jet_raw = {k: ak.to_numpy(raw[b]) for k, b in mapping.jets.items()}
    extra = {k: raw[b] for k, b in mapping.jet_extra.items()}
    float_particles = {mapping.particles[k]: v for k, v in cols.items()}
    float_jets = {mapping.jets[k]: v for k, v in jet_raw.items()}
    float_jets.update({mapping.jet_extra[k]: ak.to_numpy(v) for k, v in extra.items() if v.ndim == 1})
    bad, first = _non_finite_jets(float_particles, float_jets)
    n_dropped = 0
    labels = _labels(raw, mapping, path, entry_offset)
    if bad is not None:
        if on_invalid == "raise":
            entry = entry_offset + int(np.flatnonzero(bad)[0])
            raise InputError(f"{path}: branch {first!r} has a NaN or inf value in entry {entry} "
                             f"(read with on_invalid='drop' to skip such jets)")
        keep = ~bad
        n_dropped = int(bad.sum())
        cols = {k: v[keep] for k, v in cols.items()}
        jet_raw = {k: v[keep] for k, v in jet_raw.items()}
        extra = {k: v[keep] for k, v in extra.items()}
        labels = labels[keep] if labels is not None else None

    if mapping.momentum == "cartesian":
        px, py, pz = cols["px"], cols["py"], cols["pz"]
        p4 = None
    else:
        p4 = ak.zip({"pt": cols["pt"], "eta": cols["eta"], "phi": cols["phi"], "E": cols["energy"]},
                    with_name="Momentum4D")
        px, py, pz = p4.px, p4.py, p4.pz
    out: dict[str, ak.Array | np.ndarray] = {
        "part_px": ak.values_astype(px, np.float32),
        "part_py": ak.values_astype(py, np.float32),
        "part_pz": ak.values_astype(pz, np.float32),
        "part_energy": ak.values_astype(cols["energy"], np.float32),
    }
    counts = ak.to_numpy(ak.num(px, axis=1))
    missing = [key for key in ("pt", "eta", "phi", "energy", "mass") if key not in jet_raw]
    if missing:  # recompute what the file lacks from the constituents (vector, float64)
        jet = constituent_sum(px, py, pz, cols["energy"])
        has = counts > 0
        computed = {
            "pt": jet.pt,
            "eta": np.where(has, np.nan_to_num(np.asarray(jet.eta)), 0.0),
            "phi": np.where(has, jet.phi, 0.0),
            "energy": jet.E,
            "mass": kinematics_mass(jet),
        }
        jet_raw = {**{key: computed[key] for key in missing}, **jet_raw}
    for key in ("pt", "eta", "phi", "energy", "mass"):
        out[f"jet_{key}"] = np.asarray(jet_raw[key]).astype(np.float32)
    out["jet_nparticles"] = np.asarray(jet_raw.get("nparticles", counts)).astype(np.int32)
    if "deta" in cols and "dphi" in cols:
        out["part_deta"], out["part_dphi"] = cols["deta"], cols["dphi"]
    else:
        if p4 is None:
            p4 = ak.zip({"px": px, "py": py, "pz": pz, "E": cols["energy"]}, with_name="Momentum4D")
        out["part_deta"] = ak.values_astype(p4.eta - out["jet_eta"], np.float32)
        out["part_dphi"] = ak.values_astype((p4.phi - out["jet_phi"] + np.pi) % (2 * np.pi) - np.pi, np.float32)
    for key, values in cols.items():
        if key not in ("px", "py", "pz", "energy", "pt", "eta", "phi", "deta", "dphi"):
            out[f"part_{key}"] = values
    for key, values in extra.items():
        out[key if key.startswith(("jet_", "aux_")) else f"jet_{key}"] = values
    label_names = mapping.label_names
    if labels is not None:
        out["jet_label"] = labels
        if label_names is None:
            label_names = [f"class_{k}" for k in range(int(labels.max(initial=0)) + 1)]
    summary = {
        "n_jets": len(counts),
        "n_dropped_nonfinite": n_dropped,
        "n_empty": int((counts == 0).sum()),
        "n_single": int((counts == 1).sum()),
    }
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
        offset = 0
        for raw in t.iterate(expressions, aliases=aliases, step_size=step_size, library="ak"):
            yield _standardise(raw, resolved, path, offset, on_invalid)
            offset += len(raw)


def read_entries(path: str, entry_start: int, entry_stop: int, mapping=None, *, tree: str | None = None,
                 on_invalid: str = "raise") -> Jets:
    """Jets of entries [entry_start, entry_stop) of one file (the unit of work of streaming datasets)."""
    _check_policy(on_invalid)
    mapping = load_mapping(mapping) if mapping is not None else None
    t, resolved, expressions, aliases = _prepare(path, mapping, tree)
    raw = t.arrays(expressions, aliases=aliases, entry_start=entry_start, entry_stop=entry_stop, library="ak")
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
    for path in expand_paths(paths):
        t, resolved, expressions, aliases = _prepare(path, mapping, tree)
        raw = t.arrays(expressions, aliases=aliases, entry_stop=entry_stop, library="ak")
        chunks.append(_standardise(raw, resolved, path, 0, on_invalid))
    return chunks[0] if len(chunks) == 1 else concatenate(chunks)
