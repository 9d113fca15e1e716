"""Graph-building throughput: ROOT file -> torch_geometric Batch, vectorised builder vs naive baselines.

    python benchmarks/graph_building.py [--file top.root] [--batch-size 1024] [--naive-jets 1000]

Run as a user runs it: no environment settings. ``build_graphs`` raises glibc's allocator thresholds itself
(:mod:`jetgnn.utils.malloc`); every configuration is also timed with stock glibc (``JETGNN_MALLOC=default``),
each in a fresh process, on 2 threads and pinned to one core.

Without --file, a 20,000-jet top file (R=0.8, ~63 particles/jet) is generated once into
benchmarks/.cache/. The naive baselines are what one writes by hand with PyG: a Python loop over jets that
builds a ``Data`` per jet and ``Batch.from_data_list`` — "naive" with the same node and edge features, "simple"
with ΔR as the only edge feature. Also measured: peak RSS of streaming ``iter_jets`` over a file set >= 10x one
chunk vs reading everything at once. Writes benchmarks/results/graph_building.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import torch
from torch_geometric.data import Batch, Data

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.graphs.features import NODE_SCALING, node_feature_names  # noqa: E402

CACHE = HERE / ".cache" / "top_20k_seed7.root"


def vectorised(path, batch_size, **graph_kwargs) -> dict:
    """Stream the file in chunks of batch_size and build one Batch per chunk; time everything."""
    n_jets = n_edges = 0
    t0 = time.perf_counter()
    for chunk in jetgnn.iter_jets(path, step_size=batch_size):
        batch = jetgnn.build_graphs(chunk, **graph_kwargs)
        n_jets += batch.num_graphs
        n_edges += batch.edge_index.shape[1]
    wall = time.perf_counter() - t0
    return {"jets": n_jets, "wall_s": round(wall, 3), "jets_per_s": round(n_jets / wall, 1),
            "edges_per_jet": round(n_edges / n_jets, 1)}


def _per_jet(path, n_jets, batch_size, branches, make_data) -> dict:
    """The hand-written PyG way, timed from reading on: a Python loop over jets, ``make_data(jet)`` -> ``Data``,
    and ``Batch.from_data_list`` every ``batch_size`` jets."""
    t0 = time.perf_counter()
    import uproot

    arrays = uproot.open(path)["tree"].arrays(branches, entry_stop=n_jets)
    data_list, n_edges, done = [], 0, 0
    for j in range(len(arrays)):
        data_list.append(make_data(arrays[j]))
        n_edges += data_list[-1].edge_index.shape[1]
        if len(data_list) == batch_size or j == len(arrays) - 1:
            Batch.from_data_list(data_list)
            done += len(data_list)
            data_list = []
    wall = time.perf_counter() - t0
    return {"jets": done, "wall_s": round(wall, 3), "jets_per_s": round(done / wall, 1),
            "edges_per_jet": round(n_edges / done, 1)}


def simple(path, n_jets, batch_size, radius, max_particles=128) -> dict:
    """Per-jet Data with the 7 kinematic node features and ΔR as the only edge feature + Batch.from_data_list."""
    def make_data(jet):
        px, py, e, deta, dphi = (torch.tensor(np.asarray(jet[f][:max_particles], dtype=np.float32))
                                 for f in ("part_px", "part_py", "part_energy", "part_deta", "part_dphi"))
        pt = torch.hypot(px, py)
        x = torch.stack([pt.log(), e.log(), (pt / jet.jet_pt).log(), (e / jet.jet_energy).log(), deta, dphi,
                         torch.hypot(deta, dphi)], 1)
        pos = torch.stack([deta, dphi], 1)
        dr = torch.cdist(pos, pos)
        target, source = torch.nonzero((dr < radius) & ~torch.eye(len(pt), dtype=torch.bool), as_tuple=True)
        return Data(x=x, pos=pos, edge_index=torch.stack([source, target]), edge_attr=dr[target, source][:, None],
                    y=torch.tensor([int(jet.jet_label)]))

    return _per_jet(path, n_jets, batch_size, ["part_px", "part_py", "part_energy", "part_deta", "part_dphi",
                                               "jet_pt", "jet_energy", "jet_label"], make_data)


def naive(path, n_jets, batch_size, radius, max_particles=128) -> dict:
    """Per-jet Data objects + pairwise ΔR + Batch.from_data_list (the hand-written PyG way)."""
    import uproot

    with uproot.open(path) as f:
        names = node_feature_names(set(f["tree"].keys()))

    def make_data(jet):
        px, py, pz, e = (np.asarray(jet[f][:max_particles], dtype=np.float32)
                         for f in ("part_px", "part_py", "part_pz", "part_energy"))
        deta = np.asarray(jet.part_deta[:max_particles], dtype=np.float32)
        dphi = np.asarray(jet.part_dphi[:max_particles], dtype=np.float32)
        pt = np.hypot(px, py)
        feats = {
            "log_pt": np.log(pt), "log_energy": np.log(e), "log_pt_rel": np.log(pt / jet.jet_pt),
            "log_energy_rel": np.log(e / jet.jet_energy), "deta": deta, "dphi": dphi, "delta_r": np.hypot(deta, dphi),
            "charge": np.asarray(jet.part_charge[:max_particles], dtype=np.float32),
        }
        for name in names:
            if name not in feats:
                feats[name] = np.zeros(len(pt), dtype=np.float32)  # same width as the vectorised x
        x = np.stack([(feats[n] - NODE_SCALING.get(n, (0, 1))[0]) * NODE_SCALING.get(n, (0, 1))[1] for n in names], 1)
        pos = torch.tensor(np.stack([deta, dphi], 1))
        d_eta = pos[:, None, 0] - pos[None, :, 0]
        d_phi = torch.remainder(pos[:, None, 1] - pos[None, :, 1] + torch.pi, 2 * torch.pi) - torch.pi
        dr = torch.sqrt(d_eta**2 + d_phi**2)
        target, source = torch.nonzero((dr < radius) & ~torch.eye(len(pt), dtype=torch.bool), as_tuple=True)
        pt_t, p4 = torch.tensor(pt), torch.tensor(np.stack([px, py, pz, e], 1))
        delta = dr[target, source]
        pt_min = torch.minimum(pt_t[source], pt_t[target])
        p = p4[source] + p4[target]
        m2 = p[:, 3] ** 2 - (p[:, :3] ** 2).sum(1)
        edge_attr = torch.stack([delta, torch.log(delta.clamp_min(1e-8)), torch.log((pt_min * delta).clamp_min(1e-8)),
                                 torch.log(pt_min / (pt_t[source] + pt_t[target])), torch.log(m2.clamp_min(1e-8))], 1)
        mass = float(np.sqrt(max(np.sum(e) ** 2 - np.sum(px) ** 2 - np.sum(py) ** 2 - np.sum(pz) ** 2, 0)))
        u = torch.tensor([[jet.jet_pt, jet.jet_eta, mass, jet.jet_nparticles]], dtype=torch.float32)
        return Data(x=torch.tensor(x), pos=pos, edge_index=torch.stack([source, target]), edge_attr=edge_attr, u=u,
                    y=torch.tensor([int(jet.jet_label)]))

    return _per_jet(path, n_jets, batch_size, None, make_data)


# VmHWM (peak RSS since exec, in kB) rather than ru_maxrss, which Linux carries over from the parent
_RSS_SNIPPET = """
import sys, jetgnn, jetgnn.io.reader
def hwm():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])
paths, mode, step = sys.argv[1].split(','), sys.argv[2], int(sys.argv[3])
base = hwm()
n = 0
if mode == 'stream':
    for chunk in jetgnn.iter_jets(paths, step_size=step):
        n += len(chunk)
