"""``training.compile`` on or off: training jets/s of every neural tagger family, through ``jetgnn train``.

    python benchmarks/compile_training.py [--models pfn transformer ...] [--epochs 3] [--accelerator cpu]

Each model trains twice from the same seed on the bundled top jets (qg for EFN and MLP, as the shipped configs),
once eagerly and once with ``training.compile=true`` (``torch.compile(dynamic=True)`` of the forward pass), in
fresh processes so that no compiled code is shared. Recorded per run: the first epoch's training jets/s (it
pays the compilation), the mean over the later epochs (steady state), the wall time of the whole command and the
test AUC (the compiled run must match the eager one). ``--accelerator gpu`` (plus ``--precision bf16-mixed``)
measures the same on a GPU. Writes benchmarks/results/compile_training.json (``--result`` renames it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASK = {"efn": "qg", "mlp": "qg"}  # the other families: top
MODELS = ("pfn", "efn", "mlp", "transformer", "particlenet_lite", "particlenet", "mpnn")


def _history(run: Path) -> list[dict]:
    from jetgnn.training.history import read_history

    return read_history(run / "history.csv")


def _train(model: str, compile_: bool, epochs: int, extra: list[str], work: Path) -> dict:
    task = TASK.get(model, "top")
    run = work / f"{model}_{'compiled' if compile_ else 'eager'}"
    cmd = [str(Path(sys.executable).parent / "jetgnn"), "train", str(ROOT / "configs" / f"{task}_{model}.yaml"),
           "--train", str(ROOT / "data" / f"{task}_2k.root"), "--out", str(run), "--epochs", str(epochs), "-q",
           "training.patience=1000", f"training.compile={str(compile_).lower()}", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{model} (compile={compile_}) failed:\n{proc.stderr[-2000:]}")
    rates = [row["train_jets_per_s"] for row in _history(run)]
    metrics = json.loads((run / "metrics.json").read_text())
    return {"first_epoch_jets_per_s": round(rates[0], 1),
            "later_epochs_jets_per_s": round(sum(rates[1:]) / len(rates[1:]), 1) if len(rates) > 1 else None,
            "command_wall_s": round(wall, 1), "auc": round(metrics["auc"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--precision", default="32-true")
    parser.add_argument("--result", default="compile_training")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch pays the compilation)")
    extra = [f"training.accelerator={args.accelerator}", f"training.precision={args.precision}"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            eager = _train(model, False, args.epochs, extra, Path(tmp))
            compiled = _train(model, True, args.epochs, extra, Path(tmp))
            speedup = (compiled["later_epochs_jets_per_s"] / eager["later_epochs_jets_per_s"]
                       if eager["later_epochs_jets_per_s"] else None)
            results[model] = {"eager": eager, "compiled": compiled,
                              "steady_state_speedup": round(speedup, 2) if speedup else None,
                              "command_speedup": round(eager["command_wall_s"] / compiled["command_wall_s"], 2)}
            print(model, json.dumps(results[model]), flush=True)
    import torch

    device = torch.cuda.get_device_name(0) if args.accelerator != "cpu" and torch.cuda.is_available() else "cpu"
    path = write_result(args.result, {
        "command": "python benchmarks/compile_training.py " + " ".join(sys.argv[1:]),
        "settings": {"epochs": args.epochs, "accelerator": args.accelerator, "precision": args.precision,
                     "device": device, "torch_threads": torch.get_num_threads(),
                     "data": "bundled data/top_2k.root (qg_2k.root for efn, mlp), shipped configs"},
        "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
