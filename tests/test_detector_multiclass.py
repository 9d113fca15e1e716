"""The fast detector (``generate --detector simple``), the five-class sample (``generate multiclass``) with the
hls4ml jet features, and multiclass metrics through train / evaluate / benchmark."""

from __future__ import annotations

import itertools
import json

import awkward as ak
import numpy as np
import pytest

from tests.conftest import DATA

pytest.importorskip("fastjet")

from jetgnn.generation.detector import DETECTORS, HCAL_NEUTRAL_PID, FastDetector  # noqa: E402

CARD = DETECTORS["simple"]
MULTICLASS = DATA / "multiclass_1k.root"
TOP_DETECTOR = DATA / "top_detector_1k.root"
CONFIGS = DATA.parent / "configs"


def _particles(pid, charge, pt, eta, phi):
    """Flat (px, py, pz, e, pid, charge, index) arrays of massless-ish particles (pions get their mass)."""
    pid, charge, pt, eta, phi = (np.atleast_1d(np.asarray(a)) for a in (pid, charge, pt, eta, phi))
    pid, charge = np.broadcast_arrays(pid, charge)
    n = max(len(pid), len(pt))
    pid, charge, pt, eta, phi = (np.broadcast_to(a, n).copy() for a in (pid, charge, pt, eta, phi))
    mass = np.where(np.abs(pid) == 211, 0.13957, np.where(np.abs(pid) == 13, 0.10566, 0.0))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return px, py, pz, e, pid.astype(np.int64), charge.astype(np.int64), np.arange(n, dtype=np.int64) + 1


def _simulate(*particle, seed=0):
    return FastDetector(CARD).simulate(*_particles(*particle), rng=np.random.default_rng(seed))


def test_a_photon_becomes_one_ecal_tower_at_its_cell_with_calorimeter_resolution():
    energies, etas = [], []
    for seed in range(300):
        c = _simulate(22, 0, 100.0, 0.3, 1.0, seed=seed)
        assert len(c) == 1 and c.pid[0] == 22 and c.charge[0] == 0 and c.truth[0] == -1
        energies.append(c.e[0])
        etas.append(np.arcsinh(c.pz[0] / np.hypot(c.px[0], c.py[0])))
    energy = 100.0 * np.cosh(0.3)
    _, c, s, n = CARD.ecal_resolution[0]
    expected = np.sqrt((c * energy) ** 2 + s**2 * energy + n**2) / energy
    assert np.mean(energies) / energy == pytest.approx(1.0, abs=0.004)  # unbiased (log-normal with mean E)
    assert np.std(energies) / energy == pytest.approx(expected, rel=0.15)
    spread = np.array(etas) - 0.3
    assert np.max(np.abs(spread)) <= CARD.ecal_cell[0] + 1e-9  # within the cell, drawn uniformly in it
    assert np.std(spread) == pytest.approx(CARD.ecal_cell[0] / np.sqrt(12), rel=0.2)


def test_tracks_are_smeared_with_the_card_resolution_and_keep_their_truth_index():
    ratios = []
    for seed in range(400):
        c = _simulate(211, 1, 100.0, 0.2, -2.0, seed=seed)
        tracks = c.charge != 0
        if tracks.any():
            assert c.truth[tracks][0] == 1 and c.pid[tracks][0] == 211
            ratios.append(np.hypot(c.px[tracks][0], c.py[tracks][0]) / 100.0)
    a, b = CARD.track_resolution[0][1:]
    assert np.std(ratios) == pytest.approx(np.hypot(a, b * 100.0), rel=0.15)
    assert len(ratios) / 400 == pytest.approx(CARD.track_efficiency[0][2], abs=0.03)  # above 1 GeV, central


def test_energy_flow_subtracts_tracked_energy_and_recovers_what_the_tracker_missed():
    # a tracked 50 GeV pion: its HCAL energy is subtracted; a fake neutral only from calorimeter fluctuations
    fakes, totals = 0, []
    for seed in range(400):
        c = _simulate(211, 1, 50.0, 0.0, 0.5, seed=seed)
        if (c.charge != 0).any():
            fakes += int((c.charge == 0).any())
            totals.append(c.e.sum())
    assert fakes / len(totals) < 0.1  # a 2 sigma excess is needed
    assert np.mean(totals) / 50.0 == pytest.approx(1.0, abs=0.05)
    # an untracked one comes back as a neutral hadron with the HCAL resolution
    lost = [c.e for c in (_simulate(211, 1, 50.0, 0.0, 0.5, seed=s) for s in range(400)) if (c.charge == 0).all()]
    assert 0 < len(lost) < 60 and all(len(e) == 1 for e in lost)
    # beyond the tracker (|eta| = 2.8) the pion is a neutral hadron tower
    c = _simulate(211, 1, 50.0, 2.8, 0.5)
    assert len(c) == 1 and c.pid[0] == HCAL_NEUTRAL_PID and c.charge[0] == 0
    # muons leave tracks, no calorimeter energy; neutrinos would not be here (visible particles only)
    for seed in range(20):
        assert list(_simulate(13, -1, 30.0, 0.0, 0.0, seed=seed).pid) in ([13], [])
    # soft tracks: 0.7 GeV central pions are found with the low-pT efficiency
    found = np.mean([(_simulate(211, 1, 0.7, 0.1, 0.0, seed=s).charge != 0).any() for s in range(400)])
    assert found == pytest.approx(CARD.track_efficiency[0][1], abs=0.05)


