"""Reading throughput per input format (jets/s of ``jetgnn.read_jets``, best of 3) on the same 2000 top jets.

    python benchmarks/format_reading.py

The bundled top sample (jetclass ROOT, jagged branches) is written in every other layout with the writers of
tests/data/make_format_samples.py: CMS PFNano (event-level, two AK8 jets per event, a link table and PUPPI
weights), the Top Tagging reference HDF5 (pandas frame, 200 zero-padded constituents), the same flat ``PX_{i}``
columns as a ROOT TTree, EnergyFlow npz, parquet and EDM4hep (event level, a relation collection); the jetclass
and flat ROOT layouts also with 20,000 and 100,000 jets, where the fixed cost of opening a TTree of 801 branches
(about 0.22 s in uproot, plus ~0.25 ms per branch read) no longer dominates, next to the same jets as jagged
PX/PY/PZ/E branches (the like-for-like comparison of the two layouts). Writes
benchmarks/results/format_reading.json.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "data"))
import make_format_samples as samples  # noqa: E402
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
N_JETS = 2000


def _flat_root(h5_path: Path, out: Path, repeat: int = 1) -> None:
    """The Top Tagging columns (E_i, PX_i, ...) as flat float branches of a ROOT TTree (``repeat`` times)."""
    from jetgnn.io.sources import H5Source

    source = H5Source(str(h5_path), "table")
    names = [k for k in source.keys() if k.split("_")[0] in ("E", "PX", "PY", "PZ") or k == "is_signal_new"]
    columns = {k: np.tile(np.asarray(v), repeat) for k, v in source.arrays(names).items()}
    with uproot.recreate(out) as fout:
        fout.mktree("tree", {k: np.asarray(v).dtype for k, v in columns.items()}).extend(columns)


def _jagged_root(flat: Path, out: Path) -> None:
    """The jets of a flat PX_{i} file as jagged PX, PY, PZ, E branches (padding removed)."""
    arrays = uproot.open(flat)["tree"].arrays(library="np")
    dense = {k: np.stack([arrays[f"{k}_{i}"] for i in range(200)], axis=1) for k in ("PX", "PY", "PZ", "E")}
    valid = dense["E"] != 0
    columns = {k: ak.unflatten(v[valid], valid.sum(axis=1)) for k, v in dense.items()}
    with uproot.recreate(out) as fout:
        fout["tree"] = {**columns, "is_signal_new": arrays["is_signal_new"]}


def _time(path, mapping, repeats: int = 5) -> tuple[float, int]:
    best, n = np.inf, 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        jets = jetgnn.read_jets(str(path), mapping=mapping)
        best = min(best, time.perf_counter() - t0)
        n = len(jets)
    return n / best, n


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="jetgnn_formats_"))
    samples.N_EVENTS = N_JETS // 2
    samples.pfnano(work / "pfnano.root")
    samples.toptagging(work / "toptagging.h5", n_jets=N_JETS)
    samples.energyflow(work / "energyflow.npz", n_jets=N_JETS)
    samples.parquet(work / "jets.parquet", n_jets=N_JETS)
    samples.edm4hep(work / "edm4hep.root", n_events=N_JETS // 2)
    _flat_root(work / "toptagging.h5", work / "flat.root")
    _flat_root(work / "toptagging.h5", work / "flat_20k.root", repeat=10)
    _flat_root(work / "toptagging.h5", work / "flat_100k.root", repeat=50)
    _jagged_root(work / "flat_20k.root", work / "jagged_20k.root")
    _jagged_root(work / "flat_100k.root", work / "jagged_100k.root")
    top = samples._tree(ROOT / "data" / "top_2k.root")
    jetgnn.write_jets(work / "jetclass_20k.root", [{k: top[k] for k in top.fields if k != "npart"}] * 10)
    flat_mapping = {"particles": {"px": "PX_{i}", "py": "PY_{i}", "pz": "PZ_{i}", "energy": "E_{i}"},
                    "max_particles": 200, "labels": {"branch": "is_signal_new", "names": ["QCD", "Tbqq"]}}
    jagged_mapping = {"particles": {"px": "PX", "py": "PY", "pz": "PZ", "energy": "E"},
                      "labels": {"branch": "is_signal_new", "names": ["QCD", "Tbqq"]}}
    parquet_mapping = {"particles": {"pt": "cand_pt", "eta": "cand_eta", "phi": "cand_phi", "mass": "cand_m"},
                       "labels": {"branch": "is_top", "names": ["QCD", "Tbqq"]}}
    cases = {
        "jetclass ROOT (jagged, no mapping)": (ROOT / "data" / "top_2k.root", None),
        "CMS PFNano (event level, link table, PUPPI)": (work / "pfnano.root", "cms-pfnano"),
        "Top Tagging HDF5 (pandas frame, 200 padded)": (work / "toptagging.h5", "toptagging-h5"),
        "flat PX_{i} ROOT branches (200 padded)": (work / "flat.root", flat_mapping),
        "jetclass ROOT, 20k jets": (work / "jetclass_20k.root", None),
        "flat PX_{i} ROOT branches, 20k jets": (work / "flat_20k.root", flat_mapping),
        "same jets as jagged PX/PY/PZ/E branches, 20k jets": (work / "jagged_20k.root", jagged_mapping),
        "flat PX_{i} ROOT branches, 100k jets": (work / "flat_100k.root", flat_mapping),
        "same jets as jagged PX/PY/PZ/E branches, 100k jets": (work / "jagged_100k.root", jagged_mapping),
        "EnergyFlow npz (pt, y, phi, pid)": (work / "energyflow.npz", "energyflow-npz"),
        "EDM4hep (event level, begin/end + relation)": (work / "edm4hep.root", "edm4hep"),
        "parquet (jagged pt, eta, phi, m)": (work / "jets.parquet", parquet_mapping),
    }
    results = {}
    for name, (path, mapping) in cases.items():
        rate, n = _time(path, mapping)
        results[name] = {"jets_per_s": round(rate), "n_jets": n, "file_kB": path.stat().st_size // 1024}
        print(f"{name:52s} {rate:10.0f} jets/s  ({n} jets)", flush=True)
    reference = results["jetclass ROOT (jagged, no mapping)"]["jets_per_s"]
    for entry in results.values():
        entry["relative_to_jetclass"] = round(entry["jets_per_s"] / reference, 2)
    path = write_result("format_reading", {"n_jets": N_JETS, "results": results,
                                            "awkward": ak.__version__, "uproot": uproot.__version__})
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
