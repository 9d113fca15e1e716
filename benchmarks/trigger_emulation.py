"""hls4ml C++ emulation vs PyTorch for trigger taggers (issue: fast inference for triggers).

    python benchmarks/trigger_emulation.py RUN_DIR... --data FILE [--n-jets 10000] [--precision "fixed<16,6>"]

For every run (an mlp on jet features or a pfn on its max_particles slots, float or ``model.quantization``): export
the hls4ml project, build its emulation, score the same jets with both, and record argmax agreement, the largest
probability difference, the five-class accuracy and the per-class one-vs-rest AUCs of both, with the model's costs.
Results: benchmarks/results/trigger_emulation.json (``--out`` for another file).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

import jetgnn
from jetgnn.export.hls4ml import DEFAULT_PRECISION, export_hls4ml, firmware_inputs

RESULTS = Path(__file__).resolve().parent / "results"


def compare(run: Path, jets, precision: str = DEFAULT_PRECISION) -> dict:
    tagger = jetgnn.load_tagger(run)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = export_hls4ml(tagger, Path(tmp) / "hls", precision=precision)
        export_s = time.perf_counter() - t0
        inputs = firmware_inputs(tagger, jets)
        t0 = time.perf_counter()
        emulated = result.predict_proba(inputs)
        emulation_s = time.perf_counter() - t0
    reference = tagger.predict_proba(jets)
    labels = np.asarray(jets.labels)
    aucs = {}
    for k, name in enumerate(tagger.label_names):
        truth = labels == k
        aucs[name] = {"pytorch": float(roc_auc_score(truth, reference[:, k])),
                      "hls4ml": float(roc_auc_score(truth, emulated[:, k]))}
    metrics = json.loads((run / "metrics.json").read_text())
    return {"run": str(run), "model": tagger.config.model.name,
            "quantization": tagger.config.model.to_dict().get("quantization"),
            "max_particles": tagger.graph_options.get("max_particles") if tagger.config.model.name == "pfn" else None,
            "prune": tagger.config.training.to_dict().get("prune"), "n_jets": len(jets),
            "precision": None if result.quantized else precision,
            "argmax_agreement": float(np.mean(emulated.argmax(1) == reference.argmax(1))),
            "max_abs_difference": float(np.abs(emulated - reference).max()),
            "accuracy": {"pytorch": float(np.mean(reference.argmax(1) == labels)),
                         "hls4ml": float(np.mean(emulated.argmax(1) == labels))},
            "auc_vs_rest": aucs, "max_auc_difference": max(abs(a["pytorch"] - a["hls4ml"]) for a in aucs.values()),
            "export_and_compile_s": round(export_s, 1), "emulation_jets_per_s": round(len(jets) / emulation_s),
            **{key: metrics.get(key) for key in ("n_params", "n_nonzero_params", "macs_per_jet", "bops_per_jet")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--n-jets", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "trigger_emulation.json")
    parser.add_argument("--precision", default=DEFAULT_PRECISION, help="fixed-point type of a float network")
    args = parser.parse_args()
    jets = jetgnn.read_jets(args.data, entry_stop=args.n_jets)
    rows = [compare(run, jets, args.precision) for run in args.runs]
    for row in rows:
        print(f"{row['run']}: agreement {row['argmax_agreement']:.4f}, max |dp| {row['max_abs_difference']:.4f}, "
              f"max dAUC {row['max_auc_difference']:.4f}, accuracy {row['accuracy']['pytorch']:.4f} (PyTorch) / "
              f"{row['accuracy']['hls4ml']:.4f} (hls4ml)")
    import hls4ml
    import torch

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": {"platform": platform.platform(), "processor": platform.processor()},
                                    "versions": {"jetgnn": jetgnn.__version__, "torch": torch.__version__,
                                                 "hls4ml": hls4ml.__version__},
                                    "data": args.data, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
