"""Write the small files of real formats in tests/data/ from the bundled generated jets (deterministic).

    python tests/data/make_format_samples.py

Each file follows its format's public layout (branch / dataset names, types, link structure, units), filled
with jets of data/*.root so that tests can compare what jetgnn reads with the jets it came from:

- ``pfnano.root``: CMS PFNano ``Events`` (NanoAOD flat tables): FatJet (top sample, AK8) and Jet (flavour
  sample, AK4, with ``Jet_hadronFlavour``), PFCands (pt/eta/phi/mass, charge, pdgId, puppiWeight, d0/dz and
  errors in cm) and the link tables FatJetPFCands / JetPFCands (jetIdx, pFCandsIdx); two jets of each collection
  per event, plus unclustered candidates and candidates of PUPPI weight 0;
- ``toptagging.h5``: the Top Quark Tagging reference layout, a pandas ``fixed`` frame under key ``table``
  (E_i, PX_i, PY_i, PZ_i for 200 constituents, zero-padded, truth columns, ttv, is_signal_new);
- ``energyflow.npz``: EnergyFlow q/g ``X`` [jets, particles, (pt, y, phi, pid)] zero-padded and ``y``;
- ``jets.parquet``: jagged jetclass-like columns written with ``ak.to_parquet`` (for custom mappings);
- ``edm4hep.root`` / ``edm4hep_2021.root``: EDM4hep podio ``events`` with the Jet and ReconstructedParticles members
  by their split branch names and the particles relation (``_Jet_particles`` / ``Jet#2``); uproot cannot write
  split ``std::vector<struct>`` branches, so each member is its own jagged branch of the same name, which uproot
  reads the same way;
- ``delphes.root``: Delphes ``Jet`` with ``Constituents`` refs and the EFlow collections with ``fUniqueID`` (an
  RNTuple with the members' names, since uproot writes no doubly jagged TTree branch);
- ``physlite.root``: ATLAS PHYSLITE ``CollectionTree``: AnalysisJets (MeV, HadronConeExclTruthLabelID), their
  GhostTrack ElementLink indices, InDetTrackParticles perigee parameters and PrimaryVertices (an RNTuple, as
  PHYSLITE can be, with the ElementLink by its index member).
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector

vector.register_awkward()

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data"
N_EVENTS = 40  # two jets per event of each collection


def _tree(path):
    with uproot.open(path) as fin:
        return fin["tree"].arrays()


def _p4(a):
    return ak.zip({"px": a.part_px, "py": a.part_py, "pz": a.part_pz, "E": a.part_energy}, with_name="Momentum4D")


def _candidates(a, rng):
    """PF candidates of jets ``a`` with PUPPI weights: stored momentum = weighted momentum / weight."""
    p4 = _p4(a)
    n = ak.num(p4)
    weight = np.round(rng.uniform(0.2, 1.0, int(ak.sum(n))), 3)
    weight[rng.random(len(weight)) < 0.7] = 1.0
    weight = ak.unflatten(weight.astype(np.float32), n)
    charge = a.part_charge
    cm = 0.1  # mm -> cm
    return {
        "pt": p4.pt / weight, "eta": p4.eta, "phi": p4.phi, "mass": p4.mass / weight,
        "charge": charge, "pdgId": a.part_pid, "puppiWeight": weight,
        "d0": ak.where(charge == 0, -1.0, a.part_d0val * cm), "d0Err": ak.where(charge == 0, -1.0, a.part_d0err * cm),
        "dz": ak.where(charge == 0, -1.0, a.part_dzval * cm), "dzErr": ak.where(charge == 0, -1.0, a.part_dzerr * cm),
    }


def pfnano(path: Path) -> None:
    rng = np.random.default_rng(7)
    top, flavour = _tree(DATA / "top_2k.root")[:2 * N_EVENTS], _tree(DATA / "flavour_2k.root")[:2 * N_EVENTS]
    fat, ak4 = _candidates(top, rng), _candidates(flavour, rng)
    pf_lists = {k: [] for k in fat}
    links = {"FatJetPFCands": ([], []), "JetPFCands": ([], [])}
    n_constituents = {"FatJetPFCands": [], "JetPFCands": []}
    pileup = 3
    for e in range(N_EVENTS):
        cands = {k: [] for k in fat}
        offset = 0
        for source, collection in ((fat, "FatJetPFCands"), (ak4, "JetPFCands")):
            members = []
            for j in range(2):
                jet = 2 * e + j
                n = len(source["pt"][jet])
                for k in fat:
                    cands[k].extend(ak.to_list(source[k][jet]))
                members.append(list(range(offset, offset + n)))
                offset += n
            # a weight-0 candidate in the first jet (PUPPI removed it), stored after the jets' candidates
            first = source["eta"][2 * e]
            eta0 = float(first[0]) if len(first) else 0.0
            phi0 = float(source["phi"][2 * e][0]) if len(first) else 0.0
            for k in fat:
                cands[k].append({"pt": 5.0, "eta": eta0, "phi": phi0,
                                 "mass": 0.0, "charge": 0, "pdgId": 22, "puppiWeight": 0.0, "d0": -1.0, "d0Err": -1.0,
                                 "dz": -1.0, "dzErr": -1.0}[k])
            members[0].append(offset)
            offset += 1
            # the link table lists each jet's constituents together, jet by jet (as PFNano writes it)
            links[collection][0].append([j for j, m in enumerate(members) for _ in m])
            links[collection][1].append([c for m in members for c in m])
            n_constituents[collection].extend(len(m) for m in members)
        for _ in range(pileup):  # candidates in no jet
            for k, value in {"pt": 1.0, "eta": 3.0, "phi": 0.5, "mass": 0.1396, "charge": 1, "pdgId": 211,
                             "puppiWeight": 0.1, "d0": 0.01, "d0Err": 0.01, "dz": 0.5, "dzErr": 0.02}.items():
                cands[k].append(value)
        for k in fat:
            pf_lists[k].append(cands[k])
    dtypes = {"charge": np.int32, "pdgId": np.int32}
    pfcands = {k: ak.values_astype(ak.Array(v), dtypes.get(k, np.float32)) for k, v in pf_lists.items()}

    def jets_table(a, extra):
        p4 = ak.sum(_p4(a), axis=1)  # stored jet = uncorrected constituent sum (rawFactor 0)
        cols = {"pt": p4.pt, "eta": p4.eta, "phi": p4.phi, "mass": p4.mass, "rawFactor": np.zeros(len(a)), **extra}
        return {k: ak.unflatten(ak.values_astype(np.asarray(v), dtypes.get(k, np.float32)), np.full(N_EVENTS, 2))
                for k, v in cols.items()}

    dtypes["nConstituents"] = np.uint8
    fatjet = jets_table(top, {"msoftdrop": top.jet_sdmass, "tau1": top.jet_tau1, "tau2": top.jet_tau2,
                              "tau3": top.jet_tau3, "nConstituents": n_constituents["FatJetPFCands"]})
    flavour_code = np.array([0, 4, 5])[np.argmax(np.stack([ak.to_numpy(flavour[f"label_{c}"])
                                                           for c in ("light", "c", "b")], axis=1), axis=1)]
    dtypes["hadronFlavour"] = np.int32
    jet = jets_table(flavour, {"hadronFlavour": flavour_code, "nConstituents": n_constituents["JetPFCands"]})
    out = {
        "run": np.ones(N_EVENTS, np.uint32), "luminosityBlock": np.ones(N_EVENTS, np.uint32),
        "event": np.arange(1, N_EVENTS + 1, dtype=np.uint64),
        "FatJet": ak.zip(fatjet), "Jet": ak.zip(jet), "PFCands": ak.zip(pfcands),
        "FatJetPFCands": ak.zip({"jetIdx": ak.values_astype(ak.Array(links["FatJetPFCands"][0]), np.int32),
                                 "pFCandsIdx": ak.values_astype(ak.Array(links["FatJetPFCands"][1]), np.int32)}),
        "JetPFCands": ak.zip({"jetIdx": ak.values_astype(ak.Array(links["JetPFCands"][0]), np.int32),
                              "pFCandsIdx": ak.values_astype(ak.Array(links["JetPFCands"][1]), np.int32)}),
    }
    with uproot.recreate(path) as fout:  # a classic TTree: FatJet_pt with counter nFatJet, ... (NanoAOD naming)
        tree = fout.mktree("Events", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in out.items()})
        tree.extend(out)


def toptagging(path: Path, n_jets: int = 60, n_max: int = 200) -> None:
    import h5py

    a = _tree(DATA / "top_2k.root")[:n_jets]
    columns, values = [], []
    for i in range(n_max):
        for name, field in (("E", "part_energy"), ("PX", "part_px"), ("PY", "part_py"), ("PZ", "part_pz")):
            padded = ak.fill_none(ak.pad_none(a[field], n_max, clip=True), 0.0)[:, i]
            columns.append(f"{name}_{i}")
            values.append(ak.to_numpy(padded).astype(np.float32))
    for name in ("truthE", "truthPX", "truthPY", "truthPZ"):
        columns.append(name)
        values.append(np.zeros(n_jets, np.float32))
    columns.append("ttv")
    values.append(np.zeros(n_jets, np.float32))
    block0 = np.stack(values, axis=1)
    label = ak.to_numpy(a.label_Tbqq).astype(np.int64)[:, None]
    with h5py.File(path, "w") as f:
        g = f.create_group("table")
        attrs = {"pandas_type": b"frame", "pandas_version": b"0.15.2", "encoding": b"UTF-8", "errors": b"strict",
                 "ndim": 2, "axis0_variety": b"regular", "axis1_variety": b"regular", "nblocks": 2,
                 "block0_items_variety": b"regular", "block1_items_variety": b"regular"}
        for key, value in attrs.items():
            g.attrs[key] = value
        names = np.array([c.encode() for c in columns + ["is_signal_new"]])
        g.create_dataset("axis0", data=names)
        g.create_dataset("axis1", data=np.arange(n_jets, dtype=np.int64))
        g.create_dataset("block0_items", data=names[:-1])
        g.create_dataset("block0_values", data=block0, compression="gzip")
        g.create_dataset("block1_items", data=names[-1:])
        g.create_dataset("block1_values", data=label)


def energyflow(path: Path, n_jets: int = 100) -> None:
    a = _tree(DATA / "qg_2k.root")[:n_jets]
    p4 = _p4(a)
    n_max = int(ak.max(ak.num(p4)))

    def pad(x):
        return ak.to_numpy(ak.fill_none(ak.pad_none(x, n_max, clip=True), 0.0)).astype(np.float64)

    X = np.stack([pad(p4.pt), pad(p4.rapidity), pad(p4.phi % (2 * np.pi)), pad(a.part_pid)], axis=2)
    np.savez_compressed(path, X=X, y=ak.to_numpy(a.label_q).astype(np.float64))


def edm4hep(path: Path, layout: str = "2023", n_events: int = 30) -> None:
    """EDM4hep podio events (Jet, ReconstructedParticles, the particles relation) with the split member names;
    the particle order is shuffled within each event so that the relation's indices matter."""
    rng = np.random.default_rng(11)
    top = _tree(DATA / "top_2k.root")[:2 * n_events]
    p4 = _p4(top)
    columns = {name: [] for name in ("px", "py", "pz", "E", "mass", "charge", "pid")}
    jets = {name: [] for name in ("px", "py", "pz", "E", "mass", "begin", "end")}
    relation = []
    for e in range(n_events):
        parts = [p4[2 * e], p4[2 * e + 1]]
        n = [len(x) for x in parts]
        order = rng.permutation(sum(n))  # stored position of the k-th constituent (jet 0's, then jet 1's)
        event = {k: np.zeros(sum(n)) for k in columns}
        flat = {"px": np.concatenate([ak.to_numpy(x.px) for x in parts]), "py": np.concatenate([ak.to_numpy(x.py)
                for x in parts]), "pz": np.concatenate([ak.to_numpy(x.pz) for x in parts]),
                "E": np.concatenate([ak.to_numpy(x.E) for x in parts]),
                "mass": np.concatenate([ak.to_numpy(x.mass) for x in parts]),
                "charge": np.concatenate([ak.to_numpy(top.part_charge[2 * e + j]) for j in range(2)]),
                "pid": np.concatenate([ak.to_numpy(top.part_pid[2 * e + j]) for j in range(2)])}
        for k in columns:
            event[k][order] = flat[k]
            columns[k].append(event[k])
        relation.append(order)
        total = [ak.sum(x) for x in parts]
        for j in range(2):
            for k, v in (("px", total[j].px), ("py", total[j].py), ("pz", total[j].pz), ("E", total[j].E),
                         ("mass", total[j].mass)):
                jets[k].append(float(v))
        jets["begin"] += [0, n[0]]
        jets["end"] += [n[0], n[0] + n[1]]

    def per_event(values, dtype, by=2):
        return ak.unflatten(np.asarray(values, dtype=dtype), np.full(n_events, by))

    pid_member = "PDG" if layout == "2023" else "type"
    out = {
        "Jet.momentum.x": per_event(jets["px"], np.float32), "Jet.momentum.y": per_event(jets["py"], np.float32),
        "Jet.momentum.z": per_event(jets["pz"], np.float32), "Jet.energy": per_event(jets["E"], np.float32),
        "Jet.mass": per_event(jets["mass"], np.float32),
        "Jet.particles_begin": per_event(jets["begin"], np.uint32), "Jet.particles_end": per_event(jets["end"],
                                                                                                   np.uint32),
        "ReconstructedParticles.momentum.x": ak.values_astype(ak.Array(columns["px"]), np.float32),
        "ReconstructedParticles.momentum.y": ak.values_astype(ak.Array(columns["py"]), np.float32),
        "ReconstructedParticles.momentum.z": ak.values_astype(ak.Array(columns["pz"]), np.float32),
        "ReconstructedParticles.energy": ak.values_astype(ak.Array(columns["E"]), np.float32),
        "ReconstructedParticles.mass": ak.values_astype(ak.Array(columns["mass"]), np.float32),
        "ReconstructedParticles.charge": ak.values_astype(ak.Array(columns["charge"]), np.float32),
        f"ReconstructedParticles.{pid_member}": ak.values_astype(ak.Array(columns["pid"]), np.int32),
    }
    relation_name = "_Jet_particles" if layout == "2023" else "Jet#2"
    out[f"{relation_name}.index"] = ak.values_astype(ak.Array(relation), np.int32)
    out[f"{relation_name}.collectionID"] = ak.values_astype(ak.Array(relation) * 0 + 7, np.uint32)
    with uproot.recreate(path) as fout:
        tree = fout.mktree("events", {k: v.type for k, v in out.items()})
        tree.extend(out)


