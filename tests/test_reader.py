"""jetgnn.read_jets / iter_jets: no-config jetclass reading, YAML mappings, and every bad input."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import uproot

import jetgnn
from jetgnn.errors import InputError

from .conftest import BUNDLED


def _write(path, branches: dict, tree="tree"):
    with uproot.recreate(path) as fout:
        types = {k: (v.type if isinstance(v, ak.Array) else np.asarray(v).dtype) for k, v in branches.items()}
        fout.mktree(tree, types)
        fout[tree].extend(branches)
    return path


def _handmade(n_particles=(3, 0, 1, 2)):
    """Jets with known constituents: particle k of a jet has pT = 10 (k + 1) GeV, spread in eta."""
    pt, eta, phi, e = [], [], [], []
    for n in n_particles:
        p = 10.0 * np.arange(n, 0, -1)
        et = 0.1 * np.arange(n)
        ph = 0.05 * np.arange(n)
        pt.append(p)
        eta.append(et)
        phi.append(ph)
        e.append(p * np.cosh(et))
    pt, eta, phi, e = (ak.Array([list(x) for x in v]) for v in (pt, eta, phi, e))
    return {"pfc_pt": ak.values_astype(pt, np.float32), "pfc_eta": ak.values_astype(eta, np.float32),
            "pfc_phi": ak.values_astype(phi, np.float32), "pfc_e": ak.values_astype(e, np.float32),
            "is_signal": np.array([1, 0, 1, 0], dtype=np.int32)[: len(n_particles)]}


MAPPING = """
tree: events
particles: {pt: pfc_pt, eta: pfc_eta, phi: pfc_phi, energy: pfc_e}
labels: {branch: is_signal, names: [background, signal]}
"""


def test_jetclass_needs_no_config(bundled):
    jets = jetgnn.read_jets(BUNDLED["top"])
    assert len(jets) == 2000 == len(bundled["top"])
    assert jets.label_names == ["QCD", "Tbqq"]
    assert np.array_equal(jets.labels, ak.to_numpy(bundled["top"].jet_label))
    assert ak.all(jets["part_px"] == bundled["top"].part_px)
    assert isinstance(jets[:10], jetgnn.Jets) and len(jets[:10]) == 10
    assert len(jets[jets.labels == 1]) == 1000
    both = jetgnn.concatenate([jets[:5], jets[5:12]])
    assert len(both) == 12 and ak.all(both.jet_pt == jets[:12].jet_pt)
    assert "jet_sdmass" in jets and jets.summary["n_jets"] == 2000


def test_globs_and_many_files():
    jets = jetgnn.read_jets([str(BUNDLED["top"]), str(BUNDLED["top"])])
    assert len(jets) == 4000
    with pytest.raises(ValueError, match="different classes"):
        jetgnn.concatenate([jetgnn.read_jets(BUNDLED[task], entry_stop=2) for task in ("top", "qg")])


def test_iter_jets_chunks_cover_the_file():
    sizes = [len(c) for c in jetgnn.iter_jets(BUNDLED["flavour"], step_size=300)]
    assert sum(sizes) == 2000 and max(sizes) <= 300


def test_mapping_cylindrical_momenta_and_integer_labels(tmp_path):
    path = _write(tmp_path / "flat.root", _handmade(), tree="events")
    jets = jetgnn.read_jets(path, mapping=MAPPING)
    assert len(jets) == 4 and jets.label_names == ["background", "signal"]
    assert jets.labels.tolist() == [1, 0, 1, 0]
    pt = np.hypot(jets.part_px, jets.part_py)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(pt)), [30, 20, 10, 10, 20, 10], rtol=1e-5)
    # jet kinematics recomputed from the constituents with vector; empty jet gives zeros, not NaN
    assert ak.to_numpy(jets.jet_nparticles).tolist() == [3, 0, 1, 2]
    assert np.all(np.isfinite(ak.to_numpy(jets.jet_eta))) and jets.jet_pt[1] == 0
    assert jets.summary["n_empty"] == 1 and jets.summary["n_single"] == 1
    np.testing.assert_allclose(float(jets.jet_pt[2]), 10.0, rtol=1e-5)
    # a mapping file works as well as a string, and expressions make labels
    yaml_path = tmp_path / "map.yaml"
    yaml_path.write_text(MAPPING.replace("branch: is_signal", "expression: 'is_signal == 0'"))
    assert jetgnn.read_jets(path, mapping=yaml_path).labels.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("block", [8192, 2])
def test_flat_columns_top_tagging_reference_layout(tmp_path, monkeypatch, block):
    """Zero-padded flat columns E_0..E_{n-1} (the Top Tagging reference layout) through {i} names; unpadded block by
    block (blocks of 2 jets split the 5), an all-zero particle inside a jet is padding too."""
    from jetgnn.io import columns as columns_module

    monkeypatch.setattr(columns_module, "_BLOCK", block)
    rng = np.random.default_rng(0)
    n_jets, width = 5, 4
    columns = {}
    counts = np.array([4, 2, 3, 1, 4])
    for name in ("E", "PX", "PY", "PZ"):
        values = rng.uniform(1, 10, (n_jets, width)).astype(np.float32)
        if name == "E":
            values += 20  # massive enough
        values[np.arange(width)[None, :] >= counts[:, None]] = 0
        values[4, 1] = 0  # a hole: jet 4 has particles 0, 2, 3
        for i in range(width):
            columns[f"{name}_{i}"] = values[:, i]
    columns["is_signal_new"] = np.array([0, 1, 0, 1, 1], dtype=np.int32)
    path = _write(tmp_path / "toptag.root", columns, tree="table")
    mapping = {"tree": "table", "max_particles": width,
               "particles": {"px": "PX_{i}", "py": "PY_{i}", "pz": "PZ_{i}", "energy": "E_{i}"},
               "labels": {"branch": "is_signal_new", "names": ["QCD", "top"]}}
    jets = jetgnn.read_jets(path, mapping=mapping)
    assert ak.to_numpy(ak.num(jets.part_px)).tolist() == [4, 2, 3, 1, 3]
    np.testing.assert_array_equal(ak.to_numpy(jets.part_energy[1]), columns["E_0"][1:2].tolist() + [columns["E_1"][1]])
    np.testing.assert_array_equal(ak.to_numpy(jets.part_px[4]), [columns[f"PX_{i}"][4] for i in (0, 2, 3)])


def test_threaded_and_serial_decompression_read_the_same(monkeypatch):
    """Baskets decompressed by threads (the default) or serially (JETGNN_READ_THREADS=1) give identical jets; a bad
    setting is one error naming the variable."""
    from jetgnn.io import files

    monkeypatch.setattr(files, "_THREADED_BASKET_BYTES", 0)  # threads even for the small bundled baskets
    threaded = jetgnn.read_jets(BUNDLED["top"], entry_stop=500)
    monkeypatch.setenv("JETGNN_READ_THREADS", "1")
    assert files.decompression_executor() is None
    serial = jetgnn.read_jets(BUNDLED["top"], entry_stop=500)
    for name in threaded.fields:
        assert ak.all(ak.flatten(threaded[name], axis=None) == ak.flatten(serial[name], axis=None)), name
    monkeypatch.setenv("JETGNN_READ_THREADS", "two")
    with pytest.raises(InputError, match="JETGNN_READ_THREADS must be a positive integer"):
        jetgnn.read_jets(BUNDLED["top"], entry_stop=10)


def _read_in_child(queue):
    queue.put(len(jetgnn.read_jets(BUNDLED["top"], entry_stop=300)))


def test_a_forked_process_reads_with_its_own_threads(monkeypatch):
    """The parent's decompression pool has no threads in a forked child (a DataLoader worker): the child makes its
    own instead of waiting forever on the parent's."""
    import multiprocessing

    from jetgnn.io import files

    monkeypatch.setenv("JETGNN_READ_THREADS", "2")
    monkeypatch.setattr(files, "_THREADED_BASKET_BYTES", 0)
    jetgnn.read_jets(BUNDLED["top"], entry_stop=300)  # the parent's pool exists and has run
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(queue,))
    child.start()
    child.join(30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    assert queue.get(timeout=5) == 300


def test_round_trip_with_jetgnn_writer(tmp_path):
    """Arrays -> write_jets -> read_jets gives back exactly the same values."""
    original = jetgnn.read_jets(BUNDLED["flavour"], entry_stop=50)
    columns = {name: original[name] for name in original.fields}
    jetgnn.write_jets(tmp_path / "rt.root", [columns])
    again = jetgnn.read_jets(tmp_path / "rt.root")
    assert again.fields == original.fields
    for name in original.fields:
        assert ak.all(ak.flatten(again[name], axis=None) == ak.flatten(original[name], axis=None)), name


# -- bad input: one clear error naming what is at fault -------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        jetgnn.read_jets(tmp_path / "nope.root")
    with pytest.raises(InputError, match="no file matches"):
        jetgnn.read_jets(str(tmp_path / "*.root"))


def test_not_a_root_file(tmp_path):
    (tmp_path / "fake.root").write_text("hello")
    with pytest.raises(InputError, match="not a readable ROOT file"):
        jetgnn.read_jets(tmp_path / "fake.root")


def test_missing_tree(tmp_path):
    path = _write(tmp_path / "other.root", _handmade(), tree="events")
    with pytest.raises(InputError, match=r"no TTree named 'nope' \(trees: events\)"):
        jetgnn.read_jets(path, tree="nope")


def test_missing_branch_is_named_with_the_available_ones(tmp_path):
    path = _write(tmp_path / "x.root", _handmade(), tree="events")
    message = r"branch 'pfc_m' .* not found in tree 'events' \(available: .*pfc_pt.*pfc_eta"
    with pytest.raises(InputError, match=message):
        jetgnn.read_jets(path, mapping=MAPPING.replace("energy: pfc_e", "energy: pfc_m"))
    with pytest.raises(InputError, match="'part_px' not found .* pass a mapping"):
        jetgnn.read_jets(path, tree="events")


def test_jagged_lengths_disagree(tmp_path):
    branches = _handmade()
    branches["pfc_e"] = ak.Array([[1.0, 2.0, 3.0], [], [1.0, 2.0], [5.0, 6.0]])
    path = _write(tmp_path / "bad.root", branches, tree="events")
    with pytest.raises(InputError, match="'pfc_pt' and 'pfc_e' have different lengths in entry 2"):
        jetgnn.read_jets(path, mapping=MAPPING)


def test_nan_raises_or_drops(tmp_path):
    branches = _handmade()
    pt = ak.to_list(branches["pfc_pt"])
    pt[2][0] = float("nan")
    branches["pfc_pt"] = ak.values_astype(ak.Array(pt), np.float32)
    path = _write(tmp_path / "nan.root", branches, tree="events")
    with pytest.raises(InputError, match="'pfc_pt' has a NaN or inf value in entry 2"):
        jetgnn.read_jets(path, mapping=MAPPING)
    jets = jetgnn.read_jets(path, mapping=MAPPING, on_invalid="drop")
    assert len(jets) == 3 and jets.summary["n_dropped_nonfinite"] == 1
    assert jets.labels.tolist() == [1, 0, 0]
    with pytest.raises(InputError, match="on_invalid"):
        jetgnn.read_jets(path, mapping=MAPPING, on_invalid="ignore")


@pytest.mark.parametrize("text,match", [
    ("particle: {px: a}", "unknown key 'particle'"),
    ("particles: {px: a, py: b, pz: c, energy: d, mass: e}", "not also mass"),  # mass is a momentum key now
    ("particles: {px: a, py: b}", "need px, py, pz, energy"),
    ("particles: {px: a, py: b, pz: c, energy: d, pt: e}", "either px/py/pz/energy"),
    ("particles: {px: a, py: b, pz: c, energy: d}\nlabels: {branch: x, expression: y}", "give one of"),
    ("particles: {px: a, py: b, pz: c, energy: d}\njets: {sdmass: m}", "jets: unknown key 'sdmass'"),
    ("particles: {px: 'a_{i}', py: 'b_{i}', pz: 'c_{i}', energy: 'd_{i}'}", "need max_particles"),
    ("particles: [a, b]", "particles must be a mapping"),
    ("max_particles: -1\nparticles: {px: a, py: b, pz: c, energy: d}", "max_particles must be a positive"),
])
def test_mapping_yaml_errors(tmp_path, text, match):
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(InputError, match=match):
        jetgnn.load_mapping(tmp_path / "m.yaml")


def test_hand_made_jetclass_file_round_trips_exactly(tmp_path):
    """A jetclass file written directly with uproot from hand-made arrays reads back value for value."""
    rng = np.random.default_rng(5)
    counts = [4, 1, 0, 3]
    part = {name: ak.unflatten(rng.normal(size=sum(counts)).astype(np.float32), counts)
            for name in ("px", "py", "pz", "deta", "dphi")}
    part["energy"] = ak.unflatten((10 + rng.random(sum(counts))).astype(np.float32), counts)
    part["charge"] = ak.unflatten(rng.integers(-1, 2, sum(counts)).astype(np.int32), counts)
    jets = {"jet_pt": np.array([50, 60, 0, 70], np.float32), "jet_eta": np.array([0.1, -1, 0, 2], np.float32),
            "jet_phi": np.array([1, 2, 0, -3], np.float32), "jet_energy": np.array([80, 90, 0, 95], np.float32),
            "jet_mass": np.array([5, 0.1, 0, 9], np.float32), "jet_nparticles": np.array(counts, np.int32),
            "label_QCD": np.array([1, 0, 1, 0], np.int32), "label_Tbqq": np.array([0, 1, 0, 1], np.int32)}
    with uproot.recreate(tmp_path / "hand.root") as fout:
        fout.mktree("tree", {**{k: v.dtype for k, v in jets.items()}, "part": ak.zip(part).type})
        fout["tree"].extend({**jets, "part": ak.zip(part)})
    read = jetgnn.read_jets(tmp_path / "hand.root")
    assert read.label_names == ["QCD", "Tbqq"] and read.labels.tolist() == [0, 1, 0, 1]
    for name, values in part.items():
        assert ak.to_list(read[f"part_{name}"]) == ak.to_list(values), name
    for name, values in jets.items():
        if name.startswith("jet_"):
            assert read[name].to_numpy().tolist() == values.tolist(), name
    assert read.summary["n_empty"] == 1 and read.summary["n_single"] == 1
    batch = jetgnn.build_graphs(read, radius=0.4)
    assert batch.num_graphs == 4 and batch.ptr.tolist() == [0, 4, 5, 5, 8]
