"""Summary tables of jetclass-schema ROOT files (``jetgnn summary``, used by ``make quickstart``)."""

from __future__ import annotations

import os

import awkward as ak
import numpy as np

from jetgnn.errors import InputError
from jetgnn.io.files import expand_paths, generation_metadata, open_tree, read_arrays
from jetgnn.io.schema import LABELS, one_hot_task
from jetgnn.observables import n_displaced_vertices, n_significant_tracks, tau_ratio

_SUMMARY_BRANCHES = ("jet_pt", "jet_mass", "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_nparticles",
                     "jet_label", "part_d0val", "part_d0err", "part_vtx_idx")


def detect_task(branches, path: str = "the file") -> str:
    """The task whose one-hot ``label_*`` branches a tree carries (a key of ``LABELS``; the largest class list
    that matches, so g/q/W/Z/t files are "multiclass", not "qg")."""
    task = one_hot_task(branches)
    if task is not None:
        return task
    known = ", ".join("/".join(f"label_{n}" for n in names) for names in LABELS.values())
    raise InputError(f"{path}: no known label branches ({known})")


def _empty_row(path: str, task: str) -> dict:
    return {"file": os.path.basename(path), "task": task, "class": "(no jets)", "n_jets": 0, **dict.fromkeys(
        ("pt", "mass", "sdmass", "tau21", "tau32", "n_particles", "n_sig_tracks", "n_sv"))}


def summarize_file(path: str, notes: list[str] | None = None) -> list[dict]:
    """Per-class physics summary rows of one jetclass file (one "(no jets)" row for an empty file).

    Medians and means are over finite values; ``notes`` collects a line per field with NaN/inf values.
    """
    tree = open_tree(path)
    task = detect_task(tree.keys(), path)
    generated = generation_metadata(path)
    if generated is not None and generated.get("detector", "none") != "none" and notes is not None:
        notes.append(f"{os.path.basename(path)}: detector level (jetgnn generate --detector {generated['detector']})")
    missing = [b for b in _SUMMARY_BRANCHES if b not in tree.keys()]
    if missing:
        raise InputError(f"{path}: branch {missing[0]} is missing (available: {', '.join(tree.keys())})")
    if tree.num_entries == 0:
        return [_empty_row(path, task)]
    a = read_arrays(tree, path, list(_SUMMARY_BRANCHES))
    label = ak.to_numpy(a.jet_label)
    n_sig_tracks = n_significant_tracks(a)
    n_vertices = n_displaced_vertices(a, min_tracks=2)
    tau21, tau32 = tau_ratio(a, "tau21"), tau_ratio(a, "tau32")
    for name in ("jet_pt", "jet_mass", "jet_sdmass"):
        bad = ~np.isfinite(ak.to_numpy(a[name]))
        if bad.any() and notes is not None:
            notes.append(f"{os.path.basename(path)}: {int(bad.sum())} jets with NaN/inf {name} (first: entry "
                         f"{int(np.flatnonzero(bad)[0])}) are left out of its median")
    rows = []
    for k, name in enumerate(LABELS[task]):
        sel = label == k
        if not sel.any():
            continue

        def med(x, sel=sel):
            x = np.asarray(x, dtype=np.float64)[sel]
            x = x[np.isfinite(x)]
            return float(np.median(x)) if len(x) else None

        rows.append({
            "file": os.path.basename(path),
            "task": task,
            "class": name,
            "n_jets": int(sel.sum()),
            "pt": med(ak.to_numpy(a.jet_pt)),
            "mass": med(ak.to_numpy(a.jet_mass)),
            "sdmass": med(ak.to_numpy(a.jet_sdmass)),
            "tau21": med(tau21),
            "tau32": med(tau32),
            "n_particles": float(np.mean(ak.to_numpy(a.jet_nparticles)[sel])),
            "n_sig_tracks": float(np.mean(n_sig_tracks[sel])),
            "n_sv": float(np.mean(n_vertices[sel])),
        })
    return rows


def format_table(rows: list[dict], notes: list[str] | None = None) -> str:
    """A fixed-width text table of summary rows."""
    header = ("file", "class", "n_jets", "pT", "mass", "m_SD", "tau21", "tau32", "<n_part>", "<n_IPsig>3>",
              "<n_SV2>")
    keys = ("file", "class", "n_jets", "pt", "mass", "sdmass", "tau21", "tau32", "n_particles", "n_sig_tracks", "n_sv")
    cells = [header] + [
        tuple(f"{r[k]:.2f}" if isinstance(r[k], float) else "-" if r[k] is None else str(r[k]) for k in keys)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i > 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    note = ("medians of pT, mass, m_SD (GeV) and tau ratios; means per jet of constituents, tracks with "
            "|d0|/sigma > 3, and truth displaced vertices with >= 2 tracks")
    return "\n".join(lines + [note] + [f"note: {line}" for line in notes or []])


def summarize_files(patterns) -> str:
    """Summary table of every file matched by ``patterns`` (paths or globs)."""
    rows, notes = [], []
    for path in expand_paths(patterns):
        rows.extend(summarize_file(path, notes))
    return format_table(rows, notes)
