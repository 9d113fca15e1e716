"""Training, evaluation and prediction through the CLI and the API, on the bundled samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import uproot

import jetgnn
from jetgnn.errors import InputError
from jetgnn.training.history import read_history

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, record_jets_callback, run_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SMALL = SMALL_MODEL_PARAMS
QUICK = {"data.max_jets": 240, "data.batch_size": 64, "data.graph.max_particles": 32}
METRIC_KEYS = ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "n_jets", "n_params", "train_time_s",
               "train_jets_per_s", "inference_jets_per_s")


def _jetgnn(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "jetgnn", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("model", [name for name in SMALL if name != "vertexer"])  # vertexer: test_vertexing
def test_every_model_trains_and_predicts_through_the_api(tmp_path, model):
    task = "qg" if model in ("efn", "mlp") else "top"
    run = jetgnn.train(CONFIGS / f"{task}_{model}.yaml", out=tmp_path / "run", epochs=1, progress=False,
                       overrides={**QUICK, "data.train": [str(BUNDLED[task])], "model.params": SMALL[model]})
    for name in ("config.yaml", "checkpoints/last.ckpt", "checkpoints/best.ckpt", "history.csv", "metrics.json",
                 "roc.png", "scores.png", "loss.png"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(metrics[k] is not None for k in METRIC_KEYS)
    assert 0 <= metrics["auc"] <= 1 and metrics["n_jets"] == 48
    tagger = jetgnn.load_tagger(run)
    jets = jetgnn.read_jets(BUNDLED[task], entry_stop=50)
    scores = tagger.predict(jets)
    assert scores.shape == (50,) and np.all((scores >= 0) & (scores <= 1))
    batch = jetgnn.build_graphs(jets, **tagger.graph_options)
    np.testing.assert_allclose(tagger.predict_batch(batch), scores, rtol=1e-5, atol=1e-6)
    assert tagger.config["model"]["name"] == model and isinstance(tagger.model, torch.nn.Module)


def test_cli_train_evaluate_predict(tmp_path):
    run = tmp_path / "cli_run"
    proc = _jetgnn("train", CONFIGS / "top_particlenet_lite.yaml", "--train", BUNDLED["top"], "--out", run,
                   "--epochs", "1", "-q", "data.max_jets=300", "data.graph.max_particles=32")
    assert proc.returncode == 0, proc.stderr
    assert "auc" in proc.stdout and "rejection_at_30" in proc.stdout
    proc = _jetgnn("evaluate", run, "--data", BUNDLED["top"], "--out", tmp_path / "eval")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n_jets"] == 2000 and (tmp_path / "eval" / "roc.png").is_file()
    proc = _jetgnn("predict", run, "--data", BUNDLED["top"], "--out", tmp_path / "scores.root")
    assert proc.returncode == 0, proc.stderr
    with uproot.open(tmp_path / "scores.root") as fin:
        tree = fin["tree"]
        assert tree.num_entries == 2000
        for branch in ("score_QCD", "score_Tbqq", "jet_pt", "jet_mass", "jet_label", "label_Tbqq"):
            assert branch in tree.keys(), branch
        scores = tree.arrays(["score_QCD", "score_Tbqq"], library="np")
    np.testing.assert_allclose(scores["score_QCD"] + scores["score_Tbqq"], 1, rtol=1e-5)


def test_resume_continues_without_losing_epochs(tmp_path):
    overrides = {**QUICK, "data.train": [str(BUNDLED["top"])], "model.params": SMALL["pfn"]}
    run = jetgnn.train(CONFIGS / "top_pfn.yaml", out=tmp_path / "r", epochs=1, overrides=overrides, progress=False)
    first = read_history(run / "history.csv")
    jetgnn.train(CONFIGS / "top_pfn.yaml", out=run, epochs=2, resume=True, overrides=overrides, progress=False)
    rows = read_history(run / "history.csv")
    assert [r["epoch"] for r in rows] == [0, 1] and rows[0] == first[0]
    with pytest.raises(InputError, match="already holds a run"):
        jetgnn.train(CONFIGS / "top_pfn.yaml", out=run, epochs=1, overrides=overrides, progress=False)
    with pytest.raises(InputError, match="no checkpoint to resume"):
        jetgnn.train(CONFIGS / "top_pfn.yaml", out=tmp_path / "new", resume=True, overrides=overrides)


def test_checkpoints_load_with_weights_only(tmp_path):
    run = jetgnn.train(CONFIGS / "top_efn.yaml", out=tmp_path / "w", epochs=1, progress=False,
                       overrides={**QUICK, "data.train": [str(BUNDLED["top"])], "model.params": SMALL["efn"]})
    for name in ("best", "last"):
        ckpt = torch.load(run / "checkpoints" / f"{name}.ckpt", weights_only=True)
        hp = ckpt["hyper_parameters"]
        assert hp["config"]["model"]["name"] == "efn" and hp["label_names"] == ["QCD", "Tbqq"]
        assert "x_names" in hp["spec"] and hp["config"]["data"]["graph"]["radius"] == 0.8


@pytest.mark.parametrize("override,message", [
    ("training.epoch=3", "unknown key 'training.epoch'"),
    ("training.epochs=three", "'training.epochs' should be a int"),
    ("training.lr=-1", "'training.lr' must be positive"),
    ("training.schedule=linear", "'training.schedule' must be one of"),
    ("model.params.kk=3", "unknown key 'model.params.kk'"),
    ("data.val_fraction=1.5", "'data.val_fraction' must be in"),
])
def test_config_errors_are_one_line(tmp_path, override, message):
    proc = run_cli("train", CONFIGS / "top_pfn.yaml", "--out", tmp_path / "x", override)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_scoring_imports_neither_lightning_nor_scipy_sparse():
    """Scoring validates a run's config but never trains: it must not pay Lightning's import (~2.5 s) or
    scipy.sparse.csgraph's (~0.6 s, the vertexer's grouping); the strategies accepted without Lightning are all
    in Lightning's registry, and an unknown one still fails."""
    from lightning.pytorch.strategies import StrategyRegistry

    from jetgnn.training.config import COMMON_STRATEGIES

    assert COMMON_STRATEGIES - {"auto"} <= set(StrategyRegistry.available_strategies())
    code = ("import sys, jetgnn.evaluation.predict, jetgnn.tagger\n"
            "from jetgnn.training.config import load_config, resolve_config\n"
            f"for strategy in ('auto', 'ddp'):\n"
            f"    resolve_config(load_config({str(CONFIGS / 'top_particlenet_lite.yaml')!r}), {{}},"
            " {'training.strategy': strategy})\n"
            "print(sorted(m for m in ('lightning', 'scipy.sparse.csgraph') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    with pytest.raises(InputError, match="training.strategy"):
        from jetgnn.training.config import load_config, resolve_config

        resolve_config(load_config(CONFIGS / "top_particlenet_lite.yaml"), {}, {"training.strategy": "ddp_magic"})


@pytest.mark.parametrize("command", [["train"], ["pretrain"], ["anomaly", "train"], ["benchmark"]])
def test_a_missing_config_fails_before_torch_is_imported(tmp_path, command):
    code = ("import sys\nfrom jetgnn.cli import main\n"
            f"rc = main({[*command, str(tmp_path / 'nope.yaml'), '--out', str(tmp_path / 'r')]!r})\n"
            "print(rc, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.stdout.split() == ["2", "False"], proc.stdout + proc.stderr
    assert "config file not found" in proc.stderr and str(tmp_path / "nope.yaml") in proc.stderr


def test_missing_config_and_run_dir(tmp_path):
    proc = run_cli("train", tmp_path / "nope.yaml")
    assert proc.returncode == 2 and "config file not found" in proc.stderr
    proc = run_cli("evaluate", tmp_path / "norun", "--data", BUNDLED["top"])
    assert proc.returncode == 2 and "run directory not found" in proc.stderr


def test_ddp_on_two_cpu_processes(tmp_path):
    run = tmp_path / "ddp"
    proc = _jetgnn("train", CONFIGS / "top_particlenet_lite.yaml", "--train", BUNDLED["top"], "--out", run,
                   "--epochs", "2", "-q", "training.devices=2", "training.strategy=ddp", "data.max_jets=600")
    assert proc.returncode == 0, proc.stderr
    assert len(read_history(run / "history.csv")) == 2
    assert json.loads((run / "metrics.json").read_text())["auc"] > 0.5


@pytest.mark.parametrize("config", ["top_linear.yaml", "qg_linear_fisher.yaml"])
def test_linear_baselines_share_the_interface(tmp_path, config):
    run = jetgnn.train(CONFIGS / config, out=tmp_path / "lin", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(metrics[k] is not None for k in METRIC_KEYS)
    assert metrics["auc"] > 0.75 and metrics["features"][:2] == ["jet_mass", "jet_sdmass"]
    ckpt = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)
    assert "linear_state" in ckpt
    tagger = jetgnn.load_tagger(run)
    task = config.split("_")[0]
    jets = jetgnn.read_jets(BUNDLED[task], entry_stop=30)
    assert tagger.predict(jets).shape == (30,)
    with pytest.raises(InputError, match="not graph batches"):
        tagger.predict_batch(jetgnn.build_graphs(jets))


def test_flavour_three_classes(tmp_path):
    run = jetgnn.train(CONFIGS / "top_pfn.yaml", out=tmp_path / "fl", epochs=1, progress=False,
                       overrides={**QUICK, "task": "flavour", "data.train": [str(BUNDLED["flavour"])],
                                  "model.params": SMALL["pfn"]})
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["label_names"] == ["light", "c", "b"] and "auc_b_vs_light" in metrics and "auc_b_vs_c" in metrics
    scores = jetgnn.load_tagger(run).predict(jetgnn.read_jets(BUNDLED["flavour"], entry_stop=20))
    assert scores.shape == (20, 3)
    np.testing.assert_allclose(scores.sum(1), 1, rtol=1e-5)


def test_same_seed_same_training_on_cpu(tmp_path):
    overrides = {**QUICK, "data.train": [str(BUNDLED["top"])], "model.params": SMALL["particlenet"]}
    runs = [jetgnn.train(CONFIGS / "top_particlenet.yaml", out=tmp_path / f"s{i}", epochs=1, overrides=overrides,
                         progress=False) for i in range(2)]
    histories = [read_history(r / "history.csv") for r in runs]
    assert histories[0][0]["val_loss"] == histories[1][0]["val_loss"]
    assert histories[0][0]["train_loss"] == histories[1][0]["train_loss"]


# -- which jets a training serves: DataLoader workers, resume, DDP ----------------------------------------------
def _split(run):
    from jetgnn.datasets.datamodule import JetDataModule

    cfg = jetgnn.load_tagger(run).config
    return JetDataModule(cfg.data, seed=cfg.training.seed).split


def _ids(jets) -> list[int]:
    return sorted(np.round(jets["jet_eta"].to_numpy() * 1000).astype(int).tolist())


def test_workers_and_resume_serve_each_jet_once_per_epoch_in_new_orders(tmp_path, identified_file):
    """training.num_workers=2: every training jet once per epoch, a new order every epoch, and after --resume
    the order the uninterrupted run had."""
    overrides = {"training.num_workers": 2, "data.batch_size": 32, "data.graph.max_particles": 32,
                 "model.params": SMALL["pfn"]}
    config = CONFIGS / "top_pfn.yaml"
    straight = record_jets_callback()
    run = jetgnn.train(config, out=tmp_path / "a", train=[identified_file], epochs=3, overrides=overrides,
                       progress=False, callbacks=[straight])
    train_ids = _ids(_split(run).train)
    assert len(train_ids) == 320
    for epoch in range(3):
        assert sorted(straight.seen[epoch]) == train_ids, epoch
    assert straight.seen[0] != straight.seen[1] != straight.seen[2]
    first, resumed = record_jets_callback(), record_jets_callback()
    jetgnn.train(config, out=tmp_path / "b", train=[identified_file], epochs=1, overrides=overrides, progress=False,
                 callbacks=[first])
    jetgnn.train(config, out=tmp_path / "b", train=[identified_file], epochs=3, resume=True, overrides=overrides,
                 progress=False, callbacks=[resumed])
    assert first.seen[0] == straight.seen[0]
    assert resumed.seen[1] == straight.seen[1] and resumed.seen[2] == straight.seen[2]


def test_ddp_with_workers_shares_every_epoch_and_the_auc_is_over_all_ranks(tmp_path, identified_file):
    """Two DDP ranks with two workers each: the ranks' jets are disjoint and cover the training jets once per
    epoch, in a new order in epoch 2; the validation AUC is that of all validation jets, not a mean of ranks."""
    from sklearn.metrics import roc_auc_score

    run = tmp_path / "ddp"
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "ddp_probe.py"), str(identified_file), str(run)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = [json.loads((run / f"seen.rank{r}.json").read_text()) for r in range(2)]
    split = _split(run)
    for epoch in ("0", "1"):
        assert len(seen[0][epoch]) == len(seen[1][epoch]) == 160
        assert sorted(seen[0][epoch] + seen[1][epoch]) == _ids(split.train)
    assert seen[0]["0"] != seen[0]["1"]
    history = read_history(run / "history.csv")
    tagger = jetgnn.load_tagger(run, checkpoint="last")
    expected = roc_auc_score(split.val.labels == 1, tagger.predict(split.val))
    assert history[-1]["val_auc"] == pytest.approx(expected, abs=1e-6)


def test_compile_trains_the_same_model_and_checkpoints_load_uncompiled(tmp_path):
    """training.compile: the forward pass runs through torch.compile (dynamo captures graphs), the losses follow
    the eager run of the same seed, and the checkpoint is the plain model's (an uncompiled tagger loads it)."""
    if shutil.which("g++") is None and shutil.which("cc") is None:
        pytest.skip("torch.compile on the CPU needs a C++ compiler")
    from torch._dynamo.utils import counters

    overrides = {**QUICK, "data.train": [str(BUNDLED["top"])], "model.params": SMALL["pfn"], "training.seed": 3}
    eager = jetgnn.train(CONFIGS / "top_pfn.yaml", out=tmp_path / "eager", epochs=1, progress=False,
                         overrides=overrides)
    torch._dynamo.reset()
    counters.clear()
    compiled = jetgnn.train(CONFIGS / "top_pfn.yaml", out=tmp_path / "compiled", epochs=1, progress=False,
                            overrides={**overrides, "training.compile": True})
    assert counters["stats"]["unique_graphs"] >= 1
    losses = [read_history(run / "history.csv")[0] for run in (eager, compiled)]
    for key in ("train_loss", "val_loss"):
        assert losses[1][key] == pytest.approx(losses[0][key], rel=1e-3), key
    state = torch.load(compiled / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert state and not any("_orig_mod" in key for key in state)
    jets = jetgnn.read_jets(BUNDLED["top"], entry_stop=50)
    np.testing.assert_allclose(jetgnn.load_tagger(compiled).predict(jets), jetgnn.load_tagger(eager).predict(jets),
                               atol=2e-3)


def test_pin_memory_follows_the_accelerator_and_reaches_the_loaders():
    """training.pin_memory: None pins exactly when training runs on a CUDA GPU; the data modules pass it on to
    their DataLoaders; anomaly and pre-training configs (their models are not called through forward) refuse
    training.compile."""
    from jetgnn.anomaly.config import AnomalyConfig
    from jetgnn.datasets.datamodule import JetDataModule
    from jetgnn.training.config import TrainConfig

    def pins(**training):
        return TrainConfig.from_raw({"training": training}).training.pins_memory()

    assert pins() is False and pins(accelerator="auto") is torch.cuda.is_available()
    assert pins(accelerator="gpu") is True and pins(accelerator="gpu", pin_memory=False) is False
    assert pins(pin_memory=True) is True
    config = TrainConfig.from_raw({"data": {"train": [str(BUNDLED["top"])], "max_jets": 200}}).data
    for pin in (False, True):
        module = JetDataModule(config, pin_memory=pin)
        assert module.train_dataloader().pin_memory is pin and module.val_dataloader().pin_memory is pin
    with pytest.raises(InputError, match="training.compile"):
        AnomalyConfig.from_raw({"training": {"compile": True}})
