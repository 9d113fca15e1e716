"""Trigger-ready inference, part 1: int8 ONNX (dynamic and static) against fp32, on trained taggers and held-out jets.

    python benchmarks/fast_inference.py --runs pfn=RUN particlenet_lite=RUN ... --test FILE --calibration FILE
        [--calibration-jets 2000] [--threads 1] [--out-name fast_inference]

Per run and precision (fp32, int8 dynamic, int8 static calibrated on ``--calibration-jets`` jets of
``--calibration``, which should not be the test file): the AUC on the test file (the signal class against the rest;
for multiclass runs also every class's one-vs-rest AUC), the fraction of jets with the fp32 decision, the file size,
and the ONNX Runtime latency on ready inputs (one jet: median ms; 512 jets: jets/s) with ``--threads`` threads.
Graph building is not timed (benchmarks/graph_building.py). Writes benchmarks/results/<out-name>.json with the
CPU's instruction-set flags (int8 speed depends on VNNI / AVX-512).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402
from onnx_latency import jets_per_s, median_ms  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.export.onnx import OnnxTagger, export_onnx, onnx_inputs  # noqa: E402

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # pragma: no cover - not Linux
        return []
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return [flag for flag in FLAGS if flag in line.split()]


def _aucs(labels: np.ndarray, scores: np.ndarray, names: list[str]) -> dict:
    if scores.ndim == 1:
        return {"auc": float(roc_auc_score(labels == labels.max(), scores))}
    out = {"auc": float(roc_auc_score(labels == scores.shape[1] - 1, scores[:, -1]))}
    for k, name in enumerate(names):
        out[f"auc_{name}_vs_rest"] = float(roc_auc_score(labels == k, scores[:, k]))
    return out


def _timing(session: OnnxTagger, tagger, jets) -> dict:
    """ONNX Runtime on ready inputs, timed as benchmarks/onnx_latency.py times every tagger."""
    one = onnx_inputs(tagger, jets[:1])
    batch = onnx_inputs(tagger, jets[:512])
    return {"latency_1_jet_ms": median_ms(lambda: session.run(one), 200),
            "throughput_512_jets_per_s": jets_per_s(lambda: session.run(batch), 512, 10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="label=RUN_DIR")
    parser.add_argument("--test", required=True)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--calibration-jets", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-name", default="fast_inference")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.runs:
            label, run = item.split("=", 1)
            tagger = jetgnn.load_tagger(run)
            test = jetgnn.read_jets(args.test, mapping=tagger.mapping)
            calibration = jetgnn.read_jets(args.calibration, mapping=tagger.mapping, entry_stop=args.calibration_jets)
            reference = None
            rows = {}
            for precision in ("fp32", "dynamic", "static"):
                path = Path(tmp) / f"{label}_{precision}.onnx"
                export_onnx(tagger, path, quantize=None if precision == "fp32" else precision,
                            calibration_jets=calibration if precision == "static" else None)
                session = OnnxTagger(path, threads=args.threads)
                scores = session.predict(test)
                decisions = scores > 0.5 if scores.ndim == 1 else scores.argmax(1)
                reference = decisions if reference is None else reference
                rows[precision] = {**_aucs(test.labels, scores, tagger.label_names),
                                   "fp32_decision_agreement": float(np.mean(decisions == reference)),
                                   "file_kb": path.stat().st_size / 1e3,
                                   **_timing(session, tagger, test)}
                print(label, precision, {k: round(v, 4) for k, v in rows[precision].items()}, flush=True)
            for precision in ("dynamic", "static"):
                rows[precision]["auc_minus_fp32"] = rows[precision]["auc"] - rows["fp32"]["auc"]
                rows[precision]["size_ratio_fp32_over_int8"] = rows["fp32"]["file_kb"] / rows[precision]["file_kb"]
            results[label] = {"run": run, "n_test_jets": len(test), **rows}
    path = write_result(args.out_name, {"command": "python benchmarks/fast_inference.py " + " ".join(sys.argv[1:]),
                                        "cpu_flags": cpu_flags(), "threads": args.threads, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
