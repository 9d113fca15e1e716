"""Branch mappings: how the branches of any flat or jagged ntuple map onto the jetclass fields.

The jetclass schema (SPEC §2) needs no mapping. Any other ntuple is described by a small YAML file::

    tree: Events                 # TTree name (default: "tree", or the file's only TTree)
    particles:                   # one of the two momentum forms:
      px: pfc_px                 #   px / py / pz / energy   (GeV)
      py: pfc_py                 #   pt / eta / phi / energy (GeV, radians)
      pz: pfc_pz
      energy: pfc_e
      charge: pfc_q              # optional: charge, pid, the part_is* flags, d0val, d0err, dzval, dzerr,
      pid: pfc_pdgid             #           vtx_idx, origin
    jets:                        # optional; jet pt/eta/phi/energy/mass absent here are computed from
      mass: fatjet_m             #   the constituents with `vector`
      extra: {sdmass: fatjet_msd, tau21: fatjet_tau21}   # carried as jet_<name> (e.g. jet_sdmass)
    labels:                      # exactly one of one_hot / branch / expression
      one_hot: [is_qcd, is_top]  #   one-hot integer/bool branches, in class order
      # branch: label            #   one integer branch holding the class index
      # expression: "pdg == 6"   #   an uproot expression (Python syntax over branch names), cast to int
      names: [QCD, Tbqq]         # optional class names
    max_particles: 200           # only for flat per-particle columns named with {i}, e.g. px: "PX_{i}"

Flat per-particle columns (the Top Tagging reference layout ``PX_0 ... PX_199``, zero-padded) are given
with an ``{i}`` placeholder and ``max_particles``; padded entries (energy 0) are dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from jetgnn.errors import InputError
from jetgnn.io.schema import JET_BRANCHES, LABELS, PARTICLE_BRANCHES

_TOP_KEYS = ("tree", "particles", "jets", "labels", "max_particles")
_MOMENTUM_FORMS = (("px", "py", "pz", "energy"), ("pt", "eta", "phi", "energy"))
#: optional particle keys -> jetclass field names
OPTIONAL_PARTICLE_FIELDS = {
    name[len("part_"):]: name
    for name in PARTICLE_BRANCHES
    if name not in ("part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi")
}
_JET_KEYS = ("pt", "eta", "phi", "energy", "mass", "nparticles", "extra")
_LABEL_KEYS = ("one_hot", "branch", "expression", "names")


@dataclass
class BranchMapping:
    """Where each jetclass field comes from. ``particles``/``jets`` map field name -> branch name."""

    tree: str | None = None
    momentum: str = "cartesian"  # or "cylindrical" (pt/eta/phi/energy)
    particles: dict[str, str] = field(default_factory=dict)
    jets: dict[str, str] = field(default_factory=dict)
    jet_extra: dict[str, str] = field(default_factory=dict)
    label_one_hot: list[str] | None = None
    label_branch: str | None = None
    label_expression: str | None = None
    label_names: list[str] | None = None
    max_particles: int | None = None
    origin: str = "<jetclass>"

    @property
    def flat_columns(self) -> bool:
        return any("{i}" in b for b in self.particles.values())


def jetclass_mapping(available: set[str], origin: str = "<jetclass>") -> BranchMapping:
    """The no-config mapping of the jetclass schema, restricted to the branches a file has."""
    particles = {k: f"part_{k}" for k in ("px", "py", "pz", "energy")}
    particles.update({k: v for k, v in OPTIONAL_PARTICLE_FIELDS.items() if v in available})
    for k in ("deta", "dphi"):
        if f"part_{k}" in available:
            particles[k] = f"part_{k}"
    jets = {k: f"jet_{k}" for k in ("pt", "eta", "phi", "energy", "mass", "nparticles") if f"jet_{k}" in available}
    extra = {name[len("jet_"):]: name for name in JET_BRANCHES
             if name.startswith("jet_") and name[len("jet_"):] not in jets and name != "jet_label"
             and name in available}
    extra.update({name: name for name in JET_BRANCHES if name.startswith("aux_") and name in available})
    mapping = BranchMapping(particles=particles, jets=jets, jet_extra=extra, origin=origin)
    for names in LABELS.values():
        one_hot = [f"label_{n}" for n in names]
        if all(b in available for b in one_hot):
            mapping.label_one_hot, mapping.label_names = one_hot, list(names)
            break
    else:
        if "jet_label" in available:
            mapping.label_branch = "jet_label"
    return mapping


def _require_mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{where} must be a mapping (key: value), got {type(value).__name__}")
    return value


def _check_keys(section: dict, allowed, where: str) -> None:
    for key in section:
        if key not in allowed:
            raise InputError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def _branch_name(value, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a branch name (string), got {value!r}")
    return value


def load_mapping(source) -> BranchMapping:
    """A BranchMapping from a YAML file path, a YAML string or a dict; validates every key."""
    origin = "<mapping>"
    if isinstance(source, BranchMapping):
        return source
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        origin = os.fspath(source)
        try:
            with open(source) as f:
                data = yaml.safe_load(f)
        except yaml.YAMLError as err:
            raise InputError(f"{origin}: not valid YAML ({err.__class__.__name__})") from None
    elif isinstance(source, str):
        if source.endswith((".yaml", ".yml")):
            raise InputError(f"mapping file not found: {source}")
        data = yaml.safe_load(source)
    else:
        data = source
    data = _require_mapping(data, origin)
    _check_keys(data, _TOP_KEYS, origin)
    mapping = BranchMapping(origin=origin)
    if "tree" in data:
        mapping.tree = _branch_name(data["tree"], f"{origin}: tree")

    particles = _require_mapping(data.get("particles"), f"{origin}: particles")
    allowed = ("px", "py", "pz", "pt", "eta", "phi", "energy", "deta", "dphi", *OPTIONAL_PARTICLE_FIELDS)
    _check_keys(particles, allowed, f"{origin}: particles")
    for form, name in zip(_MOMENTUM_FORMS, ("cartesian", "cylindrical"), strict=True):
        if all(k in particles for k in form):
            mapping.momentum = name
            other = set(_MOMENTUM_FORMS[0] + _MOMENTUM_FORMS[1]) - set(form)
            mixed = sorted(other & set(particles))
            if mixed:
                raise InputError(f"{origin}: particles: give either px/py/pz/energy or pt/eta/phi/energy, "
                                 f"not also {', '.join(mixed)}")
            break
    else:
        raise InputError(f"{origin}: particles: need px, py, pz, energy or pt, eta, phi, energy "
                         f"(got {', '.join(particles) or 'nothing'})")
    mapping.particles = {k: _branch_name(v, f"{origin}: particles.{k}") for k, v in particles.items()}

    if "max_particles" in data:
        value = data["max_particles"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"{origin}: max_particles must be a positive integer, got {value!r}")
        mapping.max_particles = value
    if mapping.flat_columns and mapping.max_particles is None:
        raise InputError(f"{origin}: particle branches with {{i}} need max_particles")

    jets = _require_mapping(data.get("jets", {}) or {}, f"{origin}: jets")
    _check_keys(jets, _JET_KEYS, f"{origin}: jets")
    extra = _require_mapping(jets.get("extra", {}) or {}, f"{origin}: jets.extra")
    mapping.jets = {k: _branch_name(v, f"{origin}: jets.{k}") for k, v in jets.items() if k != "extra"}
    mapping.jet_extra = {k: _branch_name(v, f"{origin}: jets.extra.{k}") for k, v in extra.items()}

    labels = _require_mapping(data.get("labels", {}) or {}, f"{origin}: labels")
    _check_keys(labels, _LABEL_KEYS, f"{origin}: labels")
    given = [k for k in ("one_hot", "branch", "expression") if k in labels]
    if len(given) > 1:
        raise InputError(f"{origin}: labels: give one of one_hot, branch, expression (got {', '.join(given)})")
    if "one_hot" in labels:
        one_hot = labels["one_hot"]
        if not isinstance(one_hot, list) or len(one_hot) < 2:
            raise InputError(f"{origin}: labels.one_hot must be a list of at least two branch names")
        mapping.label_one_hot = [_branch_name(b, f"{origin}: labels.one_hot") for b in one_hot]
    if "branch" in labels:
        mapping.label_branch = _branch_name(labels["branch"], f"{origin}: labels.branch")
    if "expression" in labels:
        mapping.label_expression = _branch_name(labels["expression"], f"{origin}: labels.expression")
    if "names" in labels:
        names = labels["names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError(f"{origin}: labels.names must be a list of strings")
        if mapping.label_one_hot is not None and len(names) != len(mapping.label_one_hot):
            raise InputError(f"{origin}: labels.names has {len(names)} names for {len(mapping.label_one_hot)} "
                             f"one_hot branches")
        mapping.label_names = names
    elif mapping.label_one_hot is not None:
        mapping.label_names = [b[len("label_"):] if b.startswith("label_") else b for b in mapping.label_one_hot]
    return mapping
