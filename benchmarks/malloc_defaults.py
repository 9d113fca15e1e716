"""Memory settings both ways: jetgnn's default (``tune_malloc``: glibc thresholds raised, oneDNN's primitive cache
off) vs stock glibc and oneDNN (``JETGNN_MALLOC=default``).

    python benchmarks/malloc_defaults.py [--train FILE] [--epochs 2] [--repeats 2]

Each workload runs in a fresh process, alternating the two settings, the best of ``--repeats``:
- ``jetgnn train`` of PFN, ParticleNet-Lite, ParticleNet and the transformer (shipped top configs, a few
  epochs): ``train_jets_per_s`` of metrics.json (training loop incl. batching) and the peak RSS;
- ``jetgnn predict`` of the ParticleNet-Lite run: jets/s over the command's wall time.
Graph building both ways: benchmarks/graph_building.py. Writes benchmarks/results/malloc_defaults.json
(ratios = tuned / stock).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uproot

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
JETGNN = str(Path(sys.executable).parent / "jetgnn")
MODELS = ("pfn", "particlenet_lite", "particlenet", "transformer")
SETTINGS = {"tuned": {}, "stock": {"JETGNN_MALLOC": "default"}}


def _env(setting: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and "PRIMITIVE_CACHE" not in k and k != "JETGNN_MALLOC"}
    return {**env, **SETTINGS[setting]}


def _rss(cmd: list[str], setting: str) -> tuple[float, str, float]:
    """(wall seconds, stdout, peak RSS in MB) of ``cmd``; a wrapper process reports the peak RSS of its own child."""
    wrapper = [sys.executable, "-c",
               "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
               "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)",
               *cmd]
    start = time.perf_counter()
    done = subprocess.run(wrapper, env=_env(setting), capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({setting}):\n{done.stderr[-2000:]}")
    peak = [line for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_KB")]
    return wall, done.stdout, int(peak[-1].split()[1]) / 1024 if peak else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(ROOT / "data" / "top_2k.root"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jetgnn_malloc_"))
    with uproot.open(args.train) as f:
        n_jets = f["tree"].num_entries
    results: dict[str, dict] = {}

    def record(name, setting, value, rss=None):
        entry = results.setdefault(name, {})
        if value > entry.get(setting, {}).get("jets_per_s", 0):
            entry[setting] = {"jets_per_s": round(value, 1), **({"peak_rss_mb": round(rss)} if rss else {})}

    for repeat in range(args.repeats):
        for setting in SETTINGS:
            for model in args.models:
                out = work / f"{model}_{setting}_{repeat}"
                _, _, rss = _rss([JETGNN, "train", str(ROOT / "configs" / f"top_{model}.yaml"), "--train", args.train,
                                  "--out", str(out), "--epochs", str(args.epochs), "-q", "training.patience=100"],
                                 setting)
                metrics = json.loads((out / "metrics.json").read_text())
                record(f"train {model}", setting, metrics["train_jets_per_s"], rss)
                if model == "particlenet_lite":
                    wall, _, rss = _rss([JETGNN, "predict", str(out), "--data", args.train,
                                         "--out", str(work / f"pred_{setting}_{repeat}.root")], setting)
                    record("predict particlenet_lite (wall)", setting, n_jets / wall, rss)
        print(json.dumps(results, indent=1), flush=True)
    for entry in results.values():
        entry["ratio_tuned_over_stock"] = round(entry["tuned"]["jets_per_s"] / entry["stock"]["jets_per_s"], 2)
    path = write_result("malloc_defaults", {"train_file": Path(args.train).name, "epochs": args.epochs,
                                            "repeats": args.repeats, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
