"""The jetclass ROOT schema (SPEC §2): branch names, dtypes and label conventions.

One TTree named ``tree``, one entry per jet. Units: GeV, radians, mm.
Particle branches are jagged (one value per constituent, constituents sorted by decreasing pT).
"""

from __future__ import annotations

from enum import IntEnum

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

#: Class names per task, in ``jet_label`` order; one-hot branches are ``label_<name>``.
LABELS: dict[str, tuple[str, ...]] = {
    "qg": ("g", "q"),
    "top": ("QCD", "Tbqq"),
    "flavour": ("light", "c", "b"),
}

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
