"""Shared fixtures: the bundled samples in data/ and small freshly generated files."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import NamedTuple

import awkward as ak
import pytest
import uproot

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = DATA.parent


class CliResult(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args) -> CliResult:
    """``jetgnn ARGS`` in this process (from the repository root), as a subprocess would report it: exit code,
    stdout, stderr. For the error paths: a fresh interpreter spends ~7 s importing torch, PyG and Lightning per
    call; the end-to-end CLI tests keep running ``python -m jetgnn`` as a real process."""
    from jetgnn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse errors
            code = exit_.code if isinstance(exit_.code, int) else 1
    return CliResult(int(code or 0), out.getvalue(), err.getvalue())


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


# -- jets with an id: for tests of which jets a dataset or a training serves ---------------------------------
N_IDENTIFIED = 400


def identified_jets(n: int = N_IDENTIFIED):
    """Bundled top jets whose jet_eta is their index / 1000: a unique id that survives graph building (it is
    the jet_eta global) and the rotate augmentation, and is exact in float32."""
    import numpy as np

    import jetgnn

    jets = jetgnn.read_jets(BUNDLED["top"], entry_stop=n)
    return jetgnn.Jets(ak.with_field(jets.arrays, (np.arange(n) / 1000).astype(np.float32), "jet_eta"),
                       jets.label_names)


def jet_ids(batch) -> list[int]:
    """The ids of the jets of a graph batch (or of a pair of views)."""
    import torch

    batch = batch[0] if isinstance(batch, (list, tuple)) else batch
    return torch.round(batch.u[:, batch.u_names.index("jet_eta")] * 1000).long().tolist()


@pytest.fixture(scope="session")
def identified_file(tmp_path_factory):
    import jetgnn

    jets = identified_jets()
    path = tmp_path_factory.mktemp("ids") / "ids.root"
    jetgnn.write_jets(path, [{f: jets[f] for f in jets.fields}])
    return path


def record_jets_callback(path=None):
    """A Lightning callback that records the ids of the training jets of every epoch (``.seen``: epoch -> ids)
    and, with ``path``, writes them as JSON (``{path}.rank<r>.json``) when the fit ends."""
    import json

    import lightning as L

    class RecordJets(L.Callback):
        def __init__(self):
            self.seen: dict[int, list[int]] = {}

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.seen.setdefault(trainer.current_epoch, []).extend(jet_ids(batch))

        def on_fit_end(self, trainer, pl_module):
            if path is not None:
                Path(f"{path}.rank{trainer.global_rank}.json").write_text(json.dumps(self.seen))

    return RecordJets()
