"""Unit tests of the generator's building blocks (no Pythia needed for most)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from jetgnn.generation.impact import impact_parameters, resolution, smeared_impact_parameters
from jetgnn.generation.pdg import heavy_flavour
from jetgnn.generation.recipes import RECIPES
from jetgnn.generation.runner import default_chunk_size
from jetgnn.generation.truth import group_vertices, origin_from_ancestors
from jetgnn.io.schema import type_flags


@pytest.mark.parametrize("pid,flavour", [(521, 5), (-511, 5), (5122, 5), (531, 5), (421, 4), (-411, 4), (4122, 4),
                                         (10421, 4), (211, 0), (2212, 0), (5, 0), (11, 0), (22, 0), (130, 0)])
def test_heavy_flavour(pid, flavour):
    assert heavy_flavour(pid) == flavour


def test_type_flags_are_exclusive():
    pid = np.array([211, -211, 22, 11, -13, 130, 2112, 321])
    charge = np.array([1, -1, 0, -1, 1, 0, 0, 1])
    flags = type_flags(pid, charge)
    total = sum(flags.values())
    assert np.all(total == 1)
    assert flags["part_isPhoton"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert flags["part_isNeutralHadron"].tolist() == [0, 0, 0, 0, 0, 1, 1, 0]
    assert flags["part_isMuon"][4] == 1 and flags["part_isElectron"][3] == 1


def test_impact_parameters_geometry():
    # a track along +x produced 1 mm above the beam line in y: |d0| = 1 mm; dz = z at closest approach
    d0, dz = impact_parameters(np.array([0.0, 2.0]), np.array([1.0, 0.0]), np.array([0.5, 3.0]),
                               np.array([10.0, 10.0]), np.array([0.0, 0.0]), np.array([0.0, 10.0]))
    assert d0[0] == pytest.approx(-1.0) and dz[0] == pytest.approx(0.5)
    # a track pointing back to the beam line has d0 = 0 and its z extrapolated back
    assert d0[1] == pytest.approx(0.0) and dz[1] == pytest.approx(3.0 - 2.0)


def test_resolution_falls_with_momentum():
    s_lo, _ = resolution(np.array([1.0]), np.array([0.0]), np.array([0.0]))
    s_hi, z_hi = resolution(np.array([1000.0]), np.array([0.0]), np.array([0.0]))
    assert s_lo[0] == pytest.approx(np.hypot(0.010, 0.070)) and s_hi[0] == pytest.approx(0.010, rel=1e-3)
    assert z_hi[0] == pytest.approx(0.040, rel=1e-3)


def test_smearing_zero_for_neutrals_and_reproducible():
    args = [np.ones(5)] * 6 + [np.array([1, 0, -1, 0, 1])]
    a = smeared_impact_parameters(*args, rng=np.random.default_rng(3))
    b = smeared_impact_parameters(*args, rng=np.random.default_rng(3))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert np.all(a[0][[1, 3]] == 0) and np.all(a[1][[0, 2, 4]] > 0)


def test_group_vertices():
    pv = None
    far1, far1b, far2 = (1.0, 0.0, 0.0), (1.05, 0.0, 0.0), (3.0, 1.0, 0.0)
    near_pv = (0.01, 0.0, 0.0)
    assert group_vertices([pv, far1, far2, far1b, near_pv, pv]) == [0, 1, 2, 1, 0, 0]
    assert group_vertices([]) == []


@pytest.mark.parametrize("task", list(RECIPES))
@pytest.mark.parametrize("n", [1, 7, 50, 1000])
def test_quotas_sum_to_chunk(task, n):
    quotas = RECIPES[task].quotas(n)
    assert sum(sum(q.values()) for q in quotas) == n
    per_class = np.zeros(len(RECIPES[task].labels), dtype=int)
    for q in quotas:
        for k, v in q.items():
            per_class[k] += v
    assert per_class.max() - per_class.min() <= 1


@pytest.mark.parametrize("task", list(RECIPES))
@pytest.mark.parametrize("n,chunk", [(2000, 500), (1001, 50), (200, 50), (7, 3)])
def test_chunk_quotas_add_up_to_the_run_quotas(task, n, chunk):
    recipe = RECIPES[task]
    total = [dict.fromkeys(q, 0) for q in recipe.quotas(n)]
    for i in range(-(-n // chunk)):
        quotas = recipe.chunk_quotas(n, chunk, i)
        assert sum(sum(q.values()) for q in quotas) == min(chunk, n - i * chunk)
        for s, q in enumerate(quotas):
            for c, v in q.items():
                assert v >= 0
                total[s][c] += v
    assert total == recipe.quotas(n)


def test_default_chunk_size_ignores_workers():
    assert default_chunk_size(200) == 50 and default_chunk_size(2000) == 500 and default_chunk_size(10**6) == 1000


def test_softdrop_matches_fjcontrib(bundled):
    """Our vectorised soft drop equals fjcontrib's SoftDrop (fastjet package) on real top and QCD jets."""
    import warnings

    import fastjet

    from jetgnn.generation.substructure import softdrop_mass

    a = bundled["top"][:300]
    counts = ak.to_numpy(ak.num(a.part_px))
    flat = [ak.to_numpy(ak.flatten(a[f])).astype(np.float64) for f in ("part_px", "part_py", "part_pz", "part_energy")]
    ours = softdrop_mass(*flat, counts, z_cut=0.1)
    jets = ak.zip({k: ak.unflatten(v, counts) for k, v in zip(("px", "py", "pz", "E"), flat, strict=True)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fastjet.ClusterSequence(jets, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0))
        ref = ak.to_numpy(ref.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=0.8).msoftdrop)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours, ak.to_numpy(a.jet_sdmass), rtol=1e-3, atol=0.05)


def test_origin_classes():
    assert origin_from_ancestors(5, -1) == 1 and origin_from_ancestors(5, 9) == 2
    assert origin_from_ancestors(-1, 9) == 3 and origin_from_ancestors(-1, 9, displaced=False) == 3
    assert origin_from_ancestors(-1, -1) == 4  # e.g. a tau decay product 1 mm away
    assert origin_from_ancestors(-1, -1, displaced=False) == 0  # rho -> pi pi at the primary vertex
