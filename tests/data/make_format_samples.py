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
- ``jets.parquet``: jagged jetclass-like columns written with ``ak.to_parquet`` (for custom mappings).
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
    pileup = 3
    for e in range(N_EVENTS):
        cands = {k: [] for k in fat}
        offset = 0
        for source, collection in ((fat, "FatJetPFCands"), (ak4, "JetPFCands")):
            jets_idx, cand_idx = [], []
            for j in range(2):
                jet = 2 * e + j
                n = len(source["pt"][jet])
                for k in fat:
                    cands[k].extend(ak.to_list(source[k][jet]))
                jets_idx += [j] * n
                cand_idx += list(range(offset, offset + n))
                offset += n
            # a weight-0 candidate linked to the first jet (PUPPI removed it)
            first = source["eta"][2 * e]
            eta0 = float(first[0]) if len(first) else 0.0
            phi0 = float(source["phi"][2 * e][0]) if len(first) else 0.0
            for k in fat:
                cands[k].append({"pt": 5.0, "eta": eta0, "phi": phi0,
                                 "mass": 0.0, "charge": 0, "pdgId": 22, "puppiWeight": 0.0, "d0": -1.0, "d0Err": -1.0,
                                 "dz": -1.0, "dzErr": -1.0}[k])
            jets_idx.append(0)
            cand_idx.append(offset)
            offset += 1
            links[collection][0].append(jets_idx)
            links[collection][1].append(cand_idx)
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

    fatjet = jets_table(top, {"msoftdrop": top.jet_sdmass, "tau1": top.jet_tau1, "tau2": top.jet_tau2,
                              "tau3": top.jet_tau3})
    flavour_code = np.array([0, 4, 5])[np.argmax(np.stack([ak.to_numpy(flavour[f"label_{c}"])
                                                           for c in ("light", "c", "b")], axis=1), axis=1)]
    dtypes["hadronFlavour"] = np.int32
    jet = jets_table(flavour, {"hadronFlavour": flavour_code})
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
    for name in ("pfnano.root", "toptagging.h5", "energyflow.npz", "jets.parquet"):
        print(name, (HERE / name).stat().st_size // 1024, "kB")
