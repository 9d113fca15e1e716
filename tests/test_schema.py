"""Every SPEC §2 branch is present, typed and self-consistent in the bundled and freshly generated files."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

from jetgnn.io.schema import JET_BRANCHES, LABELS, PARTICLE_BRANCHES, label_branches

vector.register_awkward()
TASKS = ("qg", "top", "flavour")


def _check_schema(a: ak.Array, task: str):
    fields = set(a.fields)
    for name in (*PARTICLE_BRANCHES, *JET_BRANCHES, *label_branches(task)):
        assert name in fields, f"branch {name} missing"
    for name, dtype in PARTICLE_BRANCHES.items():
        assert str(ak.type(a[name]).content.content) == dtype, name
    counts = ak.to_numpy(ak.num(a.part_px))
    assert np.array_equal(counts, ak.to_numpy(a.jet_nparticles))
    for name in PARTICLE_BRANCHES:
        assert np.array_equal(ak.to_numpy(ak.num(a[name])), counts), name
    # one-hot labels agree with jet_label
    onehot = np.stack([ak.to_numpy(a[b]) for b in label_branches(task)], axis=1)
    assert np.all(onehot.sum(axis=1) == 1)
    assert np.array_equal(onehot.argmax(axis=1), ak.to_numpy(a.jet_label))
    # constituents sorted by decreasing pT
    pt = np.hypot(a.part_px, a.part_py)
    assert ak.all(pt[:, 1:] <= pt[:, :-1] * (1 + 1e-6))
    # relative coordinates agree with the 4-momenta and the jet axis; dphi wrapped
    p4 = ak.zip({"px": a.part_px, "py": a.part_py, "pz": a.part_pz, "E": a.part_energy}, with_name="Momentum4D")
    deta = p4.eta - a.jet_eta
    dphi = (p4.phi - a.jet_phi + np.pi) % (2 * np.pi) - np.pi
    assert ak.max(abs(deta - a.part_deta)) < 1e-3
    assert ak.max(abs(dphi - a.part_dphi)) < 1e-3
    assert ak.max(abs(a.part_dphi)) <= np.pi
    # neutrals: no impact parameters, vtx and origin -1; charged: positive errors
    neutral = a.part_charge == 0
    for name in ("part_d0val", "part_d0err", "part_dzval", "part_dzerr"):
        assert ak.all(a[name][neutral] == 0), name
    assert ak.all(a.part_vtx_idx[neutral] == -1) and ak.all(a.part_origin[neutral] == -1)
    assert ak.all(a.part_d0err[~neutral] > 0) and ak.all(a.part_dzerr[~neutral] > 0)
    assert ak.all((a.part_origin[~neutral] >= 0) & (a.part_origin[~neutral] <= 4))
    assert ak.all(a.part_vtx_idx[~neutral] >= 0)
    # flags: exactly one type per particle
    flags = sum(a[f"part_is{t}"] for t in ("ChargedHadron", "NeutralHadron", "Photon", "Electron", "Muon"))
    assert ak.all(flags == 1)
    # substructure ranges
    assert np.all(ak.to_numpy(a.jet_sdmass) <= ak.to_numpy(a.jet_mass) * (1 + 1e-4) + 1e-3)
    tau1, tau2, tau3 = (ak.to_numpy(a[f"jet_tau{n}"]) for n in (1, 2, 3))
    assert np.all((tau1 >= tau2 - 1e-6) & (tau2 >= tau3 - 1e-6) & (tau3 >= 0))
    assert np.all(np.isfinite(ak.to_numpy(a.jet_mass)))


@pytest.mark.parametrize("task", TASKS)
def test_bundled_schema(bundled, task):
    _check_schema(bundled[task], task)


def test_generated_file_has_every_branch(generated_top):
    path, proc = generated_top
    with uproot.open(path) as fin:
        tree = fin["tree"]
        assert tree.num_entries == 200
        assert isinstance(tree, uproot.TTree)  # a classic TTree, not an RNTuple
        a = tree.arrays()
    _check_schema(a, "top")
    label = ak.to_numpy(a.jet_label)
    assert np.array_equal(np.bincount(label), [100, 100])
    # the physics validation holds on this small file too
    sd = ak.to_numpy(a.jet_sdmass)
    assert 150 <= np.median(sd[label == 1]) <= 200 and np.median(sd[label == 0]) < 60
    # progress and the closing summary went to stderr
    assert "jets/s" in proc.stderr and "Pythia total" in proc.stderr


@pytest.mark.parametrize("task", ("qg", "top"))
def test_jet_kinematics_equal_constituent_sum(bundled, task):
    """qg and top jets store all constituents, so the jet 4-vector is their sum (E scheme)."""
    a = bundled[task]
    p4 = ak.zip({"px": a.part_px, "py": a.part_py, "pz": a.part_pz, "E": a.part_energy}, with_name="Momentum4D")
    total = ak.sum(p4, axis=1)
    np.testing.assert_allclose(ak.to_numpy(total.pt), ak.to_numpy(a.jet_pt), rtol=1e-4)
    np.testing.assert_allclose(ak.to_numpy(total.mass), ak.to_numpy(a.jet_mass), rtol=2e-3, atol=0.05)


def test_jet_selection_windows(bundled):
    """pT and |eta| windows of SPEC §3 (qg cuts on rapidity; checked loosely via eta)."""
    for task, (lo, hi, eta_max) in {"qg": (500, 550, 2.0), "top": (550, 650, 2.0), "flavour": (20, 250, 2.5)}.items():
        a = bundled[task]
        pt, eta = ak.to_numpy(a.jet_pt), ak.to_numpy(a.jet_eta)
        assert pt.min() >= lo * 0.999 and pt.max() <= hi * 1.001, task
        assert np.abs(eta).max() <= eta_max, task


def test_flavour_constituents_are_tracks(bundled):
    a = bundled["flavour"]
    assert ak.all(a.part_charge != 0)
    assert ak.min(np.hypot(a.part_px, a.part_py)) >= 1.0


def test_labels_names():
    assert LABELS["top"] == ("QCD", "Tbqq")
    assert label_branches("flavour") == ["label_light", "label_c", "label_b"]
