"""Physics sanity of the bundled samples (issue 1 §5): the generator makes the physics it claims."""

from __future__ import annotations

import awkward as ak
import numpy as np


def _mode(values, lo, hi, width):
    hist, edges = np.histogram(values, bins=np.arange(lo, hi + width, width))
    k = hist.argmax()
    return 0.5 * (edges[k] + edges[k + 1])


def test_top_softdrop_mass_peaks_at_top_mass(bundled):
    a = bundled["top"]
    sd, label = ak.to_numpy(a.jet_sdmass), ak.to_numpy(a.jet_label)
    top_peak = _mode(sd[label == 1], 0, 300, 10)
    qcd_peak = _mode(sd[label == 0], 0, 300, 10)
    assert 150 <= top_peak <= 200, top_peak
    assert qcd_peak < 60, qcd_peak
    # most top jets sit in the top-mass window, few QCD jets do
    window = (sd > 140) & (sd < 210)
    assert window[label == 1].mean() > 0.5
    assert window[label == 0].mean() < 0.2


def test_top_jets_are_three_pronged(bundled):
    a = bundled["top"]
    label = ak.to_numpy(a.jet_label)
    tau32 = ak.to_numpy(a.jet_tau3) / ak.to_numpy(a.jet_tau2)
    assert np.median(tau32[label == 1]) < np.median(tau32[label == 0]) - 0.15


def test_gluon_jets_have_more_constituents(bundled):
    a = bundled["qg"]
    n, label = ak.to_numpy(a.jet_nparticles), ak.to_numpy(a.jet_label)  # 0 = g, 1 = q
    assert n[label == 0].mean() > 1.3 * n[label == 1].mean()
    # truth partons agree with the labels
    pid = np.abs(ak.to_numpy(a.aux_parton_pid))
    assert np.all(pid[label == 0] == 21) and np.all((pid[label == 1] >= 1) & (pid[label == 1] <= 6))


def _vertex_stats(a):
    """Per jet: tracks with |d0|/sigma > 3, and displaced truth vertices with >= 2 tracks."""
    sig = np.abs(a.part_d0val) / a.part_d0err
    n_sig = ak.to_numpy(ak.sum(sig > 3, axis=1))
    vtx = a.part_vtx_idx
    n_multi = np.zeros(len(a), dtype=int)
    for v in range(1, 10):
        n_multi += ak.to_numpy(ak.sum(vtx == v, axis=1) >= 2)
    return n_sig, n_multi


def test_b_jets_have_displaced_vertices_light_jets_almost_none(bundled):
    a = bundled["flavour"]
    label = ak.to_numpy(a.jet_label)  # 0 light, 1 c, 2 b
    n_sig, n_multi = _vertex_stats(a)
    b, c, light = label == 2, label == 1, label == 0
    assert n_sig[b].mean() > 2.0 and n_sig[light].mean() < 0.3
    assert (n_multi[b] >= 1).mean() > 0.6
    assert (n_multi[light] >= 1).mean() < 0.05
    assert (n_multi[b] >= 1).mean() > (n_multi[c] >= 1).mean() > (n_multi[light] >= 1).mean()
    # the tracks of displaced vertices in b jets are mostly from the b decay chain
    in_sv = (a.part_vtx_idx > 0)[b]
    origin = a.part_origin[b][in_sv]
    assert ak.mean((origin == 1) | (origin == 2)) > 0.8
    # truth vertices are displaced: their tracks have large impact parameters on average
    sig = (np.abs(a.part_d0val) / a.part_d0err)[b]
    assert ak.mean(sig[in_sv]) > 5 * ak.mean(sig[a.part_vtx_idx[b] == 0])


def test_origin_agrees_with_vertex_truth(bundled):
    """Primary tracks sit at the primary vertex; "other secondary" tracks are displaced; light jets have few."""
    a = bundled["flavour"]
    origin, vtx = a.part_origin, a.part_vtx_idx
    assert ak.all(vtx[origin == 0] == 0)
    assert ak.all(vtx[origin == 4] > 0)
    light = ak.to_numpy(a.jet_label) == 0
    assert ak.mean(origin[light] == 0) > 0.9


def test_labels_balanced(bundled):
    for task, expected in {"qg": [1000, 1000], "top": [1000, 1000], "flavour": [667, 667, 666]}.items():
        counts = np.bincount(ak.to_numpy(bundled[task].jet_label), minlength=len(expected))
        assert sorted(counts.tolist()) == sorted(expected), (task, counts)


def test_impact_parameter_pulls_of_prompt_tracks_are_unit_gaussian(bundled):
    """Primary tracks have true d0 = 0, so d0/sigma is the smearing pull: mean 0, width 1."""
    a = bundled["top"]
    prompt = (a.part_charge != 0) & (a.part_origin == 0)
    pull = ak.to_numpy(ak.flatten((a.part_d0val / ak.where(prompt, a.part_d0err, 1.0))[prompt]))
    assert abs(pull.mean()) < 0.05
    assert 0.95 < pull.std() < 1.05
