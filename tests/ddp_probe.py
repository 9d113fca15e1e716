"""Run by tests/test_training.py: a DDP training (``training.devices=2``, ``strategy=ddp``, DataLoader workers) that
records the jets every rank trains on per epoch. Lightning starts the second rank by running this script again.

    python tests/ddp_probe.py TRAIN_FILE RUN_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jetgnn  # noqa: E402
from tests.conftest import SMALL_MODEL_PARAMS, record_jets_callback  # noqa: E402

if __name__ == "__main__":
    train_file, run = sys.argv[1], Path(sys.argv[2])
    jetgnn.train(ROOT / "configs" / "top_pfn.yaml", out=run, train=[train_file], epochs=2, progress=False,
                 overrides={"training.devices": 2, "training.strategy": "ddp", "training.num_workers": 2,
                            "data.batch_size": 32, "data.graph.max_particles": 32,
                            "model.params": SMALL_MODEL_PARAMS["pfn"]},
                 callbacks=[record_jets_callback(run / "seen")])
