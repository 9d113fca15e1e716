"""Trigger-ready models: quantisation-aware training, pruning, hardware costs and the hls4ml emulation."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import jetgnn
from jetgnn.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
MULTICLASS = ROOT / "data" / "multiclass_1k.root"

brevitas = pytest.importorskip("brevitas", reason="the trigger extra (brevitas) is not installed")


def _train(tmp_path, name, *overrides, epochs=8):
    from jetgnn.cli import main

    out = tmp_path / name
    rc = main(["train", str(CONFIGS / "multiclass_mlp.yaml"), "--out", str(out), "--epochs", str(epochs), "-q",
               *overrides])
    assert rc == 0
    return out, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trigger")
    float_run = _train(tmp, "float")
    quant_run = _train(tmp, "q6_pruned", "model.quantization.bits=6", "training.prune.amount=0.7",
                       "training.prune.steps=2")
    return float_run, quant_run


def test_quantised_pruned_training_reaches_the_sparsity_and_counts_fewer_bit_operations(runs):
    (_, floating), (run, quant) = runs
    assert quant["weight_sparsity"] == pytest.approx(0.7, abs=0.01)
    assert floating["weight_sparsity"] < 0.01
    assert quant["n_nonzero_params"] < 0.4 * quant["n_params"]
    assert quant["macs_per_jet"] == floating["macs_per_jet"] == 16 * 64 + 64 * 32 + 32 * 32 + 32 * 5
    # 6-bit, 70%-sparse layers: far fewer bit operations than 32-bit dense ones
    assert quant["bops_per_jet"] < 0.05 * floating["bops_per_jet"]
    for name in "gqWZt":
        assert 0.5 < quant[f"auc_{name}_vs_rest"] <= 1.0
    # the best checkpoint is at the final sparsity (epochs 1 and 2 prune; the best epoch is after the last step)
    tagger = jetgnn.load_tagger(run)
    weights = [m.quant_weight().value for m in tagger.model.modules() if hasattr(m, "quant_weight")]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    assert zeros >= 0.7 - 0.01
    # a 6-bit weight tensor holds at most 2^6 distinct values on a power-of-two grid
    for w in weights:
        values = torch.unique(w)
        assert len(values) <= 64
        step = torch.min(torch.diff(values))
        assert torch.allclose(values / step, torch.round(values / step), atol=1e-4)
        assert float(torch.log2(step.detach())).is_integer()
    with open(run / "history.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 8


def test_the_cost_model_counts_macs_and_bit_operations_by_definition():
    from torch import nn

    from jetgnn.models.complexity import model_cost

    net = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    with torch.no_grad():
        net[0].weight[:, :8] = 0.0  # half of the first layer pruned
    cost = model_cost(net, torch.randn(10, 16))
    assert cost.macs_per_jet == 16 * 8 + 8 * 4
    assert cost.nonzero_macs_per_jet == 8 * 8 + 8 * 4
    bops = 8 * 16 * (0.5 * 32 * 32 + 64 + 4) + 4 * 8 * (32 * 32 + 64 + 3)
    assert cost.bops_per_jet == pytest.approx(bops)
    assert cost.nonzero_params == sum(p.numel() for p in net.parameters()) - 64
    assert cost.weight_sparsity == pytest.approx(64 / (128 + 32))


def test_quantised_deep_sets_train_and_score(tmp_path):
    from jetgnn.cli import main

    out = tmp_path / "pfn6"
    rc = main(["train", str(CONFIGS / "multiclass_pfn.yaml"), "--out", str(out), "--epochs", "2", "-q",
               "model.quantization.bits=6", "model.params.activation=relu", "model.params.phi=[32,32]",
               "model.params.f=[32]", "data.max_jets=400"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["bops_per_jet"] > 0 and metrics["macs_per_jet"] > 0
    probs = jetgnn.load_tagger(out).predict(jetgnn.read_jets(MULTICLASS, entry_stop=20))
    assert probs.shape == (20, 5) and np.allclose(probs.sum(1), 1.0, atol=1e-5)


def test_quantisation_and_pruning_settings_are_validated():
    from jetgnn.training.config import TrainConfig

    with pytest.raises(Exception, match="training.prune"):
        TrainConfig.from_raw({"training": {"epochs": 3, "prune": {"amount": 0.7, "steps": 3}}})
    with pytest.raises(Exception, match="amount"):
        TrainConfig.from_raw({"training": {"prune": {"amount": 1.5}}})
    with pytest.raises(Exception, match="quantization"):
        TrainConfig.from_raw({"model": {"name": "particlenet", "quantization": {"bits": 6}}})
    with pytest.raises(Exception, match="bits"):
        TrainConfig.from_raw({"model": {"name": "mlp", "quantization": {"bits": 40}}})
    from jetgnn.models import InputSpec, build_model
    from jetgnn.models.layers.quant import QuantSpec

    spec = InputSpec(("a",), (), ("u1", "u2"))
    with pytest.raises(InputError, match="hidden_norm"):
        build_model("mlp", spec, 2, quantization=QuantSpec(6, 6, 16))


hls4ml = pytest.importorskip("hls4ml", reason="the trigger extra (hls4ml) is not installed")
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="no g++: hls4ml's C++ emulation cannot build")


@needs_gxx
def test_hls4ml_emulation_of_the_quantised_network_follows_pytorch(runs, tmp_path):
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs

    tagger = jetgnn.load_tagger(runs[1][0])
    result = export_hls4ml(tagger, tmp_path / "hls")
    assert result.compiled and (tmp_path / "hls" / "hls" / "firmware").is_dir() and result.quantized
    assert (tmp_path / "hls" / "model.qonnx").stat().st_size > 1000
    meta = json.loads((tmp_path / "hls" / "preprocessing.json").read_text())
    assert len(meta["names"]) == 16 and meta["label_names"] == ["g", "q", "W", "Z", "t"]
    jets = jetgnn.read_jets(MULTICLASS)
    emulated, reference = result.predict_proba(firmware_inputs(tagger, jets)), tagger.predict_proba(jets)
    assert emulated.shape == reference.shape
    # every layer is bit-exact; only the softmax tables round (steps of 0.001 in the logit differences)
    assert np.mean(emulated.argmax(1) == reference.argmax(1)) >= 0.98
    assert np.abs(emulated - reference).max() <= 1e-2
    # the float network, post-training fixed<16,6> through hls4ml's PyTorch front end, follows PyTorch too
    floating = jetgnn.load_tagger(runs[0][0])
    result = export_hls4ml(floating, tmp_path / "float")
    assert not result.quantized and not (tmp_path / "float" / "model.qonnx").exists()
    emulated, reference = result.predict_proba(firmware_inputs(floating, jets)), floating.predict_proba(jets)
    assert np.mean(emulated.argmax(1) == reference.argmax(1)) >= 0.98
    assert np.abs(emulated - reference).max() <= 2e-2


@needs_gxx
def test_hls4ml_cli_export_and_its_errors(runs, tmp_path, capsys):
    from jetgnn.cli import main

    rc = main(["export", str(runs[1][0]), "--format", "hls4ml", "--out", str(tmp_path / "fw"),
               "--check", str(MULTICLASS), "--check-jets", "300"])
    out = capsys.readouterr().out
    assert rc == 0 and "hls4ml emulation vs PyTorch on 300 jets" in out
    assert main(["export", str(runs[1][0]), "--format", "hls4ml", "--out", str(tmp_path / "fw")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["export", str(runs[1][0]), "--format", "hls4ml"]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.fixture(scope="module")
def deep_sets_runs(tmp_path_factory):
    """The constituent trigger model of configs/multiclass_pfn_trigger.yaml (32 particle slots), small: float,
    8-bit quantisation-aware, and float with a jet context (model.params.context)."""
    from jetgnn.cli import main

    tmp = tmp_path_factory.mktemp("trigger_pfn")
    small = ["--epochs", "10", "-q", "model.params.phi=[16,16]", "model.params.f=[16]"]
    variants = (("float", []), ("q8", ["model.quantization.bits=8"]), ("context", ["model.params.context=[16]"]))
    for name, extra in variants:
        assert main(["train", str(CONFIGS / "multiclass_pfn_trigger.yaml"), "--out", str(tmp / name),
                     *small, *extra]) == 0
    return tmp / "float", tmp / "q8", tmp / "context"


@needs_gxx
def test_hls4ml_emulation_of_the_deep_sets_follows_pytorch(deep_sets_runs, tmp_path, capsys):
    from jetgnn.cli import main
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs

    jets = jetgnn.read_jets(MULTICLASS)
    tagger = jetgnn.load_tagger(deep_sets_runs[1])
    result = export_hls4ml(tagger, tmp_path / "q8")
    assert result.quantized and not (tmp_path / "q8" / "model.qonnx").exists()
    meta = json.loads((tmp_path / "q8" / "preprocessing.json").read_text())
    assert meta["n_particles"] == 32 and meta["names"] == list(tagger.model.spec.x_names)
    slots, mask = firmware_inputs(tagger, jets)
    assert slots.shape == (len(jets), 32, len(meta["names"])) and mask.shape == (len(jets), 32)
    np.testing.assert_array_equal(mask.sum(1), np.minimum(np.asarray(jets.arrays["jet_nparticles"]), 32))
    assert np.all(slots[mask == 0] == 0)
    emulated, reference = result.predict_proba((slots, mask)), tagger.predict_proba(jets)
    # every layer is bit-exact (the quantisers' own types); only the softmax tables round
    assert np.mean(emulated.argmax(1) == reference.argmax(1)) >= 0.99
    assert np.abs(emulated - reference).max() <= 1e-3
    # the mask, not the zeros, keeps empty slots out of the sum: Phi(0) != 0, and garbage there changes nothing
    sparse = mask.sum(1) < 32
    assert sparse.sum() >= 20
    noisy = np.where(mask[..., None] == 0, np.random.default_rng(1).normal(size=slots.shape), slots)
    np.testing.assert_array_equal(result.predict_proba((noisy[sparse], mask[sparse])), emulated[sparse])
    # the float network, post-training fixed<16,6> (the sum over 32 slots with 5 more integer bits)
    floating = jetgnn.load_tagger(deep_sets_runs[0])
    result = export_hls4ml(floating, tmp_path / "float")
    emulated, reference = result.predict_proba(firmware_inputs(floating, jets)), floating.predict_proba(jets)
    assert np.mean(emulated.argmax(1) == reference.argmax(1)) >= 0.97
    assert np.abs(emulated - reference).max() <= 3e-2
    # through the CLI
    rc = main(["export", str(deep_sets_runs[1]), "--format", "hls4ml", "--out", str(tmp_path / "cli"),
               "--check", str(MULTICLASS), "--check-jets", "200"])
    out = capsys.readouterr().out
    assert rc == 0 and "(quantisation-aware)" in out and "hls4ml emulation vs PyTorch on 200 jets" in out


@needs_gxx
def test_hls4ml_emulation_of_the_deep_sets_with_a_jet_context_follows_pytorch(deep_sets_runs, tmp_path):
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs

    jets = jetgnn.read_jets(MULTICLASS)
    tagger = jetgnn.load_tagger(deep_sets_runs[2])
    result = export_hls4ml(tagger, tmp_path / "context")
    slots, mask = firmware_inputs(tagger, jets)
    emulated, reference = result.predict_proba((slots, mask)), tagger.predict_proba(jets)
    assert np.mean(emulated.argmax(1) == reference.argmax(1)) >= 0.97
    assert np.abs(emulated - reference).max() <= 3e-2
    # the context sum is masked too: garbage in the empty slots changes nothing
    sparse = mask.sum(1) < 32
    noisy = np.where(mask[..., None] == 0, np.random.default_rng(2).normal(size=slots.shape), slots)
    np.testing.assert_array_equal(result.predict_proba((noisy[sparse], mask[sparse])), emulated[sparse])


@needs_gxx
def test_the_firmware_softmax_of_confident_jets_saturates_instead_of_wrapping(deep_sets_runs, tmp_path):
    """Logits spread over more than 32: hls4ml's exp-table index (x_max - x_i, [0, 32)) wrapped and gave the least
    likely class exp(-(spread - 32)), up to p ~ 1; pinned to saturate, it is ~0 as in PyTorch."""
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs, firmware_model

    jets = jetgnn.read_jets(MULTICLASS)
    tagger = jetgnn.load_tagger(deep_sets_runs[0])
    slots, mask = firmware_inputs(tagger, jets)

    def logits():
        network = firmware_model(tagger.model, 32)
        network.head[-1] = torch.nn.Identity()  # what enters the softmax
        with torch.no_grad():
            return network(torch.from_numpy(slots), torch.from_numpy(mask)).numpy()

    last = [m for m in tagger.model.head.modules() if isinstance(m, torch.nn.Linear)][-1]
    before = logits()
    scale = 40.0 / np.median(before.max(1) - before.min(1))
    with torch.no_grad():  # a confident network: logits spread over ~40
        last.weight.mul_(scale)
        last.bias.mul_(scale)
    after = logits()
    spread = after.max(1) - after.min(1)
    # spread just beyond the table's 32 (wrapped: exp(-(spread - 32)) >= 0.002), logits inside the pinned
    # fixed<16,6> (+-32), away from its edges
    wide = (spread > 33) & (spread < 38) & (np.abs(after).max(1) < 28)
    assert wide.sum() >= 10, wide.sum()
    emulated = export_hls4ml(tagger, tmp_path / "confident").predict_proba((slots, mask))
    least = after.argmin(1)[wide]
    # PyTorch gives the least likely class exp(-spread) < 1e-14; the emulation's logits differ by rounding (the
    # scaled network multiplies it), far less than the 26 that would lift it to 1e-3
    assert emulated[wide][np.arange(wide.sum()), least].max() <= 1e-3


def test_deep_sets_with_a_jet_context_firmware_equals_the_sparse_network():
    """Phi's first layer on [x_i, BatchNorm(s)] split into a per-slot and a broadcast per-jet part (the BatchNorm
    folded in) gives the sparse network's probabilities; each particle sees the others only through s."""
    from jetgnn.export.hls4ml import firmware_model
    from jetgnn.models import InputSpec, build_model
    from jetgnn.models.layers.quant import QuantSpec

    torch.manual_seed(0)
    spec = InputSpec(("a", "b", "c"), (), ("u",))
    model = build_model("pfn", spec, 3, phi=(8, 8), f=(8,), activation="relu", context=(6,))
    with torch.no_grad():  # a BatchNorm away from the identity
        model.context_norm.running_mean.uniform_(-1, 1)
        model.context_norm.running_var.uniform_(0.5, 4)
        model.context_norm.weight.uniform_(0.5, 2)
        model.context_norm.bias.uniform_(-1, 1)
    model.eval()
    firmware = firmware_model(model, 4)
    x, mask = torch.randn(2, 4, 3), torch.tensor([[1.0, 1, 1, 0], [1, 1, 0, 0]])
    expected = []
    for j in range(2):
        particles = x[j, mask[j] > 0]
        jet = model.context_norm(model.context(particles).sum(0, keepdim=True))
        inputs = torch.cat([particles, jet.expand(len(particles), -1)], 1)
        expected.append(model.phi(inputs).sum(0))
    expected = torch.softmax(model.head(torch.stack(expected)), -1)
    with torch.no_grad():
        torch.testing.assert_close(firmware(x, mask), expected)
        # moving one particle changes the others' Phi inputs: the context is not a plain sum of Phi
        shifted = x.clone()
        shifted[0, 0] += 1.0
        assert not torch.allclose(firmware(shifted, mask)[0], firmware(x, mask)[0])
    with pytest.raises(InputError, match="context has no quantisation-aware version"):
        build_model("pfn", spec, 3, activation="relu", context=(6,), quantization=QuantSpec(8, 8, 16))