def test_the_detector_is_reproducible_and_vectorised_over_an_event():
    rng = np.random.default_rng(3)
    n = 300
    particles = (rng.choice([22, 211, -211, 130, 2112], n), None, rng.exponential(5.0, n), rng.normal(0, 1.5, n),
                 rng.uniform(-np.pi, np.pi, n))
    charge = np.where(np.isin(particles[0], [211]), 1, np.where(particles[0] == -211, -1, 0))
    first = _simulate(particles[0], charge, *particles[2:], seed=9)
    again = _simulate(particles[0], charge, *particles[2:], seed=9)
    for field in ("px", "py", "pz", "e", "pid", "charge", "truth"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    # towers merge nearby neutrals: fewer candidates than particles, energy conserved within resolution
    visible = np.abs(_particles(particles[0], charge, *particles[2:])[2]) < np.inf
    assert len(first) < n
    total_in = _particles(particles[0], charge, *particles[2:])[3][np.abs(particles[3]) < CARD.calo_eta_max].sum()
    assert visible.all() and first.e.sum() / total_in == pytest.approx(1.0, abs=0.1)


# -- generated detector-level jets -----------------------------------------------------------------------------
def test_detector_level_top_jets_have_fewer_constituents_and_keep_truth(bundled):
    import jetgnn
    from jetgnn.io import generation_metadata

    meta = generation_metadata(TOP_DETECTOR)
    assert meta["detector"] == "simple" and meta["detector_card"]["hcal_cell"] == list(CARD.hcal_cell)
    assert meta["process"] == "top" and meta["seed"] == 15
    assert generation_metadata(DATA / "top_2k.root") is None  # files of before: no record
    det = jetgnn.read_jets(TOP_DETECTOR)
    hadron = bundled["top"]
    assert np.median(ak.to_numpy(det.jet_nparticles)) < 0.95 * np.median(ak.to_numpy(hadron["jet_nparticles"]))
    pid = ak.to_numpy(ak.flatten(det["part_pid"]))
    charge = ak.to_numpy(ak.flatten(det["part_charge"]))
    assert set(np.unique(pid[charge == 0])) <= {22, 130}  # neutral candidates are towers
    top = det.labels == 1
    sd = ak.to_numpy(det["jet_sdmass"])[top]
    assert 160 < np.median(sd[sd > 100]) < 190
    # the jet mass scale survives the detector (resolution jet by jet: benchmarks/detector_validation.py)
    hadron_top = ak.to_numpy(hadron["jet_mass"])[ak.to_numpy(hadron["jet_label"]) == 1]
    assert np.median(ak.to_numpy(det.jet_mass)[top]) / np.median(hadron_top) == pytest.approx(1.0, abs=0.05)
    sd_hadron = ak.to_numpy(hadron["jet_sdmass"])[ak.to_numpy(hadron["jet_label"]) == 1]
    width = {level: np.subtract(*np.percentile(v[(v > 120) & (v < 220)], [84, 16])) / 2
             for level, v in (("hadron", sd_hadron), ("detector", sd))}
    assert width["hadron"] * 0.8 < width["detector"] < width["hadron"] * 1.6  # the peak broadens a little
    # truth vertices survive: tracks of b-hadron decays are displaced and grouped
    assert (ak.to_numpy(ak.flatten(det["part_vtx_idx"])) > 0).any()
    d0 = ak.to_numpy(ak.flatten(det["part_d0val"]))
    assert np.all(d0[charge == 0] == 0) and np.any(d0[charge != 0] != 0)


def test_detector_generation_is_reproducible_and_resumes_only_its_own_setting(tmp_path):
    from jetgnn.errors import InputError
    from jetgnn.generation import generate

    a = generate("top", 60, tmp_path / "a.root", seed=4, workers=2, progress=False, detector="simple")
    b = generate("top", 60, tmp_path / "b.root", seed=4, workers=1, chunk_size=a.chunk_size, progress=False,
                 detector="simple")
    assert a.detector == "simple" and "detector" in a.summary()
    import uproot

    with uproot.open(a.out) as fa, uproot.open(b.out) as fb:
        for name in ("part_px", "part_pid", "jet_mass", "jet_label"):
            assert ak.all(fa["tree"][name].array() == fb["tree"][name].array())
    # a parts folder of a hadron-level run is not mixed into a detector-level one
    parts = tmp_path / "c.root.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text(json.dumps({"process": "top", "n_jets": 60, "seed": 4,
                                                     "chunk_size": a.chunk_size, "format": 1}))
    with pytest.raises(InputError, match="different generation run"):
        generate("top", 60, tmp_path / "c.root", seed=4, progress=False, detector="simple")
    with pytest.raises(InputError, match="unknown --detector 'fancy'"):
        generate("top", 60, tmp_path / "d.root", detector="fancy")


