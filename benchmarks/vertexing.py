"""Flavour tagging with vertex grouping: the GN1-style vertexer against its two baselines, in one run.

    python benchmarks/vertexing.py --train benchmarks/.cache/flavour_50k_seed21.root \\
        --test benchmarks/.cache/flavour_20k_seed22.root --epochs 15

(a) the same backbone trained on jet flavour only (configs/flavour_vertexer_jet_only.yaml): what the auxiliary
track-origin and vertexing tasks buy in b-tagging; (b) the classical vertexer (impact-parameter significance +
distance of closest approach), scanned over its impact-parameter cut, against the GNN's vertex efficiency and
purity, scanned over its edge threshold. Metrics on the test file; results in
benchmarks/results/vertexing_flavour.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.evaluation.evaluate import evaluate_tagger  # noqa: E402
from jetgnn.evaluation.vertexing import match_vertices  # noqa: E402
from jetgnn.vertexing import ClassicalVertexer  # noqa: E402

KEYS = ("auc", "accuracy", "auc_b_vs_light", "auc_b_vs_c", "rejection_light_at_70", "rejection_c_at_70",
        "rejection_light_at_85", "rejection_c_at_85",
        "vertex_efficiency", "vertex_purity", "track_origin_accuracy", "n_jets", "n_params", "epochs",
        "train_time_s", "train_jets_per_s", "inference_jets_per_s")


def train_and_evaluate(config: str, train: str, test: str, epochs: int, name: str, overrides: list[str]) -> Path:
    out = HERE / ".cache" / "runs" / name
    if not (out / "metrics.json").exists():
        jetgnn.train(HERE.parent / "configs" / config, out=out, epochs=epochs, progress=False,
                     overrides=[f"data.train=[{train}]", f"data.test=[{test}]", *overrides])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("overrides", nargs="*", help="key=value overrides for both neural models")
    args = parser.parse_args()
    n_train = len(jetgnn.read_jets(args.train))
    test_jets = jetgnn.read_jets(args.test)
    tag = f"{n_train // 1000}k"
    results = {}
    runs = {"vertexer": train_and_evaluate("flavour_vertexer.yaml", args.train, args.test, args.epochs,
                                           f"flavour_{tag}_vertexer", args.overrides),
            "vertexer_jet_only": train_and_evaluate("flavour_vertexer_jet_only.yaml", args.train, args.test,
                                                    args.epochs, f"flavour_{tag}_vertexer_jet_only", args.overrides)}
    for name, run in runs.items():
        metrics = json.loads((run / "metrics.json").read_text())  # training cost; metrics recomputed on the test jets
        metrics.update(evaluate_tagger(jetgnn.load_tagger(run), test_jets))
        results[name] = {k: metrics.get(k) for k in KEYS}
        print(name, results[name], flush=True)

    truth = test_jets["part_vtx_idx"]
    tagger = jetgnn.load_tagger(runs["vertexer"])
    gnn_scan = []
    for threshold in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        tagger.model.vertex_threshold = threshold
        reco = tagger.predict_tracks(test_jets)["vertex"]
        gnn_scan.append({"edge_threshold": threshold, **match_vertices(truth, reco)})
        print("gnn", gnn_scan[-1], flush=True)
    classical_scan = []
    for ip_cut in (2.0, 2.5, 3.0, 4.0, 5.0):
        for dca_cut in (3.0,):
            t0 = time.perf_counter()
            ids = ClassicalVertexer(ip_significance=ip_cut, dca_significance=dca_cut).predict(test_jets)
            elapsed = time.perf_counter() - t0
            classical_scan.append({"ip_significance": ip_cut, "dca_significance": dca_cut,
                                   "jets_per_s": len(test_jets) / elapsed, **match_vertices(truth, ids)})
            print("classical", classical_scan[-1], flush=True)
    path = write_result("vertexing_flavour", {
        "command": "python benchmarks/vertexing.py " + " ".join(sys.argv[1:]),
        "train_file": args.train, "test_file": args.test, "n_train_file_jets": n_train, "n_test_jets": len(test_jets),
        "models": results, "gnn_threshold_scan": gnn_scan, "classical_scan": classical_scan})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
