"""One home for each convention: φ wrapping and ΔR on every array library, binomial rejection uncertainties, the
learning-rate schedule, and the typed configs' one-line errors."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import torch

from jetgnn.errors import InputError
from jetgnn.evaluation.metrics import background_rejection, binary_metrics, flavour_metrics
from jetgnn.kinematics import delta_phi, delta_r, wrap_phi


def test_wrap_phi_is_the_same_on_every_array_library():
    phi = np.array([-7.0, -math.pi, -3.0, 0.0, 3.0, math.pi - 1e-6, math.pi, 7.0])
    expected = np.array([-7.0 + 2 * math.pi, -math.pi, -3.0, 0.0, 3.0, math.pi - 1e-6, -math.pi, 7.0 - 2 * math.pi])
    np.testing.assert_allclose(wrap_phi(phi), expected, atol=1e-12)
    np.testing.assert_allclose(wrap_phi(torch.from_numpy(phi)).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(wrap_phi(ak.Array([phi[:3], phi[3:]])))), expected, atol=1e-12)
    assert [wrap_phi(float(p)) for p in phi] == pytest.approx(expected.tolist(), abs=1e-12)
    assert delta_phi(3.0, -3.0) == pytest.approx(6.0 - 2 * math.pi)


def test_compiled_kernels_follow_the_convention():
    from jetgnn.graphs.kernels import _delta2

    rng = np.random.default_rng(0)
    deta = rng.normal(0, 1, 200).astype(np.float32)
    dphi = rng.uniform(-math.pi, math.pi, 200).astype(np.float32)
    expected = delta_r(deta[:-1] - deta[1:], wrap_phi(dphi[:-1] - dphi[1:])) ** 2
    got = np.array([_delta2(deta, dphi, a, a + 1) for a in range(199)])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    torch.testing.assert_close(delta_r(torch.from_numpy(deta), torch.from_numpy(dphi)),
                               torch.from_numpy(np.hypot(deta, dphi)))


def test_rejection_carries_its_binomial_uncertainty():
    """8 of 1000 background jets pass at every signal efficiency: 1/eps_B = 125 rests on 8 jets, +-44."""
    labels = np.r_[np.zeros(1000), np.ones(1000)]
    scores = np.r_[np.full(8, 2.0), np.full(992, -1.0), np.linspace(0, 1, 1000)]
    rejection = background_rejection(labels, scores, 0.3)
    assert rejection.value == pytest.approx(125)
    assert rejection.n_background == pytest.approx(8)
    assert rejection.uncertainty == pytest.approx(125 * math.sqrt(0.992 / 8), rel=1e-6)
    metrics = binary_metrics(labels, scores)
    assert metrics["rejection_at_30_n_background"] == pytest.approx(8)
    assert metrics["rejection_at_50_uncertainty"] == pytest.approx(rejection.uncertainty)
    # no background passes: an infinite rejection, with no uncertainty to give, resting on 0 jets
    perfect = background_rejection(labels, np.r_[np.zeros(1000), np.ones(1000)], 0.3)
    assert perfect.value == float("inf") and perfect.uncertainty is None and perfect.n_background == 0
    flavour = flavour_metrics(np.repeat([0, 1, 2], 50), np.tile([[0.5, 0.2, 0.3]], (150, 1)), ["light", "c", "b"])
    assert {"rejection_light_at_70_uncertainty", "rejection_c_at_70_n_background"} <= set(flavour)


def test_warm_up_and_cosine_schedule():
    from jetgnn.training.config import TrainingSection
    from jetgnn.training.module import make_scheduler

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1.0)
    cfg = TrainingSection(epochs=4, warmup_epochs=1, lr=1.0)
    scheduler = make_scheduler(optimizer, cfg, steps=20)
    factors = []
    for _ in range(20):
        factors.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [(s + 1) / 5 for s in range(5)] + [0.5 * (1 + math.cos(math.pi * (s - 5) / 15)) for s in range(5, 20)]
    np.testing.assert_allclose(factors, expected, atol=1e-9)
    assert make_scheduler(optimizer, TrainingSection(schedule="constant"), 20) is None


@pytest.mark.parametrize("override,message", [
    ({"training": {"epoch": 3}}, "unknown key 'training.epoch' (allowed: training.epochs, "),
    ({"training": {"epoch": 3}}, "did you mean 'training.epochs'?"),
    ({"training": {"epochs": True}}, "'training.epochs' should be a int, got True"),
    ({"training": {"schedule": "cosin"}}, "must be one of cosine, one_cycle, constant, got 'cosin'; did you mean"),
    ({"model": {"name": "particlenet_lit"}}, "did you mean 'particlenet_lite'?"),
    ({"model": {"name": "pfn", "params": {"phii": [4]}}}, "unknown key 'model.params.phii' for model pfn"),
    ({"data": {"graph": {"edges": "knnn"}}}, "'data.graph.edges' must be one of delta_r, knn, none"),
    ({"data": {"train_fraction": 0}}, "'data.train_fraction' must be in (0, 1], got 0"),
])
def test_config_errors_name_the_key_and_the_closest_one(override, message):
    from jetgnn.training.config import TrainConfig

    with pytest.raises(InputError) as error:
        TrainConfig.from_raw(override)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_typed_config_reads_like_the_old_dicts():
    from jetgnn.training.config import TrainConfig, resolve_config

    cfg = resolve_config({"model": {"name": "pfn"}}, {"training.epochs": 3}, ["training.lr=3e-4"])
    assert isinstance(cfg, TrainConfig) and cfg.training.lr == pytest.approx(3e-4)  # PyYAML reads 3e-4 as text
    assert cfg["training"]["epochs"] == 3 and cfg["data"]["graph"]["edges"] == "knn" and "graph" in cfg["data"]
    assert dict(**cfg.data.graph)["k"] == 16
    assert TrainConfig.from_raw(cfg.to_dict()) == cfg
