"""JetCLR on generated top jets: linear test of a pre-trained vs a random encoder, and the label-efficiency curve.

    python benchmarks/jetclr.py --data benchmarks/.cache/top_20k_seed7.root \\
        --test benchmarks/.cache/top_10k_seed9.root --pretrain-epochs 10 --epochs 8

1. ``jetgnn pretrain configs/jetclr_top.yaml`` on ``--data`` (labels unused).
2. Linear test: a linear head on the frozen encoder, for the pre-trained encoder and for the same encoder before
   pre-training (random initialisation), through ``jetgnn train`` with ``model.encoder``.
3. Label efficiency: the transformer trained from scratch and the pre-trained encoder fine-tuned, on 1%, 10% and
   100% of the labelled training jets (``data.train_fraction``).
Metrics on ``--test``; run directories in benchmarks/.cache/runs/jetclr_*; results in
benchmarks/results/jetclr_top.json.
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
from jetgnn.training.config import parse_override  # noqa: E402

CONFIGS = HERE.parent / "configs"
KEYS = ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "n_train_jets", "n_trainable_params", "epochs",
        "train_time_s", "train_jets_per_s")


def _run(name: str, **kwargs) -> dict:
    out = HERE / ".cache" / "runs" / name
    if not (out / "metrics.json").exists():
        jetgnn.train(CONFIGS / "top_transformer.yaml", out=out, progress=False, **kwargs)
    metrics = json.loads((out / "metrics.json").read_text())
    row = {k: metrics.get(k) for k in KEYS}
    print(name, row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="jets for pre-training and (labelled) training")
    parser.add_argument("--test", required=True)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the encoder (e.g. model.params.embed=32)")
    args = parser.parse_args()
    tag = f"{len(jetgnn.read_jets(args.data)) // 1000}k"
    encoder = HERE / ".cache" / "runs" / f"jetclr_top_{tag}_pretrain"
    if not (encoder / "metrics.json").exists():
        jetgnn.pretrain(CONFIGS / "jetclr_top.yaml", out=encoder, data=[args.data], epochs=args.pretrain_epochs,
                        progress=False, overrides=args.overrides)
    pretrain_metrics = json.loads((encoder / "metrics.json").read_text())
    print("pretrain", pretrain_metrics, flush=True)
    common = {"data.train": [args.data], "data.test": [args.test]}
    architecture = dict(parse_override(o) for o in args.overrides if o.startswith("model.params."))
    linear = {}
    for which in ("best", "initial"):
        linear["pretrained" if which == "best" else "random"] = _run(
            f"jetclr_top_{tag}_linear_{which}", epochs=args.epochs,
            overrides={**common, "model.encoder": str(encoder), "model.freeze_encoder": True,
                       "model.encoder_checkpoint": which, "model.params.linear_head": True, "training.lr": 0.005})
    curve = []
    for fraction in args.fractions:
        row = {"fraction": fraction}
        row["supervised"] = _run(f"jetclr_top_{tag}_supervised_{fraction:g}", epochs=args.epochs,
                                 overrides={**common, **architecture, "data.train_fraction": fraction})
        row["fine_tuned"] = _run(f"jetclr_top_{tag}_finetune_{fraction:g}", epochs=args.epochs,
                                 overrides={**common, "model.encoder": str(encoder), "data.train_fraction": fraction,
                                            "training.lr": 0.0002})
        curve.append(row)
    path = write_result("jetclr_top", {
        "command": "python benchmarks/jetclr.py " + " ".join(sys.argv[1:]),
        "data": args.data, "test": args.test, "pretraining": pretrain_metrics, "linear_test": linear,
        "label_efficiency": curve})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
