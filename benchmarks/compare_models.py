"""Train several taggers on one generated file and compare them (a larger run than the bundled samples).

    python benchmarks/compare_models.py --task top --file benchmarks/.cache/top_20k_seed7.root \\
        --models linear pfn efn mlp particlenet_lite transformer --epochs 8

Each model uses configs/<task>_<model>.yaml with the given file as training data (80/20 train/validation
split, metrics on the validation jets). Run directories go to benchmarks/.cache/runs/; the table goes to
benchmarks/results/compare_<task>_<n>k.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="top")
    parser.add_argument("--file", required=True)
    parser.add_argument("--models", nargs="+", default=["linear", "pfn", "efn", "mlp", "particlenet_lite"])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every model")
    args = parser.parse_args()
    n_jets = len(jetgnn.read_jets(args.file))
    table = {}
    for model in args.models:
        out = HERE / ".cache" / "runs" / f"{args.task}_{n_jets // 1000}k_{model}"
        if (out / "metrics.json").exists():
            metrics = json.loads((out / "metrics.json").read_text())
        else:
            overrides = [f"data.train=[{args.file}]", *args.overrides]
            run = jetgnn.train(HERE.parent / "configs" / f"{args.task}_{model}.yaml", out=out, epochs=args.epochs,
                               overrides=overrides, progress=False)
            metrics = json.loads((run / "metrics.json").read_text())
        table[model] = {k: metrics.get(k) for k in ("auc", "accuracy", "rejection_at_30", "rejection_at_50",
                                                     "n_jets", "n_params", "epochs", "train_time_s",
                                                     "train_jets_per_s", "inference_jets_per_s")}
        print(model, table[model], flush=True)
    path = write_result(f"compare_{args.task}_{n_jets // 1000}k", {
        "command": "python benchmarks/compare_models.py " + " ".join(sys.argv[1:]),
        "file": args.file, "n_jets": n_jets, "epochs": args.epochs, "results": table})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
