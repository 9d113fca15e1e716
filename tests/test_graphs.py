"""jetgnn.build_graphs: exact edges, features, invariances, odd jets and bad parameters."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch

import jetgnn
from jetgnn.errors import InputError
from jetgnn.io.jets import Jets

from .conftest import BUNDLED


@pytest.fixture(scope="module")
def top():
    return jetgnn.read_jets(BUNDLED["top"], entry_stop=300)


def _edge_set(batch, graph=None):
    ei = batch.edge_index if graph is None else batch.get_example(graph).edge_index
    return set(map(tuple, ei.t().tolist()))


def _brute_force_delta_r(jets: Jets, j: int, radius: float, max_particles: int):
    deta = ak.to_numpy(jets.part_deta[j])[:max_particles]
    dphi = ak.to_numpy(jets.part_dphi[j])[:max_particles]
    d_eta = deta[:, None] - deta[None, :]
    d_phi = (dphi[:, None] - dphi[None, :] + np.pi) % (2 * np.pi) - np.pi
    dr = np.hypot(d_eta, d_phi)
    target, source = np.nonzero((dr < radius) & ~np.eye(len(deta), dtype=bool))
    return set(zip(source.tolist(), target.tolist(), strict=True)), dr


def test_spec_api_and_shapes(top):
    batch = jetgnn.build_graphs(top[:128], edges="delta_r", radius=0.4)
    assert batch.num_graphs == 128
    assert "delta_r" in batch.edge_attr_names and "jet_mass" in batch.u_names
    n = np.minimum(ak.to_numpy(top.jet_nparticles[:128]), 128)
    assert batch.x.shape == (n.sum(), len(batch.x_names)) and batch.pos.shape == (n.sum(), 2)
    assert torch.equal(batch.ptr, torch.from_numpy(np.concatenate([[0], np.cumsum(n)])))
    assert batch.edge_attr.shape == (batch.edge_index.shape[1], len(batch.edge_attr_names))
    assert batch.u.shape == (128, len(batch.u_names)) and batch.y.shape == (128,)
    assert torch.isfinite(batch.x).all() and torch.isfinite(batch.edge_attr).all()
    # edges never cross jets
    assert torch.equal(batch.batch[batch.edge_index[0]], batch.batch[batch.edge_index[1]])


def test_delta_r_edges_are_exact(top):
    batch = jetgnn.build_graphs(top[:40], edges="delta_r", radius=0.3, max_particles=50)
    for j in range(40):
        expected, dr = _brute_force_delta_r(top, j, 0.3, 50)
        assert _edge_set(batch, j) == expected
        example = batch.get_example(j)
        col = batch.edge_attr_names.index("delta_r")
        src, dst = example.edge_index
        np.testing.assert_allclose(example.edge_attr[:, col].numpy(), dr[dst.numpy(), src.numpy()], atol=1e-5)


def _reference_pair_features(jets: Jets, j: int) -> np.ndarray:
    """[n, n, 5] EDGE_FEATURES of every ordered pair of jet j's particles (input order), from the documented
    formulas."""
    px, py, pz, e = (ak.to_numpy(jets[f][j]).astype(np.float64) for f in
                     ("part_px", "part_py", "part_pz", "part_energy"))
    _, dr = _brute_force_delta_r(jets, j, 0.0, len(px))
    pt = np.hypot(px, py)
    pt_min = np.minimum(pt[:, None], pt[None, :])
    m2 = (e[:, None] + e[None, :]) ** 2 - sum((v[:, None] + v[None, :]) ** 2 for v in (px, py, pz))
    clamp = np.log(1e-8)
    return np.stack([dr, np.log(np.maximum(dr, 1e-8)), np.maximum(np.log(pt_min * np.maximum(dr, 1e-8)), clamp),
                     np.maximum(np.log(pt_min / (pt[:, None] + pt[None, :])), clamp),
                     np.log(np.maximum(m2, 1e-8))], axis=-1)


@pytest.mark.parametrize("edges", ["delta_r", "knn"])
def test_edges_are_ordered_and_pair_features_follow_their_formulas(top, edges):
    """Both edge builders: edges sorted by target then source (self loops in place), and every edge's five
    features equal to the documented formulas of its two particles (the ΔR builder computes each pair once and
    writes it for both directions)."""
    batch = jetgnn.build_graphs(top[:12], edges=edges, radius=0.5, k=6, max_particles=40, self_loops=True)
    for j in range(12):
        example = batch.get_example(j)
        src, dst = example.edge_index.numpy()
        if edges == "delta_r":
            assert np.all(np.diff(dst * 1000 + src) > 0)  # strictly sorted (target, source), no duplicates
            assert np.array_equal(np.bincount(dst, minlength=example.num_nodes),
                                  np.bincount(src, minlength=example.num_nodes))  # symmetric graph
        assert np.sum(src == dst) == example.num_nodes
        index = example.part_index.numpy()  # graph node -> input constituent (nodes are ordered hardest first)
        reference = _reference_pair_features(top, j)[index[src], index[dst]]
        np.testing.assert_allclose(example.edge_attr.numpy(), reference, rtol=2e-4, atol=2e-4)


def test_knn_edges_are_the_nearest(top):
    k = 8
    batch = jetgnn.build_graphs(top[:20], edges="knn", k=k, max_particles=60)
    for j in range(20):
        example = batch.get_example(j)
        _, dr = _brute_force_delta_r(top, j, 10.0, 60)
        np.fill_diagonal(dr, np.inf)
        src, dst = example.edge_index.numpy()
        n = example.num_nodes
        assert np.array_equal(np.bincount(dst, minlength=n), np.full(n, min(k, n - 1)))
        for node in range(n):
            chosen = np.sort(dr[node, src[dst == node]])
            np.testing.assert_allclose(chosen, np.sort(dr[node])[: len(chosen)], rtol=1e-5)


def test_jet_mass_global_matches_branch(top):
    batch = jetgnn.build_graphs(top)
    mass = batch.u[:, batch.u_names.index("jet_mass")].numpy()
    np.testing.assert_allclose(mass, ak.to_numpy(top.jet_mass), rtol=0.01)
    multiplicity = batch.u[:, batch.u_names.index("jet_nparticles")].numpy()
    assert multiplicity.tolist() == ak.to_numpy(top.jet_nparticles).tolist()


def test_configured_globals(top):
    batch = jetgnn.build_graphs(top[:10], globals=["jet_sdmass", "jet_tau32"])
    assert batch.u_names[-2:] == ["jet_sdmass", "jet_tau32"]
    np.testing.assert_allclose(batch.u[:, -2].numpy(), ak.to_numpy(top.jet_sdmass[:10]))
    with pytest.raises(InputError, match="unknown global 'jet_foo'"):
        jetgnn.build_graphs(top[:10], globals=["jet_foo"])


def _permuted(jets: Jets, seed=0) -> Jets:
    rng = np.random.default_rng(seed)
    counts = ak.to_numpy(ak.num(jets.part_px))
    order = np.concatenate([rng.permutation(n) for n in counts]) if counts.sum() else np.zeros(0, int)
    perm = ak.unflatten(order, counts)
    arrays = jets.arrays
    fields = {f: (arrays[f][perm] if f.startswith("part_") else arrays[f]) for f in arrays.fields}
    return Jets(ak.zip(fields, depth_limit=1), jets.label_names)


def test_permutation_of_constituents_changes_nothing(top):
    jets = top[:50]
    a = jetgnn.build_graphs(jets, edges="delta_r")
    b = jetgnn.build_graphs(_permuted(jets), edges="delta_r")
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    torch.testing.assert_close(a.edge_attr, b.edge_attr)
    torch.testing.assert_close(a.u, b.u, rtol=1e-6, atol=1e-4)


def test_rotation_in_eta_phi_keeps_delta_r_edges(top):
    jets = top[:50]
    angle = 0.7
    c, s = np.cos(angle), np.sin(angle)
    arrays = jets.arrays
    rotated = ak.with_field(arrays, c * arrays.part_deta - s * arrays.part_dphi, "part_deta")
    rotated = ak.with_field(rotated, s * arrays.part_deta + c * arrays.part_dphi, "part_dphi")
    radius = 0.5
    a = jetgnn.build_graphs(jets, radius=radius)
    b = jetgnn.build_graphs(Jets(rotated, jets.label_names), radius=radius)
    diff = _edge_set(a) ^ _edge_set(b)
    # only pairs sitting on the radius within float rounding may differ
    if diff:
        dr = {e: float(d) for e, d in zip(map(tuple, a.edge_index.t().tolist()), a.edge_attr[:, 0].tolist(),
                                          strict=True)}
        assert all(abs(dr.get(e, radius) - radius) < 1e-5 for e in diff)
    col = a.edge_attr_names.index("delta_r")
    torch.testing.assert_close(a.edge_attr[:, col], b.edge_attr[:, col], atol=1e-5, rtol=0)


def test_zero_and_one_constituent_jets(tmp_path):
    jets = jetgnn.read_jets(BUNDLED["flavour"])
    counts = ak.to_numpy(jets.jet_nparticles)
    picked = np.concatenate([np.flatnonzero(counts == 0)[:3], np.flatnonzero(counts == 1)[:3],
                             np.flatnonzero(counts > 5)[:3]])
    assert (counts[picked] <= 1).sum() >= 4, "bundled flavour sample should hold tiny jets"
    sub = jets[picked]
    batch = jetgnn.build_graphs(sub, edges="knn", k=4)
    assert batch.num_graphs == len(picked)
    for g, n in enumerate(np.minimum(counts[picked], 128)):
        example = batch.get_example(g)
        assert example.num_nodes == n
        if n <= 1:
            assert example.edge_index.shape[1] == 0


def test_self_loops_and_truncation(top):
    a = jetgnn.build_graphs(top[:5], radius=0.2, self_loops=True, max_particles=10)
    assert a.x.shape[0] == 50
    for g in range(5):
        src, dst = a.get_example(g).edge_index
        assert set(range(10)) <= {int(s) for s, d in zip(src, dst, strict=True) if s == d}
    b = jetgnn.build_graphs(top[:5], edges="knn", k=3, self_loops=True, max_particles=10)
    assert b.edge_index.shape[1] == 5 * 10 * 4


def test_scaling_is_documented_affine(top):
    raw = jetgnn.build_graphs(top[:20], scale=False)
    scaled = jetgnn.build_graphs(top[:20])
    from jetgnn.graphs.features import NODE_SCALING

    for k, name in enumerate(raw.x_names):
        center, factor = NODE_SCALING.get(name, (0.0, 1.0))
        torch.testing.assert_close(scaled.x[:, k], (raw.x[:, k] - center) * factor, rtol=1e-5, atol=1e-5)


def test_node_targets_for_flavour():
    jets = jetgnn.read_jets(BUNDLED["flavour"], entry_stop=100)
    batch = jetgnn.build_graphs(jets)
    assert torch.equal(batch.vtx_idx, torch.from_numpy(ak.to_numpy(ak.flatten(jets.part_vtx_idx)).astype(np.int64)))
    assert "log_d0_sig" in batch.x_names


@pytest.mark.parametrize("kwargs,match", [({"edges": "radius"}, "edges must be one of"),
                                          ({"radius": -0.4}, "radius must be"),
                                          ({"k": 0}, "k must be"),
                                          ({"max_particles": 0}, "max_particles")])
def test_bad_parameters(top, kwargs, match):
    with pytest.raises(InputError, match=match):
        jetgnn.build_graphs(top[:5], **kwargs)
