"""Shared fixtures: the bundled samples in data/ and small freshly generated files."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import pytest
import uproot

DATA = Path(__file__).resolve().parent.parent / "data"
#: small hyper-parameters of every neural model, so that tests train and run in seconds
SMALL_MODEL_PARAMS = {
    "particlenet": {"k": 4, "conv": [[8, 8], [16, 16]], "fc": [16]},
    "particlenet_lite": {},
    "mpnn": {"hidden": 16, "n_blocks": 2},
    "pfn": {"phi": [16, 16], "f": [16]},
    "efn": {"phi": [16, 16], "f": [16]},
    "transformer": {"embed": 16, "heads": 2, "layers": 2, "pair_hidden": 8},
    "mlp": {"n_particles": 16, "hidden": [32, 32]},
    "vertexer": {"embed": 16, "heads": 2, "layers": 2, "pair_hidden": 8, "edge_hidden": 16},
}
BUNDLED = {"qg": DATA / "qg_2k.root", "top": DATA / "top_2k.root", "flavour": DATA / "flavour_2k.root"}


def read_tree(path) -> ak.Array:
    with uproot.open(path) as fin:
        return fin["tree"].arrays()


@pytest.fixture(scope="session")
def bundled():
    """task -> awkward array of every branch of the bundled sample."""
    missing = [str(p) for p in BUNDLED.values() if not p.exists()]
    if missing:
        pytest.fail(f"bundled samples missing: {missing} (run `make data`)")
    return {task: read_tree(path) for task, path in BUNDLED.items()}


@pytest.fixture(scope="session")
def generated_top(tmp_path_factory):
    """The issue's acceptance command, run once: 200 top jets, seed 1, 2 workers (through the CLI)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("gen") / "x.root"
    proc = subprocess.run(
        [sys.executable, "-m", "jetgnn", "generate", "top", "--n-jets", "200", "--out", str(out), "--seed", "1",
         "--workers", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc
