"""GN1 vs a high-level tagger: the GN1-style vertexer against a DL1-style MLP on classic flavour inputs, same jets.

    python benchmarks/dl1_baseline.py --train benchmarks/.cache/flavour_20k_seed21.root \\
        --test benchmarks/.cache/flavour_10k_seed22.root [--epochs 12] [--seeds 3]

The high-level inputs (jetgnn.vertexing.high_level: impact-parameter significances and their log-likelihood-like
sum, secondary-vertex mass, energy fraction, track counts, from the tracks and the classical vertexer) are added to
copies of both files as jet_hl_* branches; configs/flavour_dl1.yaml (an MLP on them plus jet pT and eta) and
configs/flavour_vertexer.yaml are trained on the training file and evaluated on the test file. Reported per model
(mean ± std over seeds): light and c rejection at 70% (and 85%) b efficiency with D_b (f_c = 0.05), and the ratios
vertexer / DL1 that the GN1 paper quotes over DL1r (light ~1.8x, c ~2.1x at 70%). Writes
benchmarks/results/dl1_baseline.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.evaluation.evaluate import evaluate_tagger  # noqa: E402
from jetgnn.vertexing.high_level import high_level_features  # noqa: E402

KEYS = ("auc_b_vs_light", "auc_b_vs_c", "rejection_light_at_70", "rejection_c_at_70", "rejection_light_at_85",
        "rejection_c_at_85", "n_params", "train_time_s")


def with_features(path: str, work: Path) -> tuple[Path, float]:
    """A copy of ``path`` with the jet_hl_* branches; returns it and the feature jets/s."""
    out = work / f"{Path(path).stem}_hl.root"
    jets = jetgnn.read_jets(path)
    t0 = time.perf_counter()
    features = high_level_features(jets)
    speed = len(jets) / (time.perf_counter() - t0)
    if not out.exists():
        jetgnn.write_jets(out, [{**jets.columns(), **features}])
    return out, speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--epochs", type=int, default=12, help="vertexer epochs (the MLP trains 30)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "dl1")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    train, feature_speed = with_features(args.train, args.work)
    test, _ = with_features(args.test, args.work)
    test_jets = jetgnn.read_jets(test)
    models = {"dl1": ("flavour_dl1.yaml", None), "vertexer": ("flavour_vertexer.yaml", args.epochs)}
    results = {}
    for name, (config, epochs) in models.items():
        rows = []
        for seed in range(args.seeds):
            run = args.work / "runs" / f"{name}_seed{seed}"
            if not (run / "metrics.json").exists():
                jetgnn.train(HERE.parent / "configs" / config, out=run, train=[str(train)], epochs=epochs, seed=seed,
                             progress=False, overrides=[f"data.test=[{test}]"])
            metrics = json.loads((run / "metrics.json").read_text())
            metrics.update(evaluate_tagger(jetgnn.load_tagger(run), test_jets))
            rows.append({k: metrics.get(k) for k in KEYS})
            print(name, seed, rows[-1], flush=True)
        results[name] = {k: {"mean": float(np.mean([r[k] for r in rows])), "std": float(np.std([r[k] for r in rows]))}
                         for k in KEYS if all(r[k] is not None for r in rows)}
        results[name]["per_seed"] = rows
    ratios = {key: results["vertexer"][key]["mean"] / results["dl1"][key]["mean"]
              for key in ("rejection_light_at_70", "rejection_c_at_70", "rejection_light_at_85", "rejection_c_at_85")
              if key in results["vertexer"] and key in results["dl1"]}
    path = write_result("dl1_baseline", {
        "command": "python benchmarks/dl1_baseline.py " + " ".join(sys.argv[1:]), "train_file": args.train,
        "test_file": args.test, "n_test_jets": len(test_jets), "high_level_features_jets_per_s": feature_speed,
        "models": results, "vertexer_over_dl1": ratios,
        "gn1_paper_over_dl1r": {"rejection_light_at_70": 1.8, "rejection_c_at_70": 2.1}})
    print("vertexer / DL1:", {k: round(v, 2) for k, v in ratios.items()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