def test_deep_sets_firmware_needs_relu_and_a_particle_cap():
    from jetgnn.export.hls4ml import DeepSetsFirmware, firmware_model
    from jetgnn.models import InputSpec, build_model

    spec = InputSpec(("a", "b", "c"), (), ("u",))
    with pytest.raises(InputError, match="activation: relu"):
        firmware_model(build_model("pfn", spec, 3, phi=(8,), f=(8,)), 32)  # GELU
    relu = build_model("pfn", spec, 3, phi=(8, 8), f=(8,), activation="relu").eval()
    with pytest.raises(InputError, match="max_particles"):
        firmware_model(relu, None)
    with pytest.raises(InputError, match="EFN"):
        firmware_model(build_model("efn", spec, 3), 32)
    # the firmware network is the PFN on padded slots: same logits' softmax as the sparse model
    firmware = firmware_model(relu, 4)
    assert isinstance(firmware, DeepSetsFirmware)
    x, mask = torch.randn(2, 4, 3), torch.tensor([[1.0, 1, 1, 0], [1, 1, 0, 0]])
    sums = [relu.phi(x[j, mask[j] > 0]).sum(0) for j in range(2)]
    expected = torch.softmax(relu.head(torch.stack(sums)), -1)
    torch.testing.assert_close(firmware(x, mask), expected)


