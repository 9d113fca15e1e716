"""AUC of every shipped training config on the bundled samples, for several seeds (a regression check).

    python benchmarks/shipped_configs.py [--seeds 0 1] [--configs top_pfn qg_mlp ...] [--name shipped_configs]
        [--threads 2] [--workers 0]
    python benchmarks/shipped_configs.py --compare BEFORE.json [...] --to AFTER.json [...] --name NAME

Each config (``configs/{qg,top}_*.yaml`` and ``configs/flavour_vertexer*.yaml``) is trained as shipped (its own
epochs, model and graph options) on its bundled sample (``data/<task>_2k.root``: 1600 training, 400 validation
jets) and evaluated on the validation jets. Writes ``benchmarks/results/<name>.json`` with the AUC, the background
rejections, the training time and jets/s of every (config, seed), and the mean and spread over seeds per config.
Comparing two such files (before and after a change) tells whether the AUCs moved by more than the seed noise:
``--compare`` merges the runs of several files per side and writes, per config, both means, their difference and
the seed spread (the standard deviation of one side's AUCs; with two seeds, |a - b| / sqrt(2)).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DATA = {"qg": ROOT / "data" / "qg_2k.root", "top": ROOT / "data" / "top_2k.root",
        "flavour": ROOT / "data" / "flavour_2k.root"}
KEYS = ("auc", "rejection_at_30", "rejection_at_50", "train_time_s", "train_jets_per_s", "epochs")


def shipped() -> list[str]:
    names = sorted(p.stem for p in CONFIGS.glob("*.yaml") if p.stem.split("_")[0] in ("qg", "top"))
    return names + sorted(p.stem for p in CONFIGS.glob("flavour_vertexer*.yaml"))


def _runs(paths: list[str]) -> dict[str, list[dict]]:
    by_config: dict[str, list[dict]] = {}
    for path in paths:
        for row in json.loads(Path(path).read_text())["runs"]:
            by_config.setdefault(row["config"], []).append(row)
    return by_config


def compare(before: list[str], after: list[str], name: str) -> None:
    """Per config: mean AUC before and after, the difference and the seed spread (benchmarks/results/NAME.json)."""
    old, new = _runs(before), _runs(after)
    table = {}
    print("| config | AUC before | AUC after | difference | seed spread (std) |")
    print("|---|---|---|---|---|")
    for config in sorted(set(old) & set(new)):
        a = np.array([r["auc"] for r in old[config]])
        b = np.array([r["auc"] for r in new[config]])
        spread = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)) if min(len(a), len(b)) > 1 else None
        table[config] = {"auc_before": a.tolist(), "auc_after": b.tolist(), "mean_before": float(a.mean()),
                         "mean_after": float(b.mean()), "difference": float(b.mean() - a.mean()),
                         "seed_spread": spread,
                         "train_jets_per_s_before": float(np.mean([r["train_jets_per_s"] for r in old[config]])),
                         "train_jets_per_s_after": float(np.mean([r["train_jets_per_s"] for r in new[config]]))}
        print(f"| {config} | {a.mean():.4f} | {b.mean():.4f} | {b.mean() - a.mean():+.4f} | "
              f"{spread:.4f} |" if spread is not None else f"| {config} | {a.mean():.4f} | {b.mean():.4f} | |")
    path = write_result(name, {"before": [str(p) for p in before], "after": [str(p) for p in after],
                               "configs": table})
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", nargs="+", default=None, help="result files of the runs before a change")
    parser.add_argument("--to", nargs="+", default=None, help="result files of the runs after it")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--configs", nargs="+", default=None, help="config names (default: every shipped config)")
    parser.add_argument("--name", default="shipped_configs", help="result file name (benchmarks/results/NAME.json)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--workers", type=int, default=0, help="training.num_workers")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.to, args.name)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    runs, summary = [], {}
    work = Path(tempfile.mkdtemp(prefix="jetgnn_shipped_"))
    for name in args.configs or shipped():
        task = name.split("_")[0]
        rows = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            run = jetgnn.train(CONFIGS / f"{name}.yaml", out=work / f"{name}_seed{seed}", train=[str(DATA[task])],
                               seed=seed, progress=False,
                               overrides={"training.num_workers": args.workers} if args.workers else None)
            metrics = json.loads((run / "metrics.json").read_text())
            row = {"config": name, "seed": seed, **{k: metrics.get(k) for k in KEYS},
                   "wall_s": round(time.perf_counter() - t0, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
        aucs = np.array([r["auc"] for r in rows])
        summary[name] = {"auc_mean": float(aucs.mean()), "auc_std": float(aucs.std(ddof=1)) if len(aucs) > 1 else 0.0,
                         "aucs": aucs.tolist()}
        runs += rows
    path = write_result(args.name, {"seeds": args.seeds, "num_workers": args.workers, "data": {
        k: str(v.relative_to(ROOT)) for k, v in DATA.items()}, "summary": summary, "runs": runs})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
