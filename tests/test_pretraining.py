"""JetCLR: augmentations and their invariances, contrastive losses, pre-training through the CLI, the linear test
against a random encoder, and fine-tuning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import yaml

import jetgnn
from jetgnn.errors import InputError
from jetgnn.models import MODELS
from jetgnn.pretraining import alignment, augment, nt_xent, uniformity
from jetgnn.transforms.augment import (
    Constituents,
    check_augmentations,
    drop,
    rotate,
    smear_pt,
    soft,
    translate,
)

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, run_cli

ROOT = Path(__file__).resolve().parent.parent
ENCODER = {"embed": 32, "heads": 4, "layers": 2, "pair_hidden": 8}
QUICK_GRAPH = {"edges": "none", "max_particles": 32, "with_edge_features": False}


@pytest.fixture(scope="module")
def top():
    return jetgnn.read_jets(BUNDLED["top"], entry_stop=200)


def _pairwise_dr(deta, dphi, counts, n_jets=20):
    out = []
    for d_eta, d_phi in zip(ak.unflatten(deta, counts)[:n_jets], ak.unflatten(dphi, counts)[:n_jets], strict=True):
        e, p = np.asarray(d_eta), np.asarray(d_phi)
        out.append(np.sort(np.hypot(e[:, None] - e[None, :], p[:, None] - p[None, :]).ravel()))
    return out


def _four_momentum(jets):
    return np.stack([ak.to_numpy(ak.sum(jets[f], axis=1)) for f in ("part_px", "part_py", "part_pz", "part_energy")],
                    axis=1)


@pytest.mark.parametrize("transform", [rotate, translate], ids=["rotate", "translate"])
def test_rotation_and_translation_keep_pairwise_distances(top, transform):
    view = Constituents.from_jets(top)
    moved = transform(view, np.random.default_rng(1))
    assert not np.allclose(moved.deta, view.deta)
    for a, b in zip(_pairwise_dr(view.deta, view.dphi, view.counts), _pairwise_dr(moved.deta, moved.dphi,
                                                                                   moved.counts), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_array_equal(moved.pt, view.pt)


def test_collinear_split_keeps_the_jet_four_momentum(top):
    split = augment(top, np.random.default_rng(2), {"collinear_split": {"p": 0.5}})
    assert ak.sum(ak.num(split["part_px"])) > 1.3 * ak.sum(ak.num(top["part_px"]))
    np.testing.assert_allclose(_four_momentum(split), _four_momentum(top), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ak.to_numpy(split["jet_mass"]), ak.to_numpy(top["jet_mass"]), rtol=1e-3)
    # the split particles keep their direction: the set of (deta, dphi) positions is unchanged
    view, new = Constituents.from_jets(top), Constituents.from_jets(split)
    assert set(new.deta.astype(np.float32).tolist()) == set(view.deta.astype(np.float32).tolist())


def test_soft_radiation_is_soft_and_inside_the_jet(top):
    view = Constituents.from_jets(top)
    more = soft(view, np.random.default_rng(3), n_max=4, pt_max=0.5, radius=0.8)
    added = more.counts - view.counts
    assert added.min() >= 0 and added.max() <= 4 and added.sum() > 0
    new = np.setdiff1d(np.arange(len(more.pt)), np.flatnonzero(np.isin(more.pt, view.pt)))
    assert np.all(more.pt[new] < 0.5) and np.all(np.hypot(more.deta[new], more.dphi[new]) <= 0.8)
    jets = more.to_jets()
    assert np.all(np.abs(ak.to_numpy(jets["jet_pt"]) - ak.to_numpy(top["jet_pt"])) < 4 * 0.5 + 1)


def test_smearing_and_dropping(top):
    view = Constituents.from_jets(top)
    smeared = smear_pt(view, np.random.default_rng(4), sigma=0.1)
    np.testing.assert_array_equal(smeared.deta, view.deta)
    ratio = smeared.pt / view.pt
    assert 0.08 < ratio.std() < 0.12 and abs(ratio.mean() - 1) < 0.01
    dropped = drop(view, np.random.default_rng(5), p=0.3)
    assert np.all(dropped.counts <= view.counts) and np.all(dropped.counts >= 1)
    assert 0.6 < dropped.counts.sum() / view.counts.sum() < 0.8
    hardest = ak.to_numpy(ak.max(ak.unflatten(view.pt, view.counts), axis=1))
    np.testing.assert_array_equal(ak.to_numpy(ak.max(ak.unflatten(dropped.pt, dropped.counts), axis=1)), hardest)
    # the same seed gives the same view
    a, b = (augment(top, np.random.default_rng(9)) for _ in range(2))
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(a["part_px"])), ak.to_numpy(ak.flatten(b["part_px"])))
    assert "jet_label" not in a and "jet_sdmass" not in a


@pytest.mark.parametrize("pipeline,message", [
    ({"twist": {}}, "unknown augmentation 'twist'"),
    ({"drop": {"q": 0.1}}, "unknown parameter 'q'"),
    ({"drop": {"p": 1.5}}, "probability"),
    ({"smear_pt": {"sigma": -1}}, "non-negative"),
])
def test_augmentation_errors(pipeline, message):
    with pytest.raises(InputError, match=message):
        check_augmentations(pipeline)


def test_contrastive_losses():
    torch.manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(64, 32), dim=1)
    t = 0.1
    matched = nt_xent(z, z.clone(), t)
    unmatched = nt_xent(z, torch.nn.functional.normalize(torch.randn(64, 32), dim=1), t)
    assert matched < unmatched
    # orthogonal representations: the partner has similarity 1/T, the 2B-2 others 0
    eye = torch.eye(4)
    expected = -torch.log(torch.exp(torch.tensor(1 / t)) / (torch.exp(torch.tensor(1 / t)) + 6))
    torch.testing.assert_close(nt_xent(eye, eye, t), expected)
    assert alignment(z, z) < 1e-10 and alignment(z, -z) > 3.9
    collapsed = torch.ones(64, 32) + 1e-3 * torch.randn(64, 32)
    assert uniformity(z) < uniformity(collapsed)


def _jetgnn(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "jetgnn", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """Brief pre-training on the bundled top sample through the CLI (labels are not read)."""
    out = tmp_path_factory.mktemp("jetclr") / "run"
    proc = _jetgnn("pretrain", ROOT / "configs" / "jetclr_top.yaml", "--data", BUNDLED["top"], "--out", out,
                   "--epochs", "6", "-q", f"model.params={json.dumps(ENCODER)}", "data.batch_size=128",
                   f"data.graph={json.dumps(QUICK_GRAPH)}", "training.lr=0.001")
    assert proc.returncode == 0, proc.stderr
    return out


def test_pretraining_run_directory_and_falling_loss(pretrained):
    for name in ("config.yaml", "checkpoints/best.ckpt", "checkpoints/last.ckpt", "checkpoints/initial.ckpt",
                 "history.csv", "metrics.json", "loss.png"):
        assert (pretrained / name).is_file(), name
    metrics = json.loads((pretrained / "metrics.json").read_text())
    assert metrics["val_loss"] < 0.8 * metrics["first_val_loss"]
    assert metrics["uniformity"] < metrics["uniformity_random_encoder"]
    ckpt = torch.load(pretrained / "checkpoints" / "best.ckpt", weights_only=True)
    assert "pretraining" in ckpt["hyper_parameters"]["config"]


def _linear_test(tmp_path, encoder, checkpoint):
    return jetgnn.train(ROOT / "configs" / "top_transformer.yaml", out=tmp_path / checkpoint, epochs=5, progress=False,
                        overrides={"model.encoder": str(encoder), "model.freeze_encoder": True,
                                   "model.encoder_checkpoint": checkpoint, "model.params.linear_head": True,
                                   "training.lr": 0.005})


def test_linear_test_beats_the_random_encoder(tmp_path, pretrained):
    runs = {which: _linear_test(tmp_path, pretrained, which) for which in ("best", "initial")}
    auc = {which: json.loads((run / "metrics.json").read_text())["auc"] for which, run in runs.items()}
    assert auc["best"] > auc["initial"] + 0.02 and auc["best"] > 0.8, auc
    # the frozen encoder is exactly the pre-trained one; only the linear head is trained
    tagger = jetgnn.load_tagger(runs["best"])
    encoder_state = torch.load(pretrained / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    for name, value in tagger.model.state_dict().items():
        if not name.startswith("head."):
            torch.testing.assert_close(value, encoder_state[f"encoder.{name}"])
    assert isinstance(tagger.model.head, torch.nn.Linear)
    metrics = json.loads((runs["best"] / "metrics.json").read_text())
    assert metrics["n_trainable_params"] == sum(p.numel() for p in tagger.model.head.parameters())


def test_fine_tuning_trains_the_encoder(tmp_path, pretrained):
    run = jetgnn.train(ROOT / "configs" / "top_transformer.yaml", out=tmp_path / "ft", epochs=2, progress=False,
                       overrides={"model.encoder": str(pretrained), "training.lr": 0.001, "data.train_fraction": 0.5})
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_train_jets"] == 800 and metrics["auc"] > 0.7
    tagger = jetgnn.load_tagger(run)
    encoder_state = torch.load(pretrained / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    name = "particle_embed.0.weight"
    assert not torch.allclose(tagger.model.state_dict()[name], encoder_state[f"encoder.{name}"])


def test_pretraining_needs_no_labels(tmp_path, top):
    unlabelled = tmp_path / "unlabelled.root"
    jetgnn.write_jets(unlabelled, [{f: top[f] for f in top.fields if f != "jet_label"}])
    assert jetgnn.read_jets(unlabelled).labels is None
    run = jetgnn.pretrain(ROOT / "configs" / "jetclr_top.yaml", out=tmp_path / "run", data=[str(unlabelled)],
                          epochs=1, progress=False, overrides={"model.params": ENCODER, "data.batch_size": 64,
                                                               "data.graph": QUICK_GRAPH})
    assert json.loads((run / "metrics.json").read_text())["n_jets"] == 160


@pytest.mark.parametrize("args,message", [
    (["pretraining.augmentations={twist: {}}"], "unknown augmentation 'twist'"),
    (["pretraining.temperature=0"], "'pretraining.temperature' must be positive"),
    (["pretraining.projection=[]"], "'pretraining.projection' must be a list"),
])
def test_pretrain_config_errors(tmp_path, args, message):
    proc = run_cli("pretrain", ROOT / "configs" / "jetclr_top.yaml", "--out", tmp_path / "x", *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_pretrain_run_is_not_a_tagger(pretrained):
    proc = run_cli("evaluate", pretrained, "--data", BUNDLED["top"])
    assert proc.returncode == 2 and "is a jetgnn pretrain run" in proc.stderr, proc.stderr


def test_encoder_errors(tmp_path):
    cfg = ROOT / "configs" / "top_transformer.yaml"
    proc = run_cli("train", cfg, "--out", tmp_path / "a", "model.freeze_encoder=true")
    assert proc.returncode == 2 and "'model.freeze_encoder' needs 'model.encoder'" in proc.stderr
    proc = run_cli("train", cfg, "--out", tmp_path / "b", f"model.encoder={tmp_path / 'nowhere'}")
    assert proc.returncode == 2 and "pretrain run directory not found" in proc.stderr


def _train_config(name: str) -> Path:
    return ROOT / "configs" / ("flavour_vertexer.yaml" if name == "vertexer" else f"top_{name}.yaml")


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_pretrains_then_linear_test_then_fine_tunes(tmp_path, name):
    """JetCLR for every neural model: pre-train its encoder, a frozen-encoder linear test (only the classifier
    head ``head`` trains, the encoder is bit for bit the pre-trained one), then fine-tuning of all weights."""
    task = "flavour" if name == "vertexer" else "top"
    config = _train_config(name)
    graph = {**yaml.safe_load(config.read_text())["data"]["graph"], "globals": [], "max_particles": 24}
    quick = {"data.max_jets": 120, "data.batch_size": 32}
    pre = jetgnn.pretrain(ROOT / "configs" / "jetclr_top.yaml", out=tmp_path / "pre", data=[str(BUNDLED[task])],
                          epochs=1, progress=False,
                          overrides={**quick, "model.name": name, "model.params": SMALL_MODEL_PARAMS[name],
                                     "data.graph": graph, "pretraining.projection": [16]})
    encoder_state = torch.load(pre / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]

    probe = jetgnn.train(config, out=tmp_path / "probe", train=[str(BUNDLED[task])], epochs=1, progress=False,
                         overrides={**quick, "model.encoder": str(pre), "model.freeze_encoder": True,
                                    "model.params.linear_head": True})
    tagger = jetgnn.load_tagger(probe)
    assert tagger.config.model.name == name and isinstance(tagger.model.head, torch.nn.Linear)
    for key, value in tagger.model.state_dict().items():
        if not key.startswith("head."):
            torch.testing.assert_close(value, encoder_state[f"encoder.{key}"], rtol=0, atol=0)
    metrics = json.loads((probe / "metrics.json").read_text())
    assert metrics["n_trainable_params"] == sum(p.numel() for p in tagger.model.head.parameters()) > 0

    fine = jetgnn.train(config, out=tmp_path / "fine", train=[str(BUNDLED[task])], epochs=1, progress=False,
                        overrides={**quick, "model.encoder": str(pre), "training.lr": 0.01})
    model = jetgnn.load_tagger(fine).model
    assert any(not torch.equal(value, encoder_state[f"encoder.{key}"]) for key, value in model.state_dict().items()
               if not key.startswith("head.") and value.is_floating_point())
    n_params = sum(p.numel() for p in model.parameters())
    assert json.loads((fine / "metrics.json").read_text())["n_trainable_params"] == n_params
