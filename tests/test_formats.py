"""Real formats through mappings alone: presets (PFNano, Top Tagging HDF5, EnergyFlow npz), expressions,
momentum forms, event-level inputs with index links, HDF5 / parquet / npz sources, and scores back.

The files in tests/data/ are written by tests/data/make_format_samples.py in each format's public layout from the
bundled jets, so what jetgnn reads is compared with the jets it came from (closure).
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
import vector

import jetgnn
from jetgnn.cli import main
from jetgnn.errors import InputError
from jetgnn.io.expressions import columns_of, evaluate
from jetgnn.io.links import particle_positions
from jetgnn.io.mapping import _LinksSection, load_mapping
from jetgnn.io.presets import PRESETS

from .conftest import BUNDLED, SMALL_MODEL_PARAMS

vector.register_awkward()
HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "data"
PFNANO, TOPTAG, ENERGYFLOW, PARQUET, EDM4HEP, EDM4HEP_2021, DELPHES, PHYSLITE = (
    SAMPLES / n for n in ("pfnano.root", "toptagging.h5", "energyflow.npz", "jets.parquet", "edm4hep.root",
                          "edm4hep_2021.root", "delphes.root", "physlite.root"))
CONFIGS = HERE.parent / "configs"
SMALL = {"model.params.phi": SMALL_MODEL_PARAMS["pfn"]["phi"], "model.params.f": SMALL_MODEL_PARAMS["pfn"]["f"],
         "data.max_jets": 400}
#: the bundled jetclass files read with four-momenta only (a tagger that needs no optional field)
FOUR_MOMENTA = {"particles": {"px": "part_px", "py": "part_py", "pz": "part_pz", "energy": "part_energy"}}


def _sum_p4(jets):
    return ak.sum(ak.zip({"px": jets.part_px, "py": jets.part_py, "pz": jets.part_pz, "E": jets.part_energy},
                         with_name="Momentum4D"), axis=1)


# -- expressions -------------------------------------------------------------------------------------------
def test_expressions_read_dotted_names_units_and_sentinels():
    columns = {"AnalysisJetsAuxDyn.pt": np.array([250e3, 40e3]), "d0": ak.Array([[-1.0, 0.2], [0.5]]),
               "odd name": np.array([1, 2])}
    assert np.allclose(evaluate("AnalysisJetsAuxDyn.pt / 1000", columns, "t"), [250, 40])
    assert ak.to_list(evaluate("where(d0 == -1, 0, d0 * 10)", columns, "t")) == [[0, 2.0], [5.0]]
    assert list(evaluate("`odd name` * 2e0", columns, "t")) == [2, 4]
    assert columns_of("sqrt(AnalysisJetsAuxDyn.pt) + d0", columns) == ("AnalysisJetsAuxDyn.pt", "d0")
    with pytest.raises(InputError, match="did you mean AnalysisJetsAuxDyn.pt"):
        columns_of("AnalysisJetsAuxDyn.ptt", columns)
    with pytest.raises(InputError, match="not valid Python syntax"):
        columns_of("d0 +* 2", columns)
    with pytest.raises(InputError, match=r"t: expression 'd0 \+ odd' failed|neither a column"):
        evaluate("d0 + odd", columns, "t")


# -- links (vectorised) ------------------------------------------------------------------------------------
def test_the_three_link_layouts_give_the_same_constituents():
    """Two events: event 0 has jets A, B and particles 0..4; event 1 has jet C and particles 0..2."""
    n_jets, n_particles = np.array([2, 1]), np.array([5, 3])
    expected = [[2, 0], [1, 3], [5 + 2, 5 + 1]]  # global particle positions per jet, in link order
    columns = {
        "jet": ak.Array([[0, 1, 0, 1], [0, 0]]), "part": ak.Array([[2, 1, 0, 3], [2, 1]]),
        "lists": ak.Array([[[2, 0], [1, 3]], [[2, 1]]]),
        "begin": ak.Array([[0, 2], [0]]), "end": ak.Array([[2, 4], [2]]), "rel": ak.Array([[2, 0, 1, 3], [2, 1]]),
    }

    def ev(expression, where):
        return columns[expression]

    columns["refs"] = ak.Array([[[12, 10], [11, 13]], [[22, 21]]])  # unique ids of the particles below
    uids = ak.Array([[10, 11, 12, 13, 14], [20, 21, 22]])
    for links in (_LinksSection(jet_index="jet", particle_index="part"), _LinksSection(particle_lists="lists"),
                  _LinksSection(begin="begin", end="end", index="rel"), _LinksSection(particle_uids="refs")):
        positions, counts = particle_positions(links, columns, n_jets, n_particles, ev, "t", 0, uids=uids)
        assert ak.to_list(ak.unflatten(positions, counts)) == expected, links.kind
    bad = {**columns, "part": ak.Array([[2, 1, 0, 7], [2, 1]])}
    with pytest.raises(InputError, match="particle index 7 in entry 0 is out of range"):
        particle_positions(_LinksSection(jet_index="jet", particle_index="part"), bad, n_jets, n_particles,
                           lambda e, w: bad[e], "t", 0)


# -- presets -----------------------------------------------------------------------------------------------
def test_presets_are_listed_and_validated():
    assert {"jetclass", "cms-pfnano", "cms-pfnano-ak4", "toptagging-h5", "energyflow-npz", "edm4hep",
            "delphes", "atlas-physlite"} <= set(PRESETS)
    for name, path in PRESETS.items():
        if path is not None:
            mapping = load_mapping(name)
            assert mapping.version, name  # each preset states the format version it follows
    with pytest.raises(InputError, match="unknown mapping 'cms-pfnan'"):
        load_mapping("cms-pfnan")


def test_pfnano_fatjets_close_and_are_the_generated_jets():
    jets = jetgnn.read_jets(PFNANO, mapping="cms-pfnano")
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=80)
    assert len(jets) == 80
    assert list(ak.to_numpy(jets.event_index)[:4]) == [0, 0, 1, 1] and list(ak.to_numpy(jets.jet_index)[:4]) == [0, 1,
                                                                                                                 0, 1]
    # PUPPI-weighted candidates (weight-0 ones dropped) sum to the stored jet four-momentum (closure)
    total = _sum_p4(jets)
    np.testing.assert_allclose(ak.to_numpy(total.pt), ak.to_numpy(jets.jet_pt), rtol=1e-4)
    np.testing.assert_allclose(ak.to_numpy(total.mass), ak.to_numpy(jets.jet_mass), atol=0.05)
    assert np.array_equal(jets.n_particles, source.n_particles)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_energy)), ak.to_numpy(ak.flatten(source.part_energy)),
                               rtol=1e-4, atol=1e-4)
    # impact parameters: cm -> mm, neutral sentinels -> 0; flags from the PDG id
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_d0val)), ak.to_numpy(ak.flatten(source.part_d0val)),
                               rtol=1e-4, atol=1e-5)
    assert ak.all(jets.part_isPhoton == source.part_isPhoton)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_sdmass), ak.to_numpy(source.jet_sdmass), rtol=1e-5)


def test_pfnano_ak4_jets_have_hadron_flavour_labels():
    jets = jetgnn.read_jets(PFNANO, mapping="cms-pfnano-ak4")
    source = jetgnn.read_jets(BUNDLED["flavour"], entry_stop=80)
    assert jets.label_names == ["light", "c", "b"] == source.label_names
    assert np.array_equal(jets.labels, source.labels)
    # no PUPPI weights for AK4 CHS jets: the weight-0 candidate linked to each event's first jet stays
    assert np.array_equal(jets.n_particles, source.n_particles + (ak.to_numpy(jets.jet_index) == 0))


def test_event_level_selection_keeps_the_event_and_jet_index():
    mapping = load_mapping("cms-pfnano")
    mapping.selection = "FatJet_pt > 600"
    jets = jetgnn.read_jets(PFNANO, mapping=mapping)
    every = jetgnn.read_jets(PFNANO, mapping="cms-pfnano")
    keep = ak.to_numpy(every.jet_pt) > 600
    assert 0 < len(jets) < len(every) and len(jets) == keep.sum()
    assert np.array_equal(ak.to_numpy(jets.event_index), ak.to_numpy(every.event_index)[keep])
    assert np.array_equal(ak.to_numpy(jets.jet_index), ak.to_numpy(every.jet_index)[keep])


@pytest.mark.parametrize("path", [EDM4HEP, EDM4HEP_2021], ids=["2023", "2021"])
def test_edm4hep_relations_in_both_layouts(path):
    """Jets' constituents through particles_begin/end and the relation's indices (the particles are shuffled)."""
    jets = jetgnn.read_jets(path, mapping="edm4hep")
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=60)
    assert np.array_equal(jets.n_particles, source.n_particles)
    np.testing.assert_allclose(ak.to_numpy(jets.part_energy[7]), ak.to_numpy(source.part_energy[7]), rtol=1e-5)
    total = _sum_p4(jets)  # closure: the constituents give the stored jet four-momentum
    np.testing.assert_allclose(ak.to_numpy(total.mass), ak.to_numpy(jets.jet_mass), rtol=1e-3, atol=0.05)
    assert ak.all(jets.part_isPhoton == source.part_isPhoton)  # flags from the PDG id (PDG or type member)


def test_delphes_constituents_by_unique_id_across_three_collections():
    jets = jetgnn.read_jets(DELPHES, mapping="delphes")
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=60)
    assert np.array_equal(jets.n_particles, source.n_particles)  # the unclustered photon is in no jet
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), ak.to_numpy(source.jet_mass), rtol=1e-3)
    assert ak.all(jets.part_charge == source.part_charge) and ak.all(jets.part_isPhoton == source.part_isPhoton)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_d0val)), ak.to_numpy(ak.flatten(source.part_d0val)),
                               atol=1e-6)  # tracks carry D0 (mm), towers 0


def test_physlite_ghost_tracks_mev_perigee_and_labels():
    jets = jetgnn.read_jets(PHYSLITE, mapping="atlas-physlite")
    source = jetgnn.read_jets(BUNDLED["flavour"], entry_stop=60)
    assert jets.label_names == ["light", "c", "b"] and np.array_equal(jets.labels, source.labels)
    assert np.array_equal(jets.n_particles, source.n_particles)  # tracks in no jet stay out
    np.testing.assert_allclose(ak.to_numpy(jets.jet_pt), ak.to_numpy(source.jet_pt), rtol=1e-5)  # MeV -> GeV
    pt = np.hypot(ak.to_numpy(ak.flatten(jets.part_px)), ak.to_numpy(ak.flatten(jets.part_py)))
    np.testing.assert_allclose(pt, np.hypot(ak.to_numpy(ak.flatten(source.part_px)),
                                            ak.to_numpy(ak.flatten(source.part_py))), rtol=1e-4)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_dzval)), ak.to_numpy(ak.flatten(source.part_dzval)),
                               atol=2e-3)  # z0 + vz - PV z
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_d0err)), ak.to_numpy(ak.flatten(source.part_d0err)),
                               rtol=1e-3)  # from the covariance diagonal
    assert ak.all(jets.part_charge == source.part_charge)


def test_toptagging_h5_is_the_generated_top_jets():
    jets = jetgnn.read_jets(TOPTAG, mapping="toptagging-h5")
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=60)
    assert jets.label_names == ["QCD", "Tbqq"] and np.array_equal(jets.labels, source.labels)
    assert np.array_equal(jets.n_particles, np.minimum(source.n_particles, 200))
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), ak.to_numpy(source.jet_mass), rtol=1e-3)
    assert sum(len(c) for c in jetgnn.iter_jets(TOPTAG, step_size=25, mapping="toptagging-h5")) == 60


def test_energyflow_npz_rapidity_and_pdg_masses():
    jets = jetgnn.read_jets(ENERGYFLOW, mapping="energyflow-npz")
    source = jetgnn.read_jets(BUNDLED["qg"], entry_stop=100)
    assert jets.label_names == ["g", "q"] and np.array_equal(jets.labels, source.labels)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_pt), ak.to_numpy(source.jet_pt), rtol=1e-4)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), ak.to_numpy(source.jet_mass), rtol=2e-3)
    assert ak.all(jets.part_charge == source.part_charge)  # charge and flags from the PDG id
    assert ak.all(jets.part_isChargedHadron == source.part_isChargedHadron)


def test_parquet_with_a_mass_momentum_form(tmp_path):
    mapping = {"particles": {"pt": "cand_pt", "eta": "cand_eta", "phi": "cand_phi", "mass": "cand_m"},
               "jets": {"extra": {"m_file": "jet_m"}}, "labels": {"branch": "is_top", "names": ["QCD", "Tbqq"]}}
    jets = jetgnn.read_jets(PARQUET, mapping=mapping)
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=80)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), ak.to_numpy(jets.jet_m_file), rtol=1e-3)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_pt), ak.to_numpy(source.jet_pt), rtol=1e-4)


def test_plain_hdf5_datasets(tmp_path):
    h5py = pytest.importorskip("h5py")
    source = jetgnn.read_jets(BUNDLED["top"], entry_stop=30)
    n_max = int(source.n_particles.max())
    fields = ("part_px", "part_py", "part_pz", "part_energy")
    matrix = np.stack([ak.to_numpy(ak.fill_none(ak.pad_none(source[f], n_max), 0.0)) for f in fields], axis=2)
    with h5py.File(tmp_path / "jets.h5", "w") as f:
        f["particles"] = matrix
        f["labels"] = source.labels
    mapping = {"particles": {"px": "particles[:, :, 0]", "py": "particles[:, :, 1]", "pz": "particles[:, :, 2]",
                             "energy": "particles[:, :, 3]"}, "labels": {"branch": "labels", "names": ["QCD", "Tbqq"]}}
    jets = jetgnn.read_jets(tmp_path / "jets.h5", mapping=mapping)
    assert np.array_equal(jets.n_particles, source.n_particles)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), ak.to_numpy(source.jet_mass), rtol=1e-4)


def test_energy_below_momentum_is_named(tmp_path):
    mapping = {"particles": {"px": "part_px", "py": "part_py", "pz": "part_pz", "energy": "part_deta"}}
    with pytest.raises(InputError, match="below its momentum.*part_deta.*particles.mass"):
        jetgnn.read_jets(BUNDLED["top"], mapping=mapping, entry_stop=10)


def test_a_missing_mapped_column_names_the_key_and_the_available_ones():
    with pytest.raises(InputError, match="FatJet_ptt.*jets.pt.*available: .*FatJet_pt"):
        jetgnn.read_jets(PFNANO, mapping={**_preset_dict("cms-pfnano"),
                                          "jets": {**_preset_dict("cms-pfnano")["jets"], "pt": "FatJet_ptt"}})


def _preset_dict(name: str) -> dict:
    import yaml

    return yaml.safe_load(PRESETS[name].read_text())


# -- scores back ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lean_taggers(tmp_path_factory):
    """Top, q/g and b/c/light PFNs trained on four-momenta only (they score files of any format)."""
    out = {}
    for task, config in (("top", "top_pfn.yaml"), ("qg", "qg_pfn.yaml"), ("flavour", "top_pfn.yaml")):
        labels = {"top": ["label_QCD", "label_Tbqq"], "qg": ["label_g", "label_q"],
                  "flavour": ["label_light", "label_c", "label_b"]}[task]
        run = tmp_path_factory.mktemp("lean") / task
        jetgnn.train(CONFIGS / config, out=run, train=[str(BUNDLED[task])], epochs=1, progress=False,
                     overrides=SMALL, mapping={**FOUR_MOMENTA, "labels": {"one_hot": labels}})
        out[task] = run
    return out


@pytest.mark.parametrize("preset, path, task", [("cms-pfnano", PFNANO, "top"), ("toptagging-h5", TOPTAG, "top"),
                                                ("energyflow-npz", ENERGYFLOW, "qg"), ("edm4hep", EDM4HEP, "top"),
                                                ("delphes", DELPHES, "top"), ("atlas-physlite", PHYSLITE, "flavour"),
                                                ("cms-pfnano-ak4", PFNANO, "flavour")])
def test_every_preset_scores_through_the_api_and_the_cli(capsys, lean_taggers, tmp_path, preset, path, task):
    tagger = jetgnn.load_tagger(lean_taggers[task])
    jets = jetgnn.read_jets(path, mapping=preset)
    scores = tagger.predict(str(path), mapping=preset)
    assert len(scores) == len(jets) and np.all((scores >= 0) & (scores <= 1))
    last = scores if scores.ndim == 1 else scores[:, -1]  # the last class (the signal of a binary tagger)
    np.testing.assert_allclose(scores, tagger.predict(jets), rtol=1e-5, atol=1e-6)
    out = tmp_path / "scores.root"
    assert main(["predict", str(lean_taggers[task]), "--data", str(path), "--mapping", preset, "--out", str(out)]) == 0
    mapping = load_mapping(preset)
    with uproot.open(out) as fin:
        tree = fin[fin.keys()[0].split(";")[0]]
        if mapping.event_level:  # a friend tree: one entry per event, scores aligned with the jet collection
            collection = mapping.jet_collection
            assert tree.name == "Friends"
            events = jetgnn.read_jets(path, mapping=preset)
            with uproot.open(path) as source:
                assert tree.num_entries == source[mapping.tree].num_entries
            assert ak.to_list(tree[f"n{collection}"].array()) == list(np.bincount(ak.to_numpy(events.event_index)))
            branch = f"{collection}_score_{tagger.label_names[-1]}"
            np.testing.assert_allclose(ak.to_numpy(ak.flatten(tree[branch].array())), last, rtol=1e-5)
        else:
            np.testing.assert_allclose(tree[f"score_{tagger.label_names[-1]}"].array(library="np"), last, rtol=1e-5)
    if not mapping.event_level:  # files with labels: metrics through the CLI too
        rc = main(["evaluate", str(lean_taggers[task]), "--data", str(path), "--mapping", preset, "--out",
                   str(tmp_path / "eval")])
        assert rc == 0 and (tmp_path / "eval" / "metrics.json").exists()


def test_impact_parameter_tagger_refuses_a_file_without_them_by_name(tmp_path, lean_taggers):
    mapping = {"particles": {**FOUR_MOMENTA["particles"], "d0val": "part_d0val", "d0err": "part_d0err",
                             "dzval": "part_dzval", "dzerr": "part_dzerr"},
               "labels": {"one_hot": ["label_QCD", "label_Tbqq"]}}
    run = tmp_path / "ip"
    jetgnn.train(CONFIGS / "top_pfn.yaml", out=run, train=[str(BUNDLED["top"])], epochs=1, progress=False,
                 overrides=SMALL, mapping=mapping)
    tagger = jetgnn.load_tagger(run)
    assert "tanh_d0" in tagger.model.spec.x_names
    with pytest.raises(InputError, match="part_d0val.*particles.d0val"):
        tagger.predict(str(TOPTAG), mapping="toptagging-h5")
    # one trained without them scores a file that has them
    assert len(jetgnn.load_tagger(lean_taggers["top"]).predict(str(BUNDLED["top"]))) == 2000


def test_rntuple_in_the_jetclass_schema(tmp_path):
    arrays = uproot.open(BUNDLED["top"])["tree"].arrays(entry_stop=50)
    with uproot.recreate(tmp_path / "rntuple.root") as fout:  # a dict assignment writes an RNTuple
        fout["tree"] = {k: arrays[k] for k in arrays.fields if k != "npart"}
    assert uproot.open(tmp_path / "rntuple.root").classnames()["tree;1"] == "ROOT::RNTuple"
    jets = jetgnn.read_jets(tmp_path / "rntuple.root")
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass),
                               ak.to_numpy(jetgnn.read_jets(BUNDLED["top"], entry_stop=50).jet_mass))


def test_jets_outside_the_training_ranges_are_flagged(capsys, lean_taggers, tmp_path):
    tagger = jetgnn.load_tagger(lean_taggers["top"])
    assert set(tagger.input_ranges) == {"jet_pt", "jet_mass", "abs_jet_eta", "n_particles"}
    low, high = tagger.input_ranges["jet_pt"]
    assert 400 < low < high < 800  # the bundled top jets: pT in [550, 650] GeV
    arrays = jetgnn.read_jets(BUNDLED["top"], entry_stop=100)
    assert tagger.in_training_range(arrays).mean() > 0.9
    source = uproot.open(BUNDLED["top"])["tree"].arrays(entry_stop=100)
    columns = {k: source[k] for k in source.fields if k != "npart"}
    for key in ("part_px", "part_py", "part_pz", "part_energy", "jet_pt", "jet_energy", "jet_mass"):
        columns[key] = columns[key] * 3  # far outside the training pT and mass
    jetgnn.write_jets(tmp_path / "boosted.root", [columns])
    capsys.readouterr()
    assert main(["predict", str(lean_taggers["top"]), "--data", str(tmp_path / "boosted.root"), "--out",
                 str(tmp_path / "s.root")]) == 0
    err = capsys.readouterr().err
    assert "100 of 100 jets lie outside the training ranges" in err
    with uproot.open(tmp_path / "s.root") as fin:
        assert not fin["tree"]["in_training_range"].array(library="np").any()


def _nanoevents_like_fatjets() -> ak.Array:
    """events.FatJet as coffea's PFNanoAOD schema builds it: jets with constituents.pf (PFCands records)."""
    events = uproot.open(PFNANO)["Events"].arrays()
    cands = ak.zip({f[len("PFCands_"):]: events[f] for f in events.fields if f.startswith("PFCands_")})
    table = ak.zip({"jetIdx": events.FatJetPFCands_jetIdx, "pFCandsIdx": events.FatJetPFCands_pFCandsIdx})
    n_jets = ak.to_numpy(events.nFatJet)
    per_jet = [[cands[e][ak.to_numpy(table.pFCandsIdx[e][table.jetIdx[e] == j])] for j in range(n_jets[e])]
               for e in range(len(events))]  # test fixture only: the layout a NanoEvents user holds
    fields = {f[len("FatJet_"):]: events[f] for f in events.fields if f.startswith("FatJet_")}
    return ak.zip({**fields, "constituents": ak.zip({"pf": ak.Array(per_jet)}, depth_limit=2)}, depth_limit=2,
                  parameters={"collection_name": "FatJet"})


