"""Training throughput with DataLoader workers: ``training.num_workers`` 0 vs 2 (stock settings, no malloc tuning).

    python benchmarks/dataloader_workers.py [--workers 0 2] [--epochs 3] [--repeats 2]

Trains on the bundled top sample (1600 training jets, configs as shipped but a few epochs): the in-memory
datasets of supervised training (graphs built once; a worker only slices batches) for PFN, ParticleNet-Lite and
the transformer, and JetCLR pre-training of the transformer, whose pairs dataset augments the jets and builds
both views' graphs for every batch (the work a worker takes off the training process). Reports the training
jets/s of history.csv (wall time of the training epochs, validation excluded), the best of ``--repeats`` runs.
Writes benchmarks/results/dataloader_workers.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "top_2k.root"
RUNS = {
    "pfn": ("train", ROOT / "configs" / "top_pfn.yaml"),
    "particlenet_lite": ("train", ROOT / "configs" / "top_particlenet_lite.yaml"),
    "transformer": ("train", ROOT / "configs" / "top_transformer.yaml"),
    "jetclr_transformer": ("pretrain", ROOT / "configs" / "jetclr_top.yaml"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--runs", nargs="+", default=list(RUNS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jetgnn_workers_"))
    results = {}
    for name in args.runs:
        kind, config = RUNS[name]
        results[name] = {}
        for workers in args.workers:
            best = 0.0
            for repeat in range(args.repeats):
                out = work / f"{name}_w{workers}_r{repeat}"
                overrides = {"training.num_workers": workers, "training.patience": 100}
                if kind == "train":
                    run = jetgnn.train(config, out=out, train=[str(DATA)], epochs=args.epochs, progress=False,
                                       overrides=overrides)
                else:
                    run = jetgnn.pretrain(config, out=out, data=[str(DATA)], epochs=args.epochs, progress=False,
                                          overrides=overrides)
                best = max(best, json.loads((run / "metrics.json").read_text())["train_jets_per_s"])
            results[name][f"workers_{workers}"] = round(best, 1)
            print(name, workers, round(best, 1), flush=True)
    path = write_result("dataloader_workers", {"data": str(DATA.relative_to(ROOT)), "epochs": args.epochs,
                                               "repeats": args.repeats, "train_jets_per_s": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