@pytest.fixture(scope="module")
def trigger_vae(tmp_path_factory):
    """The quantised trigger VAE of configs/anomaly_feature_vae.yaml on the g and q jets of the bundled sample."""
    from jetgnn.cli import main

    out = tmp_path_factory.mktemp("trigger_vae") / "run"
    assert main(["anomaly", "train", str(CONFIGS / "anomaly_feature_vae.yaml"), "--out", str(out), "-q"]) == 0
    return out


def _auc(background: np.ndarray, signal: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(background)), np.ones(len(signal))], np.r_[background, signal]))


def test_the_quantised_trigger_vae_scores_the_clipped_kl_and_flags_top_jets(trigger_vae, tmp_path):
    from jetgnn.datasets.anomaly_inputs import model_inputs
    from jetgnn.io.jets import Jets

    tagger = jetgnn.load_tagger(trigger_vae)
    assert tagger.model.quantization.bits == 8 and tagger.model.score_name == "kl_mu"
    assert tagger.inputs.features == ("jet_mass", "jet_nparticles", "jet_sdmass", "jet_tau21", "jet_tau32")
    jets = jetgnn.read_jets(MULTICLASS)
    score = tagger.anomaly_score(jets)
    with torch.no_grad():
        _, mu, _ = tagger.model.encode(torch.as_tensor(model_inputs(jets, tagger.inputs)[0]))
    np.testing.assert_allclose(score, 0.5 * mu.pow(2).sum(1).numpy(), rtol=1e-5)  # the clipped KL, by definition
    # the mu layer's weights lie on one power-of-two grid of at most 2^8 values
    values = torch.unique(tagger.model.mu.quant_weight().value.detach())
    step = torch.min(torch.diff(values))
    assert len(values) <= 256 and float(torch.log2(step)).is_integer()
    assert torch.allclose(values / step, torch.round(values / step), atol=1e-4)
    labels, names = np.asarray(jets.labels), jets.label_names
    background = np.isin(labels, [names.index("g"), names.index("q")])
    assert _auc(score[background], score[labels == names.index("t")]) > 0.7  # top jets are anomalous to g/q
    # ONNX round trip of the quantised network
    path = jetgnn.export_onnx(trigger_vae, tmp_path / "vae.onnx", check_jets=jets[:200])
    np.testing.assert_allclose(jetgnn.OnnxTagger(path).anomaly_score(jets[:200]), score[:200], rtol=1e-4, atol=1e-6)
    # a file without one of its features: one error naming it
    without = Jets(jets.arrays[[f for f in jets.fields if f != "jet_sdmass"]])
    with pytest.raises(InputError, match="jet_sdmass"):
        tagger.anomaly_score(without)