def delphes(path: Path, n_events: int = 30) -> None:
    """Delphes events: Jet (PT, Eta, Phi, Mass, Constituents refs) and the EFlowTrack / EFlowPhoton /
    EFlowNeutralHadron collections with their fUniqueID, two top jets per event plus unclustered objects. Written as
    an RNTuple with the members' branch names: uproot writes no doubly jagged TTree branch (the TRefArray)."""
    rng = np.random.default_rng(5)
    top = _tree(DATA / "top_2k.root")[:2 * n_events]
    p4 = _p4(top)
    names = {"EFlowTrack": ("PT", "Eta", "Phi", "Mass", "Charge", "PID", "D0", "ErrorD0", "DZ", "ErrorDZ",
                            "fUniqueID"),
             "EFlowPhoton": ("ET", "Eta", "Phi", "E", "fUniqueID"),
             "EFlowNeutralHadron": ("ET", "Eta", "Phi", "E", "fUniqueID")}
    out = {f"{c}.{m}": [] for c, members in names.items() for m in members}
    out.update({"Jet.PT": [], "Jet.Eta": [], "Jet.Phi": [], "Jet.Mass": [], "Jet.Constituents.refs": []})
    for e in range(n_events):
        event = {k: [] for k in out}
        uid = iter(rng.permutation(np.arange(1, 5000)))
        for j in range(2):
            jet = 2 * e + j
            refs = []
            for k in range(len(p4[jet])):
                q, pid = int(top.part_charge[jet][k]), int(top.part_pid[jet][k])
                v, u = p4[jet][k], int(next(uid))
                refs.append(u)
                if q != 0:
                    values = {"PT": v.pt, "Eta": v.eta, "Phi": v.phi, "Mass": v.mass, "Charge": q, "PID": pid,
                              "D0": top.part_d0val[jet][k], "ErrorD0": top.part_d0err[jet][k],
                              "DZ": top.part_dzval[jet][k], "ErrorDZ": top.part_dzerr[jet][k], "fUniqueID": u}
                    collection = "EFlowTrack"
                else:
                    values = {"ET": v.pt, "Eta": v.eta, "Phi": v.phi, "E": v.E, "fUniqueID": u}
                    collection = "EFlowPhoton" if pid == 22 else "EFlowNeutralHadron"
                for m, value in values.items():
                    event[f"{collection}.{m}"].append(float(value))
            total = ak.sum(p4[jet])
            for m, value in (("PT", total.pt), ("Eta", total.eta), ("Phi", total.phi), ("Mass", total.mass)):
                event[f"Jet.{m}"].append(float(value))
            event["Jet.Constituents.refs"].append(refs)
        for m, value in {"ET": 2.0, "Eta": -3.0, "Phi": 1.0, "E": 2.0 * np.cosh(3.0), "fUniqueID": 9999}.items():
            event[f"EFlowPhoton.{m}"].append(float(value))  # a photon in no jet
        for k in out:
            out[k].append(event[k])
    ints = {"Charge": np.int32, "PID": np.int32, "fUniqueID": np.uint32, "refs": np.uint32}
    arrays = {k: ak.values_astype(ak.Array(v), ints.get(k.split(".")[-1], np.float32)) for k, v in out.items()}
    with uproot.recreate(path) as fout:
        fout["Delphes"] = arrays