def test_flavour_at_detector_level_keeps_vertex_truth_and_labels():
    from jetgnn.generation.chunk import generate_chunk

    columns, timing = generate_chunk("flavour", 5, 0, 60, 60, detector="simple")
    assert timing.detector_s > 0
    labels = columns["jet_label"]
    assert sorted(np.bincount(labels, minlength=3)) == [20, 20, 20]
    origin = ak.to_numpy(ak.flatten(columns["part_origin"][labels == 2]))
    assert (origin == 1).mean() > 0.1  # b jets: tracks from the b-hadron decay
    assert ak.all(columns["part_charge"] != 0)  # the flavour recipe keeps tracks only


# -- five-class jets and the hls4ml features ------------------------------------------------------------------
def _brute_force_ecf(z, y, phi, npoint, beta, angles):
    total = 0.0
    for combo in itertools.combinations(range(len(z)), npoint):
        pair_angles = sorted(np.hypot(y[a] - y[b], (phi[a] - phi[b] + np.pi) % (2 * np.pi) - np.pi) ** beta
                             for a, b in itertools.combinations(combo, 2))
        total += np.prod(z[list(combo)]) * np.prod(pair_angles if angles < 0 else pair_angles[:angles])
    return total


def test_energy_correlators_match_their_definition():
    from jetgnn.generation.substructure import energy_correlators

    rng = np.random.default_rng(1)
    counts = np.array([6, 2, 8])
    pt = rng.uniform(1, 50, counts.sum())
    y = rng.normal(0, 0.3, counts.sum())
    phi = rng.normal(3.1, 0.3, counts.sum())  # across the phi = pi boundary
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(y)
    e = np.sqrt(px**2 + py**2 + pz**2)
    starts = np.cumsum(counts) - counts
    for npoint, beta, angles in ((2, 1, -1), (2, 0, -1), (3, 1, -1), (3, 2, 1), (3, 1, 2)):
        got = energy_correlators(px, py, pz, e, counts, npoint, beta, angles)
        for k, (s, n) in enumerate(zip(starts, counts, strict=True)):
            z = pt[s:s + n] / pt[s:s + n].sum()
            want = _brute_force_ecf(z, y[s:s + n], phi[s:s + n], npoint, beta, angles) if n >= npoint else 0.0
            assert got[k] == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_the_multiclass_sample_has_five_balanced_classes_and_the_16_features():
    import uproot

    from jetgnn.generation.substructure import HLS4ML_FEATURES
    from jetgnn.io.files import generation_metadata

    assert len(HLS4ML_FEATURES) == 16
    assert generation_metadata(MULTICLASS)["detector"] == "none"
    with uproot.open(MULTICLASS) as fin:
        a = fin["tree"].arrays(library="np")
    assert np.bincount(a["jet_label"]).tolist() == [200] * 5
    for k, name in enumerate("gqWZt"):
        assert np.array_equal(a[f"label_{name}"], (a["jet_label"] == k).astype(np.int32))
    for name in HLS4ML_FEATURES:
        assert np.isfinite(a[name]).all(), name
    assert np.array_equal(a["jet_multiplicity"], a["jet_nparticles"])
    assert np.allclose(a["jet_mass_mmdt"], a["jet_sdmass"], rtol=1e-5)  # the same grooming
    assert np.allclose(a["jet_d2_a1_b1_mmdt"], a["jet_d2_b1_mmdt"])  # identical by definition
    # z log z of the dataset's processing code: energy fractions of all constituents (not pT fractions)
    z = [e / e.sum() for e in a["part_energy"]]
    assert np.allclose(a["jet_zlogz"], [np.sum(x * np.log(x)) for x in z], rtol=1e-4)
    assert not np.allclose(a["jet_zlogz"], [np.sum(x * np.log(x)) for x in
                                            (np.hypot(px, py) / np.hypot(px, py).sum()
                                             for px, py in zip(a["part_px"], a["part_py"], strict=True))], rtol=1e-4)
    assert np.all((a["jet_pt"] > 800) & (a["jet_pt"] < 1600))
    mmdt = {name: np.median(a["jet_mass_mmdt"][a["jet_label"] == k]) for k, name in enumerate("gqWZt")}
    assert 70 < mmdt["W"] < mmdt["Z"] < 100 and mmdt["Z"] - mmdt["W"] > 5  # m_Z - m_W = 10.8 GeV
    assert 160 < mmdt["t"] < 185 and mmdt["q"] < mmdt["W"]
    d2 = {name: np.median(a["jet_d2_b1_mmdt"][a["jet_label"] == k]) for k, name in enumerate("gqWZt")}
    assert d2["W"] < d2["q"] and d2["Z"] < d2["g"]  # two-prong jets have small D2
    n = {name: np.median(a["jet_multiplicity"][a["jet_label"] == k]) for k, name in enumerate("gqWZt")}
    assert n["g"] > n["q"]


