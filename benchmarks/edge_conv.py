"""ParticleNet's EdgeConv: jetgnn's factorised operator against PyG's EdgeConv, same weights, same batches.

    python benchmarks/edge_conv.py [--file data/top_2k.root] [--rounds 3]

For ParticleNet and ParticleNet-Lite (default sizes, kNN k = 16 / 7, 64 particles, batches of 128 jets): one
training epoch (forward, backward, Adam step) and one prediction pass (eval, no_grad) over the file's jets with
:class:`~jetgnn.models.layers.factorised_edge_conv.FactorisedEdgeConv` and with PyG's
``EdgeConv(nn, aggr="mean")`` on the same ``nn``, interleaved ``--rounds`` times (the host is noisy: compare the
medians). Graphs are built once beforehand. Writes benchmarks/results/edge_conv.json.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_geometric.nn import EdgeConv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.graphs.batching import select_graphs  # noqa: E402
from jetgnn.models import InputSpec, build_model  # noqa: E402

K = {"particlenet": 16, "particlenet_lite": 7}


def _epoch(model, batches) -> float:
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for batch in batches:
        optimizer.zero_grad()
        F.cross_entropy(model(batch), batch.y).backward()
        optimizer.step()
    return sum(b.num_graphs for b in batches) / (time.perf_counter() - start)


@torch.no_grad()
def _predict(model, batches) -> float:
    model.eval()
    start = time.perf_counter()
    for batch in batches:
        model(batch)
    return sum(b.num_graphs for b in batches) / (time.perf_counter() - start)


class _PygEdgeConv(EdgeConv):
    """PyG's EdgeConv (mean) on ``nn``, called as EdgeConvBlock calls its operator (the kNN grid, None on graph
    Batches, is not used)."""

    def __init__(self, nn: torch.nn.Module):
        super().__init__(torch.nn.Identity(), aggr="mean")
        self.nn = nn  # after construction: EdgeConv(nn) would re-initialise nn

    def forward(self, x, edge_index, grid=None):
        return super().forward(x, edge_index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(Path(__file__).resolve().parent.parent / "data" / "top_2k.root"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    jets = jetgnn.read_jets(args.file)
    results = {}
    for name, k in K.items():
        graphs = jetgnn.build_graphs(jets, max_particles=64, edges="knn", k=k)
        batches = [select_graphs(graphs, range(i, min(i + args.batch_size, len(jets))))
                   for i in range(0, len(jets), args.batch_size)]
        torch.manual_seed(0)
        factorised = build_model(name, InputSpec.from_batch(graphs), 2)
        pyg = copy.deepcopy(factorised)
        for block in pyg.blocks:
            nn = block.conv.nn
            block.conv = _PygEdgeConv(nn)
        with torch.no_grad():  # the same weights: the scores agree to float rounding
            factorised.eval()
            pyg.eval()
            difference = float((factorised(batches[0]) - pyg(batches[0])).abs().max())
        rates = {key: [] for key in ("train_pyg", "train_factorised", "predict_pyg", "predict_factorised")}
        for _ in range(args.rounds):
            rates["train_pyg"].append(_epoch(pyg, batches))
            rates["train_factorised"].append(_epoch(factorised, batches))
            rates["predict_pyg"].append(_predict(pyg, batches))
            rates["predict_factorised"].append(_predict(factorised, batches))
        medians = {f"{key}_jets_per_s": round(statistics.median(values), 1) for key, values in rates.items()}
        results[name] = {**medians, "rounds": {key: [round(v, 1) for v in values] for key, values in rates.items()},
                         "train_speedup": round(medians["train_factorised_jets_per_s"]
                                                / medians["train_pyg_jets_per_s"], 2),
                         "predict_speedup": round(medians["predict_factorised_jets_per_s"]
                                                  / medians["predict_pyg_jets_per_s"], 2),
                         "max_abs_logit_difference": difference, "k": k}
        print(f"{name:17s} train {medians['train_pyg_jets_per_s']:8.1f} -> "
              f"{medians['train_factorised_jets_per_s']:8.1f} jets/s  "
              f"predict {medians['predict_pyg_jets_per_s']:8.1f} -> "
              f"{medians['predict_factorised_jets_per_s']:8.1f} jets/s  |dlogit| {difference:.1e}")
    path = write_result("edge_conv", {
        "command": "python benchmarks/edge_conv.py " + " ".join(sys.argv[1:]), "n_jets": len(jets),
        "torch_threads": torch.get_num_threads(), "batch_size": args.batch_size, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
