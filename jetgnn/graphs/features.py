"""Node, edge and global features of particle graphs, computed on flat (all jets' nodes) arrays.

Node features (``x_names``), before scaling:

==================  ==========================================================================
log_pt              ln(pT / GeV)
log_energy          ln(E / GeV)
log_pt_rel          ln(pT / pT_jet)
log_energy_rel      ln(E / E_jet)
deta, dphi          eta - eta_jet, phi - phi_jet (radians, wrapped)
delta_r             sqrt(deta^2 + dphi^2) to the jet axis
charge              electric charge                                  (if ``part_charge`` is present)
is_*                particle-type flags (charged/neutral hadron, photon, electron, muon; if present)
tanh_d0, tanh_dz    tanh(d0 / mm), tanh(dz / mm)                     (if impact parameters are present)
d0_err, dz_err      sigma(d0), sigma(dz) in mm, clipped to [0, 1]
log_d0_sig          sign(d0) ln(1 + |d0| / sigma(d0)); log_dz_sig likewise
==================  ==========================================================================

Standard scaling (``scale=True``): x' = (x - center) * factor with the constants of NODE_SCALING
(centres near the medians of LHC jets, factors that bring the spread to O(1)); features not listed are
left as they are. Globals ``u`` and ``pos`` are never scaled (GeV, radians).

Edge features (``edge_attr_names``, ParT-style pairwise features of particles a, b):
delta_r = sqrt(deta^2 + dphi^2); log_delta_r = ln(delta_r); log_kt = ln(min(pT_a, pT_b) delta_r / GeV);
log_z = ln(min(pT_a, pT_b) / (pT_a + pT_b)); log_m2 = ln(m^2_ab / GeV^2). Arguments are clamped at 1e-8.
"""

from __future__ import annotations

import numpy as np
import torch

from jetgnn.errors import InputError
from jetgnn.kinematics import delta_r

#: (center, factor): x' = (x - center) * factor
NODE_SCALING: dict[str, tuple[float, float]] = {
    "log_pt": (1.7, 0.7),
    "log_energy": (2.0, 0.7),
    "log_pt_rel": (-4.7, 0.7),
    "log_energy_rel": (-4.7, 0.7),
    "delta_r": (0.2, 4.0),
    "d0_err": (0.0, 10.0),
    "dz_err": (0.0, 10.0),
}

EDGE_FEATURES = ("delta_r", "log_delta_r", "log_kt", "log_z", "log_m2")
#: columns of the raw ``impact`` node tensor (mm, unscaled) and the particle fields they come from
IMPACT_BRANCHES = {"d0": "part_d0val", "dz": "part_dzval", "d0_err": "part_d0err", "dz_err": "part_dzerr"}
IMPACT_COLUMNS = tuple(IMPACT_BRANCHES)
_FLAGS = (("part_isChargedHadron", "is_charged_hadron"), ("part_isNeutralHadron", "is_neutral_hadron"),
          ("part_isPhoton", "is_photon"), ("part_isElectron", "is_electron"), ("part_isMuon", "is_muon"))
#: the clamp of every logarithm's argument (node and edge features)
EPS = 1e-8


#: the particle fields each optional node feature is computed from (the others need only the four-momenta)
FEATURE_FIELDS: dict[str, tuple[str, ...]] = {
    "charge": ("part_charge",),
    **{name: (branch,) for branch, name in _FLAGS},
    **{name: tuple(IMPACT_BRANCHES.values())
       for name in ("tanh_d0", "tanh_dz", "d0_err", "dz_err", "log_d0_sig", "log_dz_sig")},
}
BASE_FEATURES = ("log_pt", "log_energy", "log_pt_rel", "log_energy_rel", "deta", "dphi", "delta_r")


def check_node_features(names, fields) -> list[str]:
    """``names`` as a list if every feature can be computed from the particle ``fields``; else one InputError
    naming the feature and the field it comes from (a tagger reads exactly the features it was trained on)."""
    fields = set(fields)
    for name in names:
        if name not in BASE_FEATURES and name not in FEATURE_FIELDS:
            raise InputError(f"unknown node feature {name!r} (known: {', '.join([*BASE_FEATURES, *FEATURE_FIELDS])})")
        missing = [field for field in FEATURE_FIELDS.get(name, ()) if field not in fields]
        if missing:
            present = sorted(f for f in fields if f.startswith("part_"))
            keys = ", ".join(f"particles.{field[len('part_'):]}" for field in missing)
            raise InputError(f"the jets lack {', '.join(missing)}, which node feature {name!r} is computed from "
                             f"(the tagger was trained with it; a mapping supplies it as {keys}; particle fields "
                             f"here: {', '.join(present)})")
    return list(names)


def node_feature_names(fields) -> list[str]:
    """Node feature names available from a set of particle fields."""
    names = list(BASE_FEATURES)
    if "part_charge" in fields:
        names.append("charge")
    names += [name for branch, name in _FLAGS if branch in fields]
    if all(b in fields for b in IMPACT_BRANCHES.values()):
        names += ["tanh_d0", "tanh_dz", "d0_err", "dz_err", "log_d0_sig", "log_dz_sig"]
    return names


def node_features(flat: dict[str, np.ndarray], jet_pt: np.ndarray, jet_energy: np.ndarray,
                  names: list[str], scale: bool) -> torch.Tensor:
    """[n_nodes, len(names)] float32 node features from flat per-node arrays.

    flat : per-node arrays (px, py, pz, energy, deta, dphi and any optional part_* fields);
    jet_pt, jet_energy : per-node copies of the jet's pT and energy (GeV).
    """
    pt = np.hypot(flat["px"], flat["py"])
    energy = flat["energy"]
    computed: dict[str, np.ndarray] = {}

    def get(name):
        if name in computed:
            return computed[name]
        if name == "log_pt":
            v = np.log(np.maximum(pt, EPS))
        elif name == "log_energy":
            v = np.log(np.maximum(energy, EPS))
        elif name == "log_pt_rel":
            v = np.log(np.maximum(pt, EPS) / np.maximum(jet_pt, EPS))
        elif name == "log_energy_rel":
            v = np.log(np.maximum(energy, EPS) / np.maximum(jet_energy, EPS))
        elif name in ("deta", "dphi"):
            v = flat[name]
        elif name == "delta_r":
            v = delta_r(flat["deta"], flat["dphi"])
        elif name == "charge":
            v = flat["part_charge"]
        elif name.startswith("is_"):
            v = flat[dict((n, b) for b, n in _FLAGS)[name]]
        elif name in ("tanh_d0", "tanh_dz"):
            v = np.tanh(flat["part_d0val" if name == "tanh_d0" else "part_dzval"])
        elif name in ("d0_err", "dz_err"):
            v = np.clip(flat["part_d0err" if name == "d0_err" else "part_dzerr"], 0.0, 1.0)
        elif name in ("log_d0_sig", "log_dz_sig"):
            val, err = ("part_d0val", "part_d0err") if name == "log_d0_sig" else ("part_dzval", "part_dzerr")
            sig = np.abs(flat[val]) / np.where(flat[err] > 0, flat[err], np.inf)
            v = np.sign(flat[val]) * np.log1p(sig)
        else:
            raise KeyError(name)
        computed[name] = v
        return v

    x = np.empty((len(pt), len(names)), dtype=np.float32)
    for k, name in enumerate(names):
        v = get(name)
        if scale and name in NODE_SCALING:
            center, factor = NODE_SCALING[name]
            v = (v - center) * factor
        x[:, k] = v
    return torch.from_numpy(x)