@needs_gxx
def test_hls4ml_emulation_of_the_trigger_vae_gives_its_clipped_kl(trigger_vae, tmp_path):
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs

    tagger = jetgnn.load_tagger(trigger_vae)
    result = export_hls4ml(tagger, tmp_path / "hls")
    meta = json.loads((tmp_path / "hls" / "preprocessing.json").read_text())
    assert meta["outputs"] == ["mu_0", "mu_1", "mu_2"] and meta["label_names"] is None
    assert meta["names"] == list(tagger.inputs.features)
    jets = jetgnn.read_jets(MULTICLASS)
    emulated, reference = result.anomaly_score(firmware_inputs(tagger, jets)), tagger.anomaly_score(jets)
    assert np.abs(emulated - reference).max() <= 1e-4 * reference.max()  # every layer is bit-exact
    cut = np.quantile(reference, 0.99)
    assert np.mean((emulated > cut) == (reference > cut)) >= 0.999
    with pytest.raises(InputError, match="anomaly_score"):
        result.predict_proba(firmware_inputs(tagger, jets))


def test_trigger_vae_settings_are_validated(trigger_vae, tmp_path):
    from jetgnn.anomaly.config import AnomalyConfig
    from jetgnn.export.hls4ml import export_hls4ml

    with pytest.raises(ValueError, match="model.quantization"):
        AnomalyConfig(model={"name": "ae", "quantization": {"bits": 6}})
    with pytest.raises(ValueError, match="anomaly.features"):
        AnomalyConfig(model={"name": "feature_vae"}, anomaly={"features": []})
    with pytest.raises(ValueError, match="twice"):
        AnomalyConfig(model={"name": "feature_vae"}, anomaly={"features": ["jet_mass", "jet_mass"]})
    tagger = jetgnn.load_tagger(trigger_vae)
    tagger.model.set_score("kl")  # needs sigma: not what the firmware computes
    with pytest.raises(InputError, match="kl_mu"):
        export_hls4ml(tagger, tmp_path / "hls")
