"""``make quickstart``: the main job on the bundled samples in ``data/``.

Prints a physics summary of the bundled ROOT samples, then trains a small GNN (ParticleNet-Lite) on the
bundled top sample for a few epochs and prints its metrics (run directory: runs/quickstart_top).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from jetgnn.summary import summarize_files

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RUN = ROOT / "runs" / "quickstart_top"


def main() -> int:
    files = sorted(DATA.glob("*.root"))
    if not files:
        print(f"no bundled samples in {DATA}: run `make data`", file=sys.stderr)
        return 2
    print(f"jetgnn quickstart: summary of the bundled samples in {DATA}\n")
    print(summarize_files([str(f) for f in files]))

    from jetgnn.workflows import train

    print(f"\ntraining ParticleNet-Lite on {DATA / 'top_2k.root'} (1600 jets, 400 for validation) ...")
    if RUN.exists():
        shutil.rmtree(RUN)  # the quickstart's own run directory, remade every time
    run = train(ROOT / "configs" / "top_particlenet_lite.yaml", out=RUN, epochs=8,
                overrides={"data.train": [str(DATA / "top_2k.root")]}, progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    print(f"\nrun directory: {run}")
    for key in ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "n_jets", "n_params", "train_time_s",
                "train_jets_per_s", "inference_jets_per_s"):
        value = metrics[key]
        print(f"  {key:22s} {value:.4g}" if isinstance(value, float) else f"  {key:22s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