def test_multiclass_training_reports_every_class_and_a_confusion_matrix(tmp_path, capsys):
    from jetgnn.cli import main

    rc = main(["train", str(CONFIGS / "multiclass_mlp.yaml"), "--out", str(tmp_path / "r"), "--epochs", "10", "-q"])
    out = capsys.readouterr().out
    assert rc == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    for name in "gqWZt":
        assert 0.5 < metrics[f"auc_{name}_vs_rest"] <= 1.0
        assert f"auc_{name}_vs_rest" in out
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.shape == (5, 5) and confusion.sum() == metrics["n_jets"]
    assert np.trace(confusion) / confusion.sum() == pytest.approx(metrics["accuracy"])
    assert metrics["auc"] == metrics["auc_t_vs_rest"]
    assert (tmp_path / "r" / "confusion.png").stat().st_size > 10_000
    # the model is the hls4ml one: 16 -> 64 -> 32 -> 32 -> 5 on the jet features only
    import jetgnn

    tagger = jetgnn.load_tagger(tmp_path / "r")
    assert tagger.label_names == ["g", "q", "W", "Z", "t"]
    assert tagger.predict(jetgnn.read_jets(MULTICLASS, entry_stop=50)).shape == (50, 5)


def test_a_five_class_file_is_read_with_five_labels_not_the_qg_pair():
    import jetgnn

    jets = jetgnn.read_jets(MULTICLASS, entry_stop=20)
    assert jets.label_names == ["g", "q", "W", "Z", "t"]
    assert "jet_d2_b1_mmdt" in jets


def test_the_benchmark_table_lists_one_vs_rest_aucs():
    from jetgnn.benchmarking.report import markdown_report

    stats = {"mean": {"auc": 0.9, "auc_g_vs_rest": 0.8, "auc_t_vs_rest": 0.9}, "std": {"auc_g_vs_rest": 0.01},
             "ensemble": {"auc": 0.91, "accuracy": 0.7}}
    text = markdown_report({"task": "multiclass", "seeds": 2, "n_train_jets": 10, "n_test_jets": 5, "test": [],
                            "models": {"mlp": stats}})
    assert "| model | g | t |" in text and "| mlp | 0.8000 ± 0.0100 | 0.9000 |" in text


# -- the DL1-style baseline ------------------------------------------------------------------------------------
def test_high_level_flavour_features_separate_b_jets_and_train_a_dl1_style_mlp(tmp_path):
    import jetgnn
    from jetgnn.vertexing import HIGH_LEVEL_FEATURES, high_level_features

    jets = jetgnn.read_jets(DATA / "flavour_2k.root")
    features = high_level_features(jets, chunk_size=700)  # several chunks
    assert set(features) == set(HIGH_LEVEL_FEATURES) and all(len(v) == len(jets) for v in features.values())
    light, b = jets.labels == 0, jets.labels == 2
    assert np.mean(features["jet_hl_sv_mass"][b]) > 5 * np.mean(features["jet_hl_sv_mass"][light])
    assert np.median(features["jet_hl_ip_sig_1"][b]) > 3 * np.median(features["jet_hl_ip_sig_1"][light])
    assert np.all(features["jet_hl_sv_ntracks"][features["jet_hl_n_sv"] == 0] == 0)
    assert np.all(features["jet_hl_sv_ntracks"] >= 2 * features["jet_hl_n_sv"])
    assert np.all((features["jet_hl_sv_energy_fraction"] >= 0) & (features["jet_hl_sv_energy_fraction"] <= 1 + 1e-6))
    path = tmp_path / "flavour_hl.root"
    jetgnn.write_jets(path, [{**jets.columns(), **features}])
    run = jetgnn.train(CONFIGS / "flavour_dl1.yaml", out=tmp_path / "dl1", train=[str(path)], epochs=3,
                       progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["auc_b_vs_light"] > 0.85 and metrics["rejection_light_at_70"] > 5
    assert jetgnn.load_tagger(run).model.global_index.numel() == len(HIGH_LEVEL_FEATURES) + 2  # + jet pT, eta
