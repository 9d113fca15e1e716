"""Flavour tagging with vertex grouping: track geometry, grouping, vertex metrics, the classical vertexer and
the multitask vertexer through the API and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
import uproot

import jetgnn
from jetgnn.errors import InputError
from jetgnn.evaluation.metrics import flavour_metrics
from jetgnn.evaluation.vertexing import match_vertices, origin_confusion, origin_metrics
from jetgnn.models import InputSpec, build_model
from jetgnn.training.losses import multitask_loss, same_vertex_targets
from jetgnn.vertexing import ClassicalVertexer, group_tracks, pair_distance

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, run_cli

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "flavour_vertexer.yaml"
SMALL = {"model.params": SMALL_MODEL_PARAMS["vertexer"], "data.batch_size": 64}


def _track_from(vertex, phi, eta):
    """(d0, dz) of a straight track from ``vertex`` (mm) with direction (phi, eta), as jetgnn.generation.impact."""
    x, y, z = vertex
    ux, uy, slope = math.cos(phi), math.sin(phi), math.sinh(eta)
    return x * uy - y * ux, z - (x * ux + y * uy) * slope


def _distances(vertices, directions, phi_shift=0.0):
    phi = [p + phi_shift for p, _ in directions]
    d0, dz = zip(*(_track_from(v, p, eta) for v, p, (_, eta) in zip(vertices, phi, directions, strict=True)),
                 strict=True)
    t = lambda values: torch.tensor([values], dtype=torch.float64)  # noqa: E731
    eta = [e for _, e in directions]
    err = t([0.01] * len(d0))
    return pair_distance(t(d0), t(dz), t(phi), t(eta), err, err)


def test_pair_distance_geometry():
    sv = (1.0, 2.0, 3.0)
    dca, significance = _distances([sv, sv, (0, 0, 0)], [(0.3, 0.5), (0.5, 0.4), (0.45, 0.45)])
    assert dca[0, 0, 1] < 1e-6 and dca[0, 1, 0] < 1e-6  # tracks of one vertex meet
    assert dca[0, 0, 2] > 0.5 and significance[0, 0, 2] > 10  # a primary track passes far from it
    torch.testing.assert_close(dca[0], dca[0].T)
    # a rotation about the beam axis (vertex and tracks together) does not change distances
    c, s = math.cos(0.7), math.sin(0.7)
    rotated = (sv[0] * c - sv[1] * s, sv[0] * s + sv[1] * c, sv[2])
    dca_rot, _ = _distances([rotated, rotated, (0, 0, 0)], [(0.3, 0.5), (0.5, 0.4), (0.45, 0.45)], phi_shift=0.7)
    torch.testing.assert_close(dca_rot, dca, atol=1e-9, rtol=1e-9)


def test_pair_distance_of_parallel_tracks():
    dca, _ = _distances([(0, 0, 0), (0, 0, 1.0)], [(0.2, 0.0), (0.2, 0.0)])
    assert abs(float(dca[0, 0, 1]) - 1.0) < 1e-9


def test_group_tracks():
    linked = np.zeros((2, 4, 4), dtype=bool)
    linked[0, 0, 2] = linked[0, 1, 3] = True  # jet 0: groups {0, 2} and {1, 3}
    mask = np.array([[True, True, True, True], [True, True, False, False]])
    primary = np.array([[0.1, 0.9, 0.1, 0.8], [0.2, 0.1, 0, 0]])
    ids = group_tracks(linked, mask, primary)
    np.testing.assert_array_equal(ids[0], [1, 0, 1, 0])  # {1, 3} is primary (score 1.7)
    np.testing.assert_array_equal(ids[1], [1, 2, -1, -1])  # no group reaches 0.5: no primary vertex
    # the lower triangle is not read
    np.testing.assert_array_equal(group_tracks(np.swapaxes(linked, 1, 2), mask, primary)[0], [1, 0, 2, 3])


def test_match_vertices():
    truth = [[0, 0, 1, 1, 1, 2, 2]]
    assert match_vertices(truth, truth)["vertex_efficiency"] == 1.0
    # 2 of 3 tracks of vertex 1 (0.67 >= 0.65); vertex 2 found with a primary track added (2/3 >= 0.5)
    reco = [[0, 2, 1, 1, 0, 2, 2]]
    m = match_vertices(truth, reco)
    assert (m["n_truth_vertices"], m["n_reco_vertices"], m["n_matched_vertices"]) == (2, 2, 2)
    # one reco vertex merging both truth vertices (3/5 and 2/5 of its tracks): matches the larger one only
    m = match_vertices(truth, [[0, 0, 1, 1, 1, 1, 1]])
    assert (m["n_matched_vertices"], m["n_reco_vertices"]) == (1, 1)
    # two truth vertices with half of a reco vertex each: paired one-to-one
    m = match_vertices([[0, 1, 1, 2, 2]], [[0, 1, 1, 1, 1]])
    assert (m["n_matched_vertices"], m["vertex_efficiency"], m["vertex_purity"]) == (1, 0.5, 1.0)
    # single-track vertices do not count; jets are kept apart
    m = match_vertices([[0, 1], [1, 1]], [[0, 1], [1, 1]])
    assert m["n_truth_vertices"] == 1 and m["vertex_purity"] == 1.0
    with pytest.raises(ValueError, match="same tracks"):
        match_vertices([[0, 1]], [[0, 1, 1]])


def test_origin_confusion_and_accuracy():
    confusion = origin_confusion([[0, 0, 1, -1], [2, 3]], [[0, 1, 1, 4], [2, 0]])
    assert confusion.sum() == 5 and confusion[0, 0] == 1 and confusion[0, 1] == 1 and confusion[3, 0] == 1
    metrics = origin_metrics(confusion)
    assert metrics["track_origin_accuracy"] == pytest.approx(3 / 5)
    assert metrics["track_origin_recall_from_b"] == 1.0 and metrics["track_origin_recall_other_secondary"] is None


def test_flavour_rejection():
    labels = np.array([0] * 50 + [1] * 50 + [2] * 50)
    perfect = np.eye(3)[labels] * 0.98 + 0.01
    m = flavour_metrics(labels, perfect, ["light", "c", "b"])
    assert m["rejection_light_at_70"] == float("inf") and m["rejection_c_at_70"] == float("inf")
    rng = np.random.default_rng(0)
    random = rng.dirichlet(np.ones(3), size=150)
    assert flavour_metrics(labels, random, ["light", "c", "b"])["rejection_light_at_70"] < 3
    assert flavour_metrics(labels[:100] % 2, random[:100, :2], ["QCD", "Tbqq"]) == {}


@pytest.fixture(scope="module")
def flavour():
    return jetgnn.read_jets(BUNDLED["flavour"])


def test_classical_vertexer_finds_b_vertices(flavour):
    ids = ClassicalVertexer().predict(flavour)
    assert ak.all(ak.num(ids) == ak.num(flavour["part_d0val"]))
    m = match_vertices(flavour["part_vtx_idx"], ids)
    assert m["vertex_efficiency"] > 0.3 and m["vertex_purity"] > 0.6
    n_reco = ak.to_numpy(ak.max(ids, axis=1, initial=0))
    labels = flavour.labels
    assert n_reco[labels == 2].mean() > 3 * n_reco[labels == 0].mean()
    # a tighter impact-parameter cut finds fewer vertices
    tight = match_vertices(flavour["part_vtx_idx"], ClassicalVertexer(ip_significance=6.0).predict(flavour))
    assert tight["n_reco_vertices"] < m["n_reco_vertices"]
    with pytest.raises(InputError, match="ip_significance"):
        ClassicalVertexer(ip_significance=-1)
    with pytest.raises(InputError, match="part_d0val"):
        ClassicalVertexer().predict(ak.Array({"part_deta": [[0.1]], "jet_eta": [0.2]}))


@pytest.fixture(scope="module")
def small_vertexer(flavour):
    batch = jetgnn.build_graphs(flavour[:40], edges="none", with_edge_features=False)
    torch.manual_seed(0)
    return build_model("vertexer", InputSpec.from_batch(batch), 3, **SMALL_MODEL_PARAMS["vertexer"]).eval(), batch


def test_vertexer_outputs_and_symmetries(small_vertexer):
    model, batch = small_vertexer
    with torch.no_grad():
        out = model.forward_all(batch)
    n_max = int(torch.diff(batch.ptr).max())
    assert out["jet"].shape == (40, 3) and out["origin"].shape == (batch.num_nodes, 5)
    assert out["edge"].shape == (40, n_max, n_max) and out["mask"].sum() == batch.num_nodes
    torch.testing.assert_close(out["edge"], out["edge"].transpose(1, 2))
    torch.testing.assert_close(model(batch), out["jet"])
    # permuting the tracks of each jet leaves the jet output unchanged and permutes the track outputs
    from .test_models import _shuffle_nodes_within_jets

    shuffled = _shuffle_nodes_within_jets(batch, seed=3)
    with torch.no_grad():
        other = model.forward_all(shuffled)
    torch.testing.assert_close(other["jet"], out["jet"], rtol=1e-4, atol=1e-5)
    order = torch.argsort(shuffled.batch * 1000 + shuffled.part_index)
    torch.testing.assert_close(other["origin"][order], out["origin"], rtol=1e-4, atol=1e-5)


def test_multitask_loss_targets_and_weights(small_vertexer):
    model, batch = small_vertexer
    target, valid = same_vertex_targets(batch)
    first = slice(int(batch.ptr[0]), int(batch.ptr[1]))
    vtx = batch.vtx_idx[first]
    n = len(vtx)
    expected = (vtx[:, None] == vtx[None, :]).float()
    torch.testing.assert_close(target[0, :n, :n], expected)
    assert not valid.diagonal(dim1=1, dim2=2).any() and not valid[0, n:].any()
    out = model.forward_all(batch)
    total, parts = multitask_loss(out, batch, {"jet": 1.0, "origin": 0.5, "vertex": 1.5})
    assert set(parts) == {"jet", "origin", "vertex"}
    torch.testing.assert_close(total, parts["jet"] + 0.5 * parts["origin"] + 1.5 * parts["vertex"])
    total, parts = multitask_loss(out, batch, {"jet": 1.0, "origin": 0.0, "vertex": 0.0})
    assert set(parts) == {"jet"}


def test_vertexer_needs_impact_parameters():
    batch = jetgnn.build_graphs(jetgnn.read_jets(BUNDLED["flavour"], entry_stop=8), edges="none")
    spec = InputSpec.from_batch(batch)
    reduced = InputSpec(spec.x_names[:7], (), spec.u_names)
    with pytest.raises(InputError, match="impact parameters"):
        build_model("vertexer", reduced, 3)
    with pytest.raises(InputError, match="vertex_threshold"):
        build_model("vertexer", spec, 3, vertex_threshold=1.5)


def test_train_evaluate_predict_vertexer(tmp_path, flavour):
    run = jetgnn.train(CONFIG, out=tmp_path / "vtx", epochs=2, progress=False, overrides=SMALL)
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("vertex_efficiency", "vertex_purity", "track_origin_accuracy", "auc_b_vs_light", "auc_b_vs_c",
                "rejection_light_at_70", "rejection_c_at_70", "auc", "n_params", "train_jets_per_s"):
        assert key in metrics, key
    assert 0 <= metrics["vertex_efficiency"] <= 1 and metrics["track_origin_accuracy"] > 0.4
    assert metrics["auc_b_vs_light"] > 0.6
    assert (run / "origin_confusion.png").is_file()
    tagger = jetgnn.load_tagger(run)
    assert tagger.is_multitask
    tracks = tagger.predict_tracks(flavour[:300])
    assert ak.all(ak.num(tracks["vertex"]) == ak.num(flavour[:300]["part_d0val"]))
    assert ak.all((tracks["origin"] >= 0) & (tracks["origin"] < 5))
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(ak.sum(tracks["origin_probs"], axis=-1))), 1.0, rtol=1e-4)
    np.testing.assert_allclose(tracks["jet_probs"], tagger.predict(flavour[:300]), rtol=1e-5, atol=1e-6)

    out = tmp_path / "pred.root"
    proc = subprocess.run([sys.executable, "-m", "jetgnn", "predict", str(run), "--data", str(BUNDLED["flavour"]),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with uproot.open(out) as fin:
        pred = fin["tree"].arrays()
    assert len(pred) == len(flavour)
    for name in ("score_b", "part_pred_origin", "part_pred_vtx", "part_score_origin_from_b", "part_vtx_idx"):
        assert name in pred.fields, name
    assert ak.all(ak.num(pred.part_pred_vtx) == ak.num(flavour["part_d0val"]))
    proc = subprocess.run([sys.executable, "-m", "jetgnn", "evaluate", str(run), "--data", str(BUNDLED["flavour"]),
                           "--out", str(tmp_path / "eval")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "vertex_efficiency" in json.loads((tmp_path / "eval" / "metrics.json").read_text())


def test_predictions_follow_the_input_track_order(tmp_path, flavour):
    """Per-track outputs are returned in the order of the input, whatever order the graph builder uses."""
    run = jetgnn.train(CONFIG, out=tmp_path / "vtx", epochs=1, progress=False,
                       overrides={**SMALL, "data.max_jets": 300})
    tagger = jetgnn.load_tagger(run)
    jets = flavour[:50]
    reference = tagger.predict_tracks(jets)
    reversed_jets = jetgnn.Jets(ak.zip({f: (jets[f][:, ::-1] if f.startswith("part_") else jets[f])
                                        for f in jets.fields}, depth_limit=1), jets.label_names)
    other = tagger.predict_tracks(reversed_jets)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(other["origin_probs"][:, ::-1], axis=1)),
                               ak.to_numpy(ak.flatten(reference["origin_probs"], axis=1)), rtol=1e-4, atol=1e-5)
    assert ak.all(other["vertex"][:, ::-1] == reference["vertex"])


def test_vertexer_on_files_without_track_truth(tmp_path, flavour):
    no_truth = tmp_path / "no_truth.root"
    jets = flavour[:200]
    jetgnn.write_jets(no_truth, [jets.columns(drop=("part_origin", "part_vtx_idx"))])
    with pytest.raises(InputError, match="lack part_origin, part_vtx_idx"):
        jetgnn.train(CONFIG, out=tmp_path / "run", epochs=1, progress=False,
                     overrides={**SMALL, "data.train": [str(no_truth)]})
    # the jet-only baseline trains on them
    run = jetgnn.train(CONFIG, out=tmp_path / "jet_only", epochs=1, progress=False,
                       overrides={**SMALL, "data.train": [str(no_truth)], "training.loss_weights.origin": 0.0,
                                  "training.loss_weights.vertex": 0.0})
    metrics = json.loads((run / "metrics.json").read_text())
    assert "auc_b_vs_light" in metrics and "vertex_efficiency" not in metrics


@pytest.mark.parametrize("override,message", [
    ("training.loss_weights.vertex=-1", "'training.loss_weights.vertex' must not be negative"),
    ("training.loss_weights.track=1", "unknown key 'training.loss_weights.track'"),
])
def test_loss_weight_errors(tmp_path, override, message):
    proc = run_cli("train", CONFIG, "--out", tmp_path / "x", override)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_vertexer_reads_raw_impact_parameters_of_far_displaced_vertices():
    """Two tracks from a vertex 20 mm from the beam line (|d0| ~ 20 mm, far beyond the ~7 mm where tanh(d0) of
    the learned features saturates) meet there: the vertexer's distance-of-closest-approach feature is ~0."""
    jet_eta, jet_phi = 0.5, 0.3
    tracks = [(40.0, 0.30, 0.52), (25.0, 0.33, 0.47), (10.0, 0.25, 0.55)]  # (pT, phi, eta); the last from the PV
    sv = (20 * math.sin(0.3) + 5 * math.cos(0.3), -20 * math.cos(0.3) + 5 * math.sin(0.3), 3.0)
    columns = {name: [] for name in ("px", "py", "pz", "energy", "deta", "dphi", "d0val", "dzval")}
    for k, (pt, phi, eta) in enumerate(tracks):
        d0, dz = _track_from(sv if k < 2 else (0.0, 0.0, 0.0), phi, eta)
        for name, value in (("px", pt * math.cos(phi)), ("py", pt * math.sin(phi)), ("pz", pt * math.sinh(eta)),
                            ("energy", pt * math.cosh(eta)), ("deta", eta - jet_eta), ("dphi", phi - jet_phi),
                            ("d0val", d0), ("dzval", dz)):
            columns[name].append(value)
    part = {f"part_{k}": ak.Array([np.asarray(v, dtype=np.float32)]) for k, v in columns.items()}
    part.update({f"part_{k}": ak.Array([np.full(3, 0.01, np.float32)]) for k in ("d0err", "dzerr")})
    part["part_charge"] = ak.Array([np.ones(3, np.int32)])
    jets = jetgnn.Jets(ak.zip({**part, "jet_pt": np.array([75.0], np.float32),
                               "jet_eta": np.array([jet_eta], np.float32), "jet_phi": np.array([jet_phi], np.float32),
                               "jet_energy": np.array([90.0], np.float32)}, depth_limit=1))
    batch = jetgnn.build_graphs(jets, edges="none", with_edge_features=False)
    assert abs(float(batch.impact[0, 0])) > 19  # carried unscaled, in mm
    torch.testing.assert_close(batch.impact[:, 0], torch.tensor(columns["d0val"], dtype=torch.float32))
    model = build_model("vertexer", InputSpec.from_batch(batch), 3, **SMALL_MODEL_PARAMS["vertexer"])
    pairs, _ = model.pair_features(batch)
    dca = torch.exp(pairs[0, :, :, 4]) - 1e-3  # ln(DCA / mm + 1e-3)
    assert float(dca[0, 1]) < 1e-3, dca  # the two displaced tracks meet at the vertex
    assert float(dca[0, 2]) > 5 and float(dca[1, 2]) > 5  # the primary track passes far from it
