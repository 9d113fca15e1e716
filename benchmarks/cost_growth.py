"""How the costs grow: graph building and training vs particles per jet (16 -> 128) and vs training size.

    python benchmarks/cost_growth.py [--file top.root] [--sizes 1000 3000 10000 30000 100000]

Graph building (``build_graphs``, reading excluded, best of 3 on 10,000 jets, 2 threads) for ΔR < 0.4 and kNN
(k = 16) graphs with edge features, and nodes only, at ``max_particles`` = 16, 32, 64, 128; training jets/s
(one epoch, shipped configs of PFN and ParticleNet-Lite, 10,000 jets) at the same multiplicities; the time of
one training epoch (training jets / training jets/s) vs the number of training jets (the file's jets repeated
for sizes beyond it; the work per jet is what matters). Fits the log-log slopes (1 = linear). Writes
benchmarks/results/cost_growth.{json,png}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import RESULTS, write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.utils.plotting import figure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "benchmarks" / ".cache" / "peers" / "top_20k_seed41.root"
PARTICLES = (16, 32, 64, 128)
GRAPHS = {"ΔR < 0.4 + edge features": {"edges": "delta_r", "radius": 0.4},
          "kNN 16 + edge features": {"edges": "knn", "k": 16}, "nodes only": {"edges": "none"}}
MODELS = ("pfn", "particlenet_lite")


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def graph_cost(jets) -> dict:
    out = {}
    for name, options in GRAPHS.items():
        rows = []
        for n in PARTICLES:
            jetgnn.build_graphs(jets[:512], max_particles=n, **options)
            best = min(_timed(lambda: [jetgnn.build_graphs(jets[i:i + 1024], max_particles=n, **options)  # noqa: B023
                                       for i in range(0, len(jets), 1024)]) for _ in range(3))
            rows.append({"max_particles": n, "jets_per_s": round(len(jets) / best)})
        out[name] = {"rows": rows, "slope_time_vs_particles": round(
            _slope(PARTICLES, [len(jets) / r["jets_per_s"] for r in rows]), 2)}
        print(name, out[name], flush=True)
    return out


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _train(model: str, files: list[str], val: str, work: Path, overrides: dict) -> dict:
    run = jetgnn.train(ROOT / "configs" / f"top_{model}.yaml", out=work / f"{model}_{len(list(work.iterdir()))}",
                       train=files, val=[val], epochs=1, progress=False,
                       overrides={"training.patience": 100, **overrides})
    return json.loads((run / "metrics.json").read_text())


def plot(results: dict) -> None:
    with figure(RESULTS / "cost_growth.png", 1, 3, figsize=(18, 5.5)) as (_, axes):
        for name, entry in results["graph_building"].items():
            axes[0].plot(PARTICLES, [1e6 / r["jets_per_s"] for r in entry["rows"]], "o-",
                         label=f"{name} (slope {entry['slope_time_vs_particles']})")
        axes[0].set(xlabel="particles per jet (max_particles)", ylabel="graph building [µs / jet]",
                    xscale="log", yscale="log", title="graph building")
        for model, entry in results["training_vs_particles"].items():
            axes[1].plot(PARTICLES, [1e6 / r["train_jets_per_s"] for r in entry["rows"]], "o-",
                         label=f"{model} (slope {entry['slope_time_vs_particles']})")
        axes[1].set(xlabel="particles per jet (max_particles)", ylabel="training [µs / jet]", xscale="log",
                    yscale="log", title="training step")
        for model, entry in results["training_vs_size"].items():
            axes[2].plot([r["n_train_jets"] for r in entry["rows"]], [r["epoch_s"] for r in entry["rows"]],
                         "o-", label=f"{model} (slope {entry['slope_time_vs_size']})")
        axes[2].set(xlabel="training jets", ylabel="one epoch [s]", xscale="log", yscale="log",
                    title="training vs size")
        for ax in axes[:2]:
            ax.set_xticks(PARTICLES, [str(n) for n in PARTICLES])
            ax.minorticks_off()
        for ax in axes:
            ax.legend(fontsize=11)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(DEFAULT_FILE))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000, 30000, 100000])
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the JSON result")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads((RESULTS / "cost_growth.json").read_text()))
        return
    jets = jetgnn.read_jets(args.file)
    work = Path(tempfile.mkdtemp(prefix="jetgnn_growth_"))
    val = str(ROOT / "data" / "top_2k.root")
    small = work / "first_10k.root"
    jetgnn.write_jets(small, [jets[:10000].columns()])
    results = {"graph_building": graph_cost(jets[:10000]), "training_vs_particles": {}, "training_vs_size": {}}
    for model in MODELS:
        rows = []
        for n in PARTICLES:
            metrics = _train(model, [str(small)], val, work, {"data.graph.max_particles": n})
            rows.append({"max_particles": n, "train_jets_per_s": round(metrics["train_jets_per_s"])})
        results["training_vs_particles"][model] = {"rows": rows, "slope_time_vs_particles": round(
            _slope(PARTICLES, [1 / r["train_jets_per_s"] for r in rows]), 2)}
        print(model, results["training_vs_particles"][model], flush=True)
        rows = []
        for size in args.sizes:
            repeats = -(-size // len(jets))
            metrics = _train(model, [args.file] * repeats, val, work, {"data.max_jets": min(size, len(jets))}
                             if repeats == 1 else {})
            rows.append({"n_train_jets": metrics["n_train_jets"],
                         "train_jets_per_s": round(metrics["train_jets_per_s"]),
                         "epoch_s": round(metrics["n_train_jets"] / metrics["train_jets_per_s"], 2),
                         "train_time_s": metrics["train_time_s"]})
        results["training_vs_size"][model] = {"rows": rows, "slope_time_vs_size": round(
            _slope([r["n_train_jets"] for r in rows], [r["epoch_s"] for r in rows]), 2)}
        print(model, results["training_vs_size"][model], flush=True)

    plot(results)
    write_result("cost_growth", {"file": Path(args.file).name, **results})


if __name__ == "__main__":
    main()