else:
    n = len(jetgnn.read_jets(paths))
print(n, base, hwm())
"""


def peak_rss(paths, mode, step) -> dict:
    out = subprocess.run([sys.executable, "-c", _RSS_SNIPPET, ",".join(map(str, paths)), mode, str(step)],
                         capture_output=True, text=True, check=True).stdout.split()
    n, base, peak = (int(v) for v in out)
    return {"jets": n, "rss_after_import_mib": round(base / 1024, 1), "peak_rss_mib": round(peak / 1024, 1),
            "growth_mib": round((peak - base) / 1024, 1)}


CONFIGS = {
    "delta_r_R0.8 (default radius = jet R)": {"edges": "delta_r"},
    "delta_r_0.4": {"edges": "delta_r", "radius": 0.4},
    "knn_16": {"edges": "knn", "k": 16},
    "knn_16_no_edge_features": {"edges": "knn", "k": 16, "with_edge_features": False},
    "delta_r_R0.8_no_edge_features": {"edges": "delta_r", "with_edge_features": False},
    "nodes only (edges none)": {"edges": "none"},
}


def _measure_all(path, batch_size) -> dict:
    """Every configuration in this process (after one warm-up pass)."""
    vectorised(path, batch_size)
    return {name: vectorised(path, batch_size, **kwargs) for name, kwargs in CONFIGS.items()}


def _in_process(path, batch_size, threads: int, stock: bool) -> dict:
    """Every configuration in a fresh process; threads 1 = pinned to one core (sched_setaffinity: torch's and
    numba's threads alike)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "JETGNN_MALLOC"}
    if stock:
        env["JETGNN_MALLOC"] = "default"
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), "--batch-size", str(batch_size),
                          "--threads", str(threads), *(["--pin"] if threads == 1 else [])], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=None)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--naive-jets", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)  # one process's measurements
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(args.threads)
    if args.measure:
        print(json.dumps(_measure_all(args.measure, args.batch_size)))
        return
    path = Path(args.file) if args.file else CACHE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        jetgnn.generate("top", 20_000, path, seed=7, workers=2)
    n_particles = float(ak.mean(jetgnn.read_jets(path).jet_nparticles))

    results = {"file": str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path),
               "mean_particles_per_jet": round(n_particles, 1), "batch_size": args.batch_size,
               "torch_threads": args.threads, "naive": {}, "simple": {}}
    runs = {"vectorised": (args.threads, False), "vectorised_stock_glibc": (args.threads, True),
            "vectorised_one_core": (1, False), "vectorised_one_core_stock_glibc": (1, True)}
    for key, (threads, stock) in runs.items():
        results[key] = _in_process(path, args.batch_size, threads, stock)
        for name, row in results[key].items():
            print(f"{key:32s} {name:38s} {row}")
    for name, radius in (("delta_r_R0.8 (default radius = jet R)", 0.8), ("delta_r_0.4", 0.4)):
        results["naive"][name] = naive(path, args.naive_jets, args.batch_size, radius)
        results["simple"][name] = simple(path, args.naive_jets, args.batch_size, radius)
        print(f"naive      {name:38s} {results['naive'][name]}")
        print(f"simple     {name:38s} {results['simple'][name]}")
        for key in runs:
            row = results[key][name]
            row["speedup_vs_naive"] = round(row["jets_per_s"] / results["naive"][name]["jets_per_s"], 1)
            row["speedup_vs_simple"] = round(row["jets_per_s"] / results["simple"][name]["jets_per_s"], 1)
    step = 2000
    results["memory"] = {
        "chunk_jets": step,
        "file_set": "the benchmark file listed 3 times (60,000 jets, 30x one chunk)",
        "iter_jets": peak_rss([path] * 3, "stream", step),
        "read_jets_all": peak_rss([path] * 3, "all", step),
    }
    print(json.dumps(results["memory"], indent=1))
    out = write_result("graph_building", {"command": "python benchmarks/graph_building.py " + " ".join(sys.argv[1:]),
                                          **results})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
