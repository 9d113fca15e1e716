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
from typing import Annotated

from pydantic import Field, create_model, model_validator

from jetgnn.errors import InputError
from jetgnn.io.schema import JET_BRANCHES, LABELS, PARTICLE_BRANCHES
from jetgnn.utils.config import ConfigModel, ErrorStyle, PositiveInt, parse_yaml, read_yaml, validate

_MOMENTUM_FORMS = (("px", "py", "pz", "energy"), ("pt", "eta", "phi", "energy"))
#: optional particle keys -> jetclass field names
OPTIONAL_PARTICLE_FIELDS = {
    name[len("part_"):]: name
    for name in PARTICLE_BRANCHES
    if name not in ("part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi")
}

Branch = Annotated[str, Field(min_length=1)]

#: ``particles:`` section: momentum keys, relative coordinates and every optional jetclass particle field
_ParticlesSection = create_model(
    "ParticlesSection", __base__=ConfigModel,
    **{key: (Branch | None, None) for key in ("px", "py", "pz", "pt", "eta", "phi", "energy", "deta", "dphi",
                                              *OPTIONAL_PARTICLE_FIELDS)})


class _JetsSection(ConfigModel):
    pt: Branch | None = None
    eta: Branch | None = None
    phi: Branch | None = None
    energy: Branch | None = None
    mass: Branch | None = None
    nparticles: Branch | None = None
    extra: dict[str, Branch] = {}


class _LabelsSection(ConfigModel):
    one_hot: Annotated[list[Branch], Field(min_length=2)] | None = None
    branch: Branch | None = None
    expression: Branch | None = None
    names: list[str] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("one_hot", "branch", "expression") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of one_hot, branch, expression (got {', '.join(given)})")
        if self.names is not None and self.one_hot is not None and len(self.names) != len(self.one_hot):
            raise ValueError(f"names has {len(self.names)} names for {len(self.one_hot)} one_hot branches")
        return self


class _MappingFile(ConfigModel):
    """The YAML schema of a branch mapping (module docstring)."""

    tree: Branch | None = None
    particles: _ParticlesSection
    jets: _JetsSection = _JetsSection()
    labels: _LabelsSection = _LabelsSection()
    max_particles: PositiveInt | None = None

    @model_validator(mode="after")
    def _momenta(self):
        given = {k for k, v in self.particles if v is not None}
        for form in _MOMENTUM_FORMS:
            if set(form) <= given:
                mixed = sorted((set(_MOMENTUM_FORMS[0]) | set(_MOMENTUM_FORMS[1])) - set(form) & given)
                if mixed:
                    raise ValueError(f"particles: give either px/py/pz/energy or pt/eta/phi/energy, not also "
                                     f"{', '.join(mixed)}")
                break
        else:
            raise ValueError(f"particles: need px, py, pz, energy or pt, eta, phi, energy "
                             f"(got {', '.join(sorted(given)) or 'nothing'})")
        if any("{i}" in v for _, v in self.particles if v) and self.max_particles is None:
            raise ValueError("particle branches with {i} need max_particles")
        return self


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

    @classmethod
    def from_file(cls, spec: _MappingFile, origin: str) -> BranchMapping:
        """The resolved mapping of a validated mapping file."""
        particles = {k: v for k, v in spec.particles if v is not None}
        labels = spec.labels
        names = labels.names
        if names is None and labels.one_hot is not None:
            names = [b[len("label_"):] if b.startswith("label_") else b for b in labels.one_hot]
        return cls(tree=spec.tree, momentum="cartesian" if "px" in particles else "cylindrical",
                   particles=particles, jets={k: v for k, v in spec.jets if v is not None and k != "extra"},
                   jet_extra=dict(spec.jets.extra), label_one_hot=labels.one_hot, label_branch=labels.branch,
                   label_expression=labels.expression, label_names=names, max_particles=spec.max_particles,
                   origin=origin)


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


def _read_source(source) -> tuple[object, str]:
    """(parsed YAML or dict, origin name) of a mapping given as a file path, a YAML string or a dict."""
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source):
        return read_yaml(source, "mapping"), os.fspath(source)
    if isinstance(source, str):
        if source.endswith((".yaml", ".yml")):
            raise InputError(f"mapping file not found: {source}")
        return parse_yaml(source, "mapping"), "<mapping>"
    return source, "<mapping>"


def load_mapping(source) -> BranchMapping:
    """A BranchMapping from a YAML file path, a YAML string or a dict; validates every key."""
    if isinstance(source, BranchMapping):
        return source
    data, origin = _read_source(source)
    spec = validate(_MappingFile, data, ErrorStyle(where=origin, quote=False, sections=True))
    return BranchMapping.from_file(spec, origin)