def test_scores_of_a_jet_collection_have_its_shape(lean_taggers):
    tagger = jetgnn.load_tagger(lean_taggers["top"])
    fatjets = _nanoevents_like_fatjets()
    scores = tagger.predict(fatjets)
    assert isinstance(scores, ak.Array) and ak.to_list(ak.num(scores)) == ak.to_list(ak.num(fatjets))
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(scores)), tagger.predict(str(PFNANO), mapping="cms-pfnano"),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Missing cross-reference index:RuntimeWarning")
def test_coffea_nanoevents_fatjets(lean_taggers):
    nanoevents = pytest.importorskip("coffea.nanoevents")
    events = nanoevents.NanoEventsFactory.from_root({str(PFNANO): "Events"}, schemaclass=nanoevents.PFNanoAODSchema,
                                                    mode="eager").events()
    tagger = jetgnn.load_tagger(lean_taggers["top"])
    scores = tagger.predict(events.FatJet)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(scores)), tagger.predict(str(PFNANO), mapping="cms-pfnano"),
                               rtol=1e-5, atol=1e-6)


def test_object_columns_read_by_member_or_one_clear_error(tmp_path):
    source = uproot.open(BUNDLED["top"])["tree"].arrays(entry_stop=40)
    p4 = ak.zip({"fP": ak.zip({"fX": source.part_px, "fY": source.part_py, "fZ": source.part_pz}),
                 "fE": source.part_energy})  # the members of a std::vector<TLorentzVector>
    ak.to_parquet(ak.zip({"cand_p4": p4, "is_top": source.label_Tbqq}, depth_limit=1), tmp_path / "p4.parquet")
    mapping = {"particles": {"px": "cand_p4.fP.fX", "py": "cand_p4.fP.fY", "pz": "cand_p4.fP.fZ",
                             "energy": "cand_p4.fE"}, "labels": {"branch": "is_top", "names": ["QCD", "Tbqq"]}}
    jets = jetgnn.read_jets(tmp_path / "p4.parquet", mapping=mapping)
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass),
                               ak.to_numpy(jetgnn.read_jets(BUNDLED["top"], entry_stop=40).jet_mass), rtol=1e-4)
    bad = {**mapping, "particles": {**mapping["particles"], "energy": "cand_p4"}}
    with pytest.raises(InputError, match="holds objects .*fields: fP, fE.*cand_p4.fP"):
        jetgnn.read_jets(tmp_path / "p4.parquet", mapping=bad)


def test_evaluate_without_one_background_class_leaves_out_only_its_metrics(lean_taggers):
    """b/c/light data without c jets: AUC and b-vs-light metrics, nothing against c, and a note saying so."""
    from jetgnn.evaluation.evaluate import evaluate_tagger

    tagger = jetgnn.load_tagger(lean_taggers["flavour"])
    jets = jetgnn.read_jets(BUNDLED["flavour"], mapping={**FOUR_MOMENTA, "labels": {
        "one_hot": ["label_light", "label_c", "label_b"]}})
    no_c = jets[jets.labels != 1]
    metrics = evaluate_tagger(tagger, no_c)
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(no_c.labels == 2, tagger.predict(no_c)[:, 2])  # b against light, the only background
    assert metrics["auc"] == pytest.approx(expected) and "auc_b_vs_light" in metrics and "auc_b_vs_c" not in metrics
    assert metrics["note"].startswith("no jets of c (found ")
    assert "rejection_light_at_70" in metrics and "rejection_c_at_70" not in metrics
