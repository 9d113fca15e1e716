"""The jetclass ROOT schema (SPEC §2): branch names, dtypes and label conventions.

One TTree named ``tree``, one entry per jet. Units: GeV, radians, mm.
Particle branches are jagged (one value per constituent, constituents sorted by decreasing pT).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

TREE_NAME = "tree"

#: Jagged per-particle branches and their numpy dtypes.
PARTICLE_BRANCHES: dict[str, str] = {
    "part_px": "float32",  # GeV
    "part_py": "float32",  # GeV
    "part_pz": "float32",  # GeV
    "part_energy": "float32",  # GeV
    "part_deta": "float32",  # eta - jet_eta
    "part_dphi": "float32",  # phi - jet_phi, wrapped to [-pi, pi]
    "part_charge": "int32",
    "part_pid": "int32",  # PDG id
    "part_isChargedHadron": "int32",
    "part_isNeutralHadron": "int32",
    "part_isPhoton": "int32",
    "part_isElectron": "int32",
    "part_isMuon": "int32",
    "part_d0val": "float32",  # mm, transverse impact parameter (0 for neutrals)
    "part_d0err": "float32",  # mm
    "part_dzval": "float32",  # mm, longitudinal impact parameter (0 for neutrals)
    "part_dzerr": "float32",  # mm
    "part_vtx_idx": "int32",  # 0 primary, 1,2,... displaced truth vertices, -1 neutral
    "part_origin": "int32",  # see ORIGIN_CLASSES
}

#: Flat per-jet branches and their numpy dtypes.
JET_BRANCHES: dict[str, str] = {
    "jet_pt": "float32",
    "jet_eta": "float32",
    "jet_phi": "float32",
    "jet_energy": "float32",
    "jet_mass": "float32",
    "jet_nparticles": "int32",
    "jet_sdmass": "float32",  # soft drop, beta=0, zcut=0.1, R0 = jet radius
    "jet_tau1": "float32",  # N-subjettiness, beta=1, one-pass kT axes, normalised measure
    "jet_tau2": "float32",
    "jet_tau3": "float32",
    "jet_label": "int32",
    "aux_parton_pt": "float32",
    "aux_parton_eta": "float32",
    "aux_parton_phi": "float32",
    "aux_parton_pid": "int32",
}

#: Per-jet branches that only some recipes write (``generate darkjet``), read when a file has them.
OPTIONAL_JET_BRANCHES: dict[str, str] = {
    # |vector sum of the pT of invisible particles (neutrinos, stable dark hadrons) within R of the jet axis| /
    # |jet pT + that sum| (vectors): the missing-pT fraction of semi-visible jets
    "aux_invisible_pt_fraction": "float32",
    # the 16 hls4ml LHC-jet-dataset features (``generate multiclass``; definitions in
    # jetgnn.generation.substructure.HLS4ML_FEATURES): energy correlation ratios of the mMDT-groomed jet
    **{f"jet_{name}": "float32" for name in (
        "zlogz", "c1_b0_mmdt", "c1_b1_mmdt", "c1_b2_mmdt", "c2_b1_mmdt", "c2_b2_mmdt", "d2_b1_mmdt", "d2_b2_mmdt",
        "d2_a1_b1_mmdt", "d2_a1_b2_mmdt", "m2_b1_mmdt", "m2_b2_mmdt", "n2_b1_mmdt", "n2_b2_mmdt", "mass_mmdt")},
    "jet_multiplicity": "int32",
}

#: Class names per task, in ``jet_label`` order; one-hot branches are ``label_<name>``.
LABELS: dict[str, tuple[str, ...]] = {
    "qg": ("g", "q"),
    "top": ("QCD", "Tbqq"),
    "flavour": ("light", "c", "b"),
    "darkjet": ("QCD", "dark"),
    "multiclass": ("g", "q", "W", "Z", "t"),
}


def one_hot_task(branches) -> str | None:
    """The task whose one-hot ``label_*`` branches are all among ``branches``: the one with the most classes, so
    that a g/q/W/Z/t file is "multiclass", not "qg" (None if no task matches)."""
    branches = set(branches)
    for task, names in sorted(LABELS.items(), key=lambda item: len(item[1]), reverse=True):
        if all(f"label_{name}" in branches for name in names):
            return task
    return None

class Origin(IntEnum):
    """Truth track origin (``part_origin``): where a charged particle comes from; NEUTRAL (-1) for neutrals."""

    NEUTRAL = -1
    PRIMARY = 0  # primary vertex / fragmentation
    FROM_B = 1
    FROM_B_TO_C = 2  # from a c hadron of a b-hadron decay
    FROM_PROMPT_C = 3
    OTHER_SECONDARY = 4  # other displaced decays (strange hadrons, tau, ...)


#: Truth track origin classes (``part_origin``) in class order, as used in metric and branch names.
ORIGIN_CLASSES: dict[int, str] = {int(o): o.name.lower() for o in Origin if o >= 0}
N_ORIGINS = len(ORIGIN_CLASSES)


def origin_label(code: int) -> str:
    """Plot label of an origin class, e.g. ``from b->c``."""
    return ORIGIN_CLASSES[code].replace("_to_", "->").replace("_", " ")


def label_branches(task: str) -> list[str]:
    """One-hot label branch names of a task, e.g. ``['label_QCD', 'label_Tbqq']``."""
    return [f"label_{name}" for name in LABELS[task]]


def type_flags(pid, charge) -> dict[str, np.ndarray]:
    """Particle-type flags of the jetclass schema from PDG ids and charges (vectorised, int32 0/1): electrons,
    muons and photons by id, other charged particles are charged hadrons, other neutral ones neutral hadrons."""
    apid = np.abs(pid)
    is_electron = apid == 11
    is_muon = apid == 13
    is_photon = apid == 22
    charged = charge != 0
    return {
        "part_isChargedHadron": (charged & ~is_electron & ~is_muon).astype(np.int32),
        "part_isNeutralHadron": (~charged & ~is_photon).astype(np.int32),
        "part_isPhoton": is_photon.astype(np.int32),
        "part_isElectron": is_electron.astype(np.int32),
        "part_isMuon": is_muon.astype(np.int32),
    }


#: (charge, mass / GeV) of the stable particles that end up in jets, by |PDG id| (charge of the particle, not
#: of its antiparticle); PDG 2024 masses
PDG_PARTICLES: dict[int, tuple[int, float]] = {
    11: (-1, 0.000511), 13: (-1, 0.10566), 22: (0, 0.0), 211: (1, 0.13957), 321: (1, 0.49368),
    130: (0, 0.49761), 310: (0, 0.49761), 2212: (1, 0.93827), 2112: (0, 0.93957), 3122: (0, 1.11568),
    3222: (1, 1.18937), 3112: (-1, 1.19745), 3212: (0, 1.19264), 3312: (-1, 1.32171), 3322: (0, 1.31486),
    3334: (-1, 1.67245), 12: (0, 0.0),
    14: (0, 0.0), 16: (0, 0.0),
}


def pid_charge_mass(pid) -> tuple[np.ndarray, np.ndarray]:
    """(charge, mass / GeV) per PDG id (numpy, vectorised; antiparticles flip the charge; unknown ids: 0, 0)."""
    pid = np.asarray(pid).astype(np.int64)
    keys = np.array(sorted(PDG_PARTICLES), dtype=np.int64)
    charges = np.array([PDG_PARTICLES[k][0] for k in keys], dtype=np.int32)
    masses = np.array([PDG_PARTICLES[k][1] for k in keys], dtype=np.float64)
    apid = np.abs(pid)
    pos = np.clip(np.searchsorted(keys, apid), 0, len(keys) - 1)
    known = keys[pos] == apid
    charge = np.where(known, charges[pos] * np.sign(pid), 0).astype(np.int32)
    return charge, np.where(known, masses[pos], 0.0)