def physlite(path: Path, n_events: int = 30) -> None:
    """ATLAS PHYSLITE events: AnalysisJets (MeV) with GhostTrack ElementLink indices into InDetTrackParticles
    (perigee theta, phi, qOverP in 1/MeV, d0, z0, vz, covariance diagonal) and PrimaryVertices; two flavour-sample
    jets per event, tracks shuffled, plus tracks in no jet. An RNTuple with the branch names (uproot writes no
    vector<vector<ElementLink>>); the ElementLink is given by its m_persIndex member."""
    rng = np.random.default_rng(3)
    a = _tree(DATA / "flavour_2k.root")[:2 * n_events]
    p4 = _p4(a)
    code = np.array([0, 4, 5])[np.argmax(np.stack([ak.to_numpy(a[f"label_{c}"]) for c in ("light", "c", "b")],
                                                  axis=1), axis=1)]
    tracks = {k: [] for k in ("theta", "phi", "qOverP", "d0", "z0", "vz", "cov")}
    links, pv_z = [], []
    for e in range(n_events):
        pv = float(rng.normal(0, 30.0))
        rows = []
        for j in range(2):
            jet = 2 * e + j
            for k in range(len(p4[jet])):
                v = p4[jet][k]
                rows.append((j, float(v.theta), float(v.phi), float(a.part_charge[jet][k]) / (float(v.p) * 1e3),
                             float(a.part_d0val[jet][k]), float(a.part_dzval[jet][k]) + pv,
                             [float(a.part_d0err[jet][k]) ** 2, float(a.part_dzerr[jet][k]) ** 2, 1e-6, 1e-7, 1e-12]))
        rows += [(-1, 1.0, 0.3, 1e-3, 0.01, pv, [1e-4, 1e-4, 1e-6, 1e-7, 1e-12])] * 2  # tracks in no jet
        order = rng.permutation(len(rows))
        stored = [rows[i] for i in order]
        position = np.empty(len(rows), dtype=np.int64)
        position[order] = np.arange(len(rows))
        for name, column in zip(("theta", "phi", "qOverP", "d0", "z0", "cov"), range(1, 7), strict=True):
            tracks[name].append([r[column] for r in stored])
        tracks["vz"].append([0.0] * len(rows))
        links.append([[int(position[i]) for i, r in enumerate(rows) if r[0] == j] for j in range(2)])
        pv_z.append([pv, pv + 40.0])

    def per_event(x):
        return ak.unflatten(np.asarray(x, dtype=np.float32), np.full(n_events, 2))

    out = {"AnalysisJetsAuxDyn.pt": per_event(ak.to_numpy(a.jet_pt) * 1e3),
           "AnalysisJetsAuxDyn.eta": per_event(ak.to_numpy(a.jet_eta)),
           "AnalysisJetsAuxDyn.phi": per_event(ak.to_numpy(a.jet_phi)),
           "AnalysisJetsAuxDyn.m": per_event(ak.to_numpy(a.jet_mass) * 1e3),
           "AnalysisJetsAuxDyn.HadronConeExclTruthLabelID": ak.values_astype(per_event(code), np.int32),
           "AnalysisJetsAuxDyn.GhostTrack.m_persIndex": ak.values_astype(ak.Array(links), np.uint32),
           "PrimaryVerticesAuxDyn.z": ak.values_astype(ak.Array(pv_z), np.float32)}
    names = {"theta": "theta", "phi": "phi", "qOverP": "qOverP", "d0": "d0", "z0": "z0", "vz": "vz",
             "cov": "definingParametersCovMatrixDiag"}
    for key, name in names.items():
        out[f"InDetTrackParticlesAuxDyn.{name}"] = ak.values_astype(ak.Array(tracks[key]), np.float32)
    with uproot.recreate(path) as fout:
        fout["CollectionTree"] = out


def parquet(path: Path, n_jets: int = 80) -> None:
    a = _tree(DATA / "top_2k.root")[:n_jets]
    p4 = _p4(a)
    ak.to_parquet(ak.zip({"cand_pt": p4.pt, "cand_eta": p4.eta, "cand_phi": p4.phi, "cand_m": p4.mass,
                          "jet_m": a.jet_mass, "is_top": a.label_Tbqq}, depth_limit=1), path)


if __name__ == "__main__":
    pfnano(HERE / "pfnano.root")
    toptagging(HERE / "toptagging.h5")
    energyflow(HERE / "energyflow.npz")
    parquet(HERE / "jets.parquet")
    edm4hep(HERE / "edm4hep.root", "2023")
    edm4hep(HERE / "edm4hep_2021.root", "2021")
    delphes(HERE / "delphes.root")
    physlite(HERE / "physlite.root")
    for name in ("pfnano.root", "toptagging.h5", "energyflow.npz", "jets.parquet", "edm4hep.root",
                 "edm4hep_2021.root", "delphes.root", "physlite.root"):
        print(name, (HERE / name).stat().st_size // 1024, "kB")
