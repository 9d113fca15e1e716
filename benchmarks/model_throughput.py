"""Training and inference throughput of every model of the zoo, and parameter counts.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \\
    python benchmarks/model_throughput.py [--file data/top_2k.root] [--batch-size 128] [--steps 4]

Default model sizes (the configs' graph options: kNN k=16 / 7 for ParticleNet(-Lite), ΔR<0.4 for the MPNN,
no edges for the others; 64 particles). Graphs are built once beforehand: the numbers are the model's own
cost per jet (forward + backward + AdamW step for training, forward under no_grad for inference). Writes
benchmarks/results/model_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.graphs.batching import select_graphs  # noqa: E402
from jetgnn.models import MODELS, InputSpec, build_model  # noqa: E402

GRAPHS = {
    "particlenet": {"edges": "knn", "k": 16},
    "particlenet_lite": {"edges": "knn", "k": 7},
    "mpnn": {"edges": "delta_r", "radius": 0.4},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(Path(__file__).resolve().parent.parent / "data" / "top_2k.root"))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--inference-batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    jets = jetgnn.read_jets(args.file)
    results = {}
    for name in MODELS:
        options = GRAPHS.get(name, {"edges": "none", "with_edge_features": False})
        graphs = jetgnn.build_graphs(jets, max_particles=64, **options)
        torch.manual_seed(0)
        model = build_model(name, InputSpec.from_batch(graphs), 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batches = [select_graphs(graphs, range(i * args.batch_size, (i + 1) * args.batch_size))
                   for i in range(args.steps + 1)]
        model.train()
        for k, batch in enumerate(batches):
            if k == 1:
                t0 = time.perf_counter()
            optimizer.zero_grad()
            F.cross_entropy(model(batch), batch.y).backward()
            optimizer.step()
        train_rate = args.steps * args.batch_size / (time.perf_counter() - t0)
        model.eval()
        infer = select_graphs(graphs, range(args.inference_batch_size))
        with torch.no_grad():
            model(infer)
            t0 = time.perf_counter()
            for _ in range(2):
                model(infer)
            infer_rate = 2 * args.inference_batch_size / (time.perf_counter() - t0)
        results[name] = {"n_params": int(sum(p.numel() for p in model.parameters())),
                         "train_jets_per_s": round(train_rate, 1), "inference_jets_per_s": round(infer_rate, 1),
                         "graph": options}
        print(f"{name:18s} {results[name]['n_params']:9d} params  train {train_rate:8.1f} jets/s  "
              f"inference {infer_rate:8.1f} jets/s")
    path = write_result("model_throughput", {
        "command": "python benchmarks/model_throughput.py " + " ".join(sys.argv[1:]),
        "torch_threads": torch.get_num_threads(), "batch_size": args.batch_size,
        "malloc_env": {k: os.environ.get(k) for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")},
        "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
