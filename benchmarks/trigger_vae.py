"""The trigger anomaly model: a quantisation-aware VAE on jet features, its clipped-KL score, float vs fixed point,
and its hls4ml emulation.

    python benchmarks/trigger_vae.py --train FILE --test FILE [--seeds 3] [--bits 8 6] [--epochs 30]

Trains configs/anomaly_feature_vae.yaml (five jet-structure features, background g and q jets of five-class
files: ``jetgnn generate multiclass``) in float and with ``model.quantization.bits`` for every ``--bits``, for
``--seeds`` seeds, and scores the test file's jets with the clipped KL (kl_mu): per anomaly class (W, Z, t) the
AUC against g/q and the signal efficiency at a background efficiency of 1e-2 (a trigger's rate budget), mean and
standard deviation over seeds. For every quantised run of seed 0 the firmware (encoder + mu head) is exported
with hls4ml and emulated on the test jets (largest score difference, same decisions at the 1e-2 threshold), and
the firmware's costs (non-zero parameters, MACs, BOPs per jet) are recorded. Writes
benchmarks/results/trigger_vae.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.anomaly import train_anomaly  # noqa: E402
from jetgnn.evaluation.anomaly import anomaly_metrics  # noqa: E402
from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs, firmware_model  # noqa: E402
from jetgnn.models.complexity import model_cost  # noqa: E402

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "anomaly_feature_vae.yaml"
SIGNALS = ("W", "Z", "t")


def _scores(run: Path, jets, labels, names) -> dict:
    tagger = jetgnn.load_tagger(run)
    score = tagger.anomaly_score(jets)
    background = score[np.isin(labels, [names.index("g"), names.index("q")])]
    return {signal: anomaly_metrics(background, score[labels == names.index(signal)]) for signal in SIGNALS}


def _firmware(run: Path, jets) -> dict:
    tagger = jetgnn.load_tagger(run)
    inputs = firmware_inputs(tagger, jets)
    cost = model_cost(firmware_model(tagger.model), torch.as_tensor(inputs))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = export_hls4ml(tagger, Path(tmp) / "hls")
        export_s = time.perf_counter() - t0
        emulated = result.anomaly_score(inputs)
    reference = tagger.anomaly_score(jets)
    cut = float(np.quantile(reference, 0.99))
    return {"n_jets": len(jets), "max_abs_score_difference": float(np.abs(emulated - reference).max()),
            "reference_score_max": float(reference.max()),
            "same_decision_at_1e-2": float(np.mean((emulated > cut) == (reference > cut))),
            "export_and_compile_s": round(export_s, 1), **cost.to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 6])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="jetgnn_trigger_vae_"))
    base = yaml.safe_load(CONFIG.read_text())
    jets = jetgnn.read_jets(args.test)
    labels, names = np.asarray(jets.labels), list(jets.label_names)
    rows = {}
    for precision in ["float", *args.bits]:
        per_seed, firmware, train_s = [], None, []
        for seed in range(args.seeds):
            config = {**base, "model": {**base["model"], "quantization": None if precision == "float" else
                                        {**base["model"]["quantization"], "bits": precision}}}
            config["data"] = {**base["data"], "train": [args.train]}
            config["training"] = {**base["training"], "seed": seed, "epochs": args.epochs}
            t0 = time.perf_counter()
            run = train_anomaly(config, work / f"{precision}_seed{seed}", progress=False)
            train_s.append(time.perf_counter() - t0)
            per_seed.append(_scores(run, jets, labels, names))
            if seed == 0:
                firmware = _firmware(run, jets) if precision != "float" else \
                    model_cost(firmware_model(jetgnn.load_tagger(run).model),
                               torch.as_tensor(firmware_inputs(jetgnn.load_tagger(run), jets))).to_dict()
        summary = {}
        for signal in SIGNALS:
            for key in ("auc", "signal_efficiency_at_bkg_1e-2"):
                values = [m[signal][key] for m in per_seed]
                summary[f"{signal}_{key}"] = {"mean": float(np.mean(values)), "std": float(np.std(values)),
                                              "seeds": values}
        rows[str(precision)] = {"metrics": summary, "firmware": firmware, "train_s_mean": float(np.mean(train_s))}
        print(precision, {k: round(v["mean"], 3) for k, v in summary.items()}, flush=True)
    path = write_result("trigger_vae", {"config": str(CONFIG.name), "train": args.train, "test": args.test,
                                        "n_test_jets": len(jets), "seeds": args.seeds, "epochs": args.epochs,
                                        "results": rows})
    print("\n| precision | " + " | ".join(f"AUC {s}" for s in SIGNALS) + " | " +
          " | ".join(f"ε_S({s}) at ε_B 1e-2" for s in SIGNALS) + " | BOPs/jet | emulation max Δscore |")
    print("|---" * (2 + 2 * len(SIGNALS) + 1) + "|")
    for precision, row in rows.items():
        m, fw = row["metrics"], row["firmware"]
        cells = [f"{m[f'{s}_auc']['mean']:.3f} ± {m[f'{s}_auc']['std']:.3f}" for s in SIGNALS]
        cells += [f"{m[f'{s}_signal_efficiency_at_bkg_1e-2']['mean']:.3f}" for s in SIGNALS]
        emulation = f"{fw['max_abs_score_difference']:.2g}" if "max_abs_score_difference" in fw else "—"
        print(f"| {precision} | " + " | ".join(cells) + f" | {fw['bops_per_jet']:.3g} | {emulation} |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
