"""Turn a chunk of accumulated jets into jetclass-schema columns, vectorised over the whole chunk."""

from __future__ import annotations

import awkward as ak
import numpy as np
import vector

from jetgnn.generation.impact import smeared_impact_parameters
from jetgnn.generation.recipes import Recipe
from jetgnn.generation.selection import JetSink
from jetgnn.generation.substructure import hls4ml_features, jet_substructure
from jetgnn.io.schema import JET_BRANCHES, OPTIONAL_JET_BRANCHES, PARTICLE_BRANCHES, type_flags
from jetgnn.kinematics import delta_phi


def chunk_columns(sink: JetSink, recipe: Recipe, rng: np.random.Generator) -> dict[str, object]:
    """All SPEC §2 branches of one chunk: flat numpy arrays per jet, awkward jagged arrays per particle.

    ``rng`` drives the impact-parameter smearing (seeded per chunk, so output is reproducible).
    """
    p = {name: np.asarray(values) for name, values in sink.particles.items()}
    j = {name: np.asarray(values) for name, values in sink.jets.items()}
    counts = j["n"].astype(np.int64)
    n_jets = len(counts)

    jet = vector.array({"px": j["px"], "py": j["py"], "pz": j["pz"], "E": j["e"]})
    jet_eta, jet_phi = jet.eta, jet.phi
    mass2 = np.maximum(j["e"] ** 2 - j["px"] ** 2 - j["py"] ** 2 - j["pz"] ** 2, 0.0)

    part = vector.array({"px": p["px"], "py": p["py"], "pz": p["pz"], "E": p["e"]})
    charge = p["charge"].astype(np.int32) if len(p["charge"]) else np.zeros(0, np.int32)
    pid = p["pid"].astype(np.int32) if len(p["pid"]) else np.zeros(0, np.int32)
    d0, d0err, dz, dzerr = smeared_impact_parameters(
        p["vx"], p["vy"], p["vz"], p["px"], p["py"], p["pz"], charge, rng
    )
    flat = {
        "part_px": p["px"],
        "part_py": p["py"],
        "part_pz": p["pz"],
        "part_energy": p["e"],
        "part_deta": part.eta - np.repeat(jet_eta, counts),
        "part_dphi": delta_phi(part.phi, np.repeat(jet_phi, counts)),
        "part_charge": charge,
        "part_pid": pid,
        **type_flags(pid, charge),
        "part_d0val": d0,
        "part_d0err": d0err,
        "part_dzval": dz,
        "part_dzerr": dzerr,
        "part_vtx_idx": p["vtx"],
        "part_origin": p["origin"],
    }
    columns: dict[str, object] = {
        name: ak.unflatten(np.asarray(flat[name]).astype(dtype), counts) for name, dtype in PARTICLE_BRANCHES.items()
    }
    columns.update(
        {
            "jet_pt": jet.rho,
            "jet_eta": jet_eta,
            "jet_phi": jet_phi,
            "jet_energy": j["e"],
            "jet_mass": np.sqrt(mass2),
            "jet_nparticles": counts,
            **jet_substructure(
                sink.full["px"], sink.full["py"], sink.full["pz"], sink.full["e"], sink.full["n"], recipe.radius
            ),
            "jet_label": j["label"],
            "aux_parton_pt": j["parton_pt"],
            "aux_parton_eta": j["parton_eta"],
            "aux_parton_phi": j["parton_phi"],
            "aux_parton_pid": j["parton_pid"],
        }
    )
    for name, dtype in JET_BRANCHES.items():
        columns[name] = np.asarray(columns[name]).astype(dtype).reshape(n_jets)
    if recipe.record_invisible:
        inv_px, inv_py = j["invisible_px"], j["invisible_py"]
        total = np.hypot(j["px"] + inv_px, j["py"] + inv_py)
        columns["aux_invisible_pt_fraction"] = (np.hypot(inv_px, inv_py) / np.maximum(total, 1e-9)).astype(
            OPTIONAL_JET_BRANCHES["aux_invisible_pt_fraction"])
    if recipe.hls4ml_features:
        full = sink.full
        for name, values in hls4ml_features(full["px"], full["py"], full["pz"], full["e"], full["n"]).items():
            columns[name] = values.astype(OPTIONAL_JET_BRANCHES[name])
    labels = columns["jet_label"]
    for k, name in enumerate(recipe.labels):
        columns[f"label_{name}"] = (labels == k).astype(np.int32)
    return columns
