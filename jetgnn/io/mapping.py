"""Branch mappings: how the columns of any file map onto the jetclass fields, without code.

The jetclass schema (SPEC §2) needs no mapping; shipped presets (:mod:`jetgnn.io.presets`: ``cms-pfnano``,
``toptagging-h5``, ...) are selected by name; anything else is a small YAML file. Every value is a column name or an
expression over column names (:mod:`jetgnn.io.expressions`: units, sentinels, functions)::

    format: root                 # root (TTree or RNTuple), hdf5, parquet, npz (default: from the extension)
    tree: Events                 # TTree / RNTuple name, or the HDF5 group (default: "tree" or the only one)
    particles:                   # one momentum form: px/py/pz/energy, px/py/pz/mass, pt/eta/phi/energy,
      pt: pfc_pt                 #   pt/eta/phi/mass or pt/rapidity/phi/mass (GeV, radians)
      eta: pfc_eta
      phi: pfc_phi
      mass: pfc_m
      charge: pfc_q              # optional: charge, pid (charge and type flags follow from it), the part_is*
      d0val: pfc_d0 * 10         #   flags, d0val, d0err, dzval, dzerr (mm), vtx_idx, origin; weight (PUPPI)
    # particles: [{...}, {...}]  # several collections, concatenated per event in order
    jets:                        # optional; jet pt/eta/phi/energy/mass absent here are computed from
      mass: fatjet_m             #   the constituents with `vector`
      extra: {sdmass: fatjet_msd, tau21: fatjet_tau2 / fatjet_tau1}   # carried as jet_<name>
      collection: FatJet         # event-level files: jets per event, one jet per entry (event_index, jet_index)
      selection: FatJet_pt > 200 #   and which of them to keep
    links:                       # event-level files: how constituents attach to jets (one of)
      jet_index: FatJetPFCands_jetIdx            # a link table per event
      particle_index: FatJetPFCands_pFCandsIdx
      # particle_lists: ...      # per jet, a list of particle indices
      # begin: ..., end: ..., index: ...          # per jet, a range (into a relation collection)
    labels:                      # exactly one of one_hot / branch / expression
      one_hot: [is_qcd, is_top]  #   one-hot integer/bool columns, in class order
      # branch: label            #   one integer column holding the class index (or a code, with values)
      # expression: "pdg == 6"   #   an expression, cast to int
      # values: [0, 4, 5]        #   the codes of the classes, in class order (e.g. hadron flavour)
      names: [QCD, Tbqq]         # optional class names
    max_particles: 200           # only for flat per-particle columns named with {i}, e.g. px: "PX_{i}"

Flat per-particle columns (the Top Tagging reference layout ``PX_0 ... PX_199``) and zero-padded per-particle
matrices (``X[:, :, 0]`` of an npz or HDF5 dataset) become jagged lists; padded entries (every momentum
component 0) are dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field, create_model, model_validator

from jetgnn.errors import InputError
from jetgnn.io.presets import PRESETS
from jetgnn.io.schema import JET_BRANCHES, LABELS, OPTIONAL_JET_BRANCHES, PARTICLE_BRANCHES, one_hot_task
from jetgnn.utils.config import ConfigModel, ErrorStyle, PositiveInt, parse_yaml, read_yaml, validate

#: the momentum forms a particle collection may use (GeV, radians); "rapidity" is y, not η (EnergyFlow)
MOMENTUM_FORMS: dict[str, tuple[str, ...]] = {
    "px_py_pz_energy": ("px", "py", "pz", "energy"),
    "px_py_pz_mass": ("px", "py", "pz", "mass"),
    "pt_eta_phi_energy": ("pt", "eta", "phi", "energy"),
    "pt_eta_phi_mass": ("pt", "eta", "phi", "mass"),
    "pt_rapidity_phi_mass": ("pt", "rapidity", "phi", "mass"),
}
_MOMENTUM_KEYS = ("px", "py", "pz", "pt", "eta", "rapidity", "phi", "energy", "mass")
#: optional particle keys -> jetclass field names
OPTIONAL_PARTICLE_FIELDS = {
    name[len("part_"):]: name
    for name in PARTICLE_BRANCHES
    if name not in ("part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi")
}

#: a column name or an expression over column names (jetgnn.io.expressions)
Expression = Annotated[str, Field(min_length=1)]
Branch = Expression
#: an expression, or a list of them: the first whose columns the file has (format versions, e.g. EDM4hep's
#: ``_Jet_particles.index`` of 2023 and ``Jet#2.index`` of 2021)
Choice = Expression | Annotated[list[Expression], Field(min_length=1)]

#: ``particles:`` section: momentum keys, relative coordinates, a per-particle weight (PUPPI) and every optional
#: jetclass particle field
_ParticlesSection = create_model(
    "ParticlesSection", __base__=ConfigModel,
    **{key: (Choice | None, None) for key in (*_MOMENTUM_KEYS, "deta", "dphi", "weight", "uid",
                                                  *OPTIONAL_PARTICLE_FIELDS)})


def momentum_form(section) -> str:
    """The momentum form of a particles section (ValueError naming what is missing or mixed)."""
    given = {k for k in _MOMENTUM_KEYS if getattr(section, k) is not None}
    for name, form in MOMENTUM_FORMS.items():
        if set(form) == given:
            return name
    complete = [form for form in MOMENTUM_FORMS.values() if set(form) <= given]
    if complete:
        extra = sorted(given - set(complete[0]))
        raise ValueError(f"particles: give either {' or '.join('/'.join(f) for f in MOMENTUM_FORMS.values())}, "
                         f"not also {', '.join(extra)}")
    forms = " or ".join(", ".join(form) for form in MOMENTUM_FORMS.values())
    raise ValueError(f"particles: need {forms} (got {', '.join(sorted(given)) or 'nothing'})")


class _JetsSection(ConfigModel):
    collection: str | None = None
    pt: Choice | None = None
    eta: Choice | None = None
    phi: Choice | None = None
    energy: Choice | None = None
    mass: Choice | None = None
    nparticles: Choice | None = None
    extra: dict[str, Choice] = {}
    selection: Choice | None = None


#: the keys of a links section
LINK_KEYS = ("jet_index", "particle_index", "particle_lists", "begin", "end", "index", "particle_uids")


class _LinksSection(ConfigModel):
    """How constituents belong to jets in an event-level file (one of three ways):

    jet_index + particle_index : a link table per event (CMS PFNano ``FatJetPFCands_jetIdx`` /
        ``FatJetPFCands_pFCandsIdx``); particle_lists : per jet, the indices of its particles (ATLAS ElementLink
        indices); begin + end (+ index) : per jet, a range into the particles or, with ``index``, into a relation
        collection that holds the particle indices (EDM4hep ``particles_begin`` / ``particles_end`` and the
        ``_<Jet>_particles.index`` relation); particle_uids : per jet, the unique ids of its particles, matched to
        each particle collection's ``uid`` (Delphes ``Jet.Constituents`` TRefArray refs and ``fUniqueID``).
    """

    jet_index: Choice | None = None
    particle_index: Choice | None = None
    particle_lists: Choice | None = None
    begin: Choice | None = None
    end: Choice | None = None
    index: Choice | None = None
    particle_uids: Choice | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = {"table": self.jet_index is not None or self.particle_index is not None,
                 "lists": self.particle_lists is not None,
                 "ranges": self.begin is not None or self.end is not None or self.index is not None,
                 "uids": self.particle_uids is not None}
        given = [k for k, v in kinds.items() if v]
        if len(given) != 1:
            raise ValueError("links: give jet_index + particle_index, or particle_lists, or begin + end (+ index), "
                             "or particle_uids")
        if given == ["table"] and (self.jet_index is None or self.particle_index is None):
            raise ValueError("links: jet_index and particle_index go together")
        if given == ["ranges"] and (self.begin is None or self.end is None):
            raise ValueError("links: begin and end go together")
        return self

    @property
    def kind(self) -> str:
        if self.particle_uids is not None:
            return "uids"
        return "table" if self.jet_index is not None else "lists" if self.particle_lists is not None else "ranges"


class _LabelsSection(ConfigModel):
    one_hot: Annotated[list[Expression], Field(min_length=2)] | None = None
    branch: Choice | None = None
    expression: Choice | None = None
    values: Annotated[list[int], Field(min_length=2)] | None = None
    names: list[str] | None = None

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("one_hot", "branch", "expression") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of one_hot, branch, expression (got {', '.join(given)})")
        if self.names is not None and self.one_hot is not None and len(self.names) != len(self.one_hot):
            raise ValueError(f"names has {len(self.names)} names for {len(self.one_hot)} one_hot branches")
        if self.values is not None and self.names is not None and len(self.values) != len(self.names):
            raise ValueError(f"names has {len(self.names)} names for {len(self.values)} values")
        if self.values is not None and self.one_hot is not None:
            raise ValueError("values go with branch or expression, not one_hot")
        return self


class _MappingFile(ConfigModel):
    """The YAML schema of a branch mapping (module docstring)."""

    format: Literal["root", "hdf5", "parquet", "npz"] | None = None
    version: str | None = None
    description: str | None = None
    tree: Branch | None = None
    particles: _ParticlesSection | Annotated[list[_ParticlesSection], Field(min_length=1)]
    jets: _JetsSection = _JetsSection()
    links: _LinksSection | None = None
    labels: _LabelsSection = _LabelsSection()
    max_particles: PositiveInt | None = None

    @model_validator(mode="after")
    def _momenta(self):
        sections = self.particles if isinstance(self.particles, list) else [self.particles]
        for section in sections:
            momentum_form(section)
        if any("{i}" in str(v) for section in sections for _, v in section if v) and self.max_particles is None:
            raise ValueError("particle branches with {i} need max_particles")
        if self.links is not None and self.jets.collection is None:
            raise ValueError("links need jets.collection (the jet collection of an event-level file)")
        if self.jets.selection is not None and self.jets.collection is None:
            raise ValueError("jets.selection needs jets.collection (selecting jets of an event-level file)")
        return self


@dataclass
class ParticleCollection:
    """One particle collection: jetclass key -> expression, and its momentum form (MOMENTUM_FORMS)."""

    fields: dict[str, str]
    momentum: str


@dataclass
class BranchMapping:
    """Where each jetclass field comes from: expressions over the input's columns (:mod:`jetgnn.io.expressions`).

    ``particles`` is the first (usually only) particle collection's fields, ``collections`` all of them
    (concatenated per event in order); ``jet_collection`` marks an event-level input (jets per event, flattened
    to one jet per entry with ``event_index`` / ``jet_index`` kept), ``links`` how its constituents attach.
    """

    tree: str | None = None
    momentum: str = "px_py_pz_energy"
    particles: dict[str, str] = field(default_factory=dict)
    jets: dict[str, str] = field(default_factory=dict)
    jet_extra: dict[str, str] = field(default_factory=dict)
    label_one_hot: list[str] | None = None
    label_branch: str | None = None
    label_expression: str | None = None
    label_values: list[int] | None = None
    label_names: list[str] | None = None
    max_particles: int | None = None
    origin: str = "<jetclass>"
    format: str | None = None
    collections: list[ParticleCollection] = field(default_factory=list)
    jet_collection: str | None = None
    selection: str | None = None
    links: _LinksSection | None = None
    version: str | None = None

    def __post_init__(self):
        if not self.collections:
            self.collections = [ParticleCollection(dict(self.particles), self.momentum)]

    @property
    def flat_columns(self) -> bool:
        return any("{i}" in b for c in self.collections for b in c.fields.values())

    @property
    def event_level(self) -> bool:
        return self.jet_collection is not None

    @classmethod
    def from_file(cls, spec: _MappingFile, origin: str) -> BranchMapping:
        """The resolved mapping of a validated mapping file."""
        sections = spec.particles if isinstance(spec.particles, list) else [spec.particles]
        collections = [ParticleCollection({k: v for k, v in s if v is not None}, momentum_form(s)) for s in sections]
        labels = spec.labels
        names = labels.names
        if names is None and labels.one_hot is not None:
            names = [b[len("label_"):] if b.startswith("label_") else b for b in labels.one_hot]
        if names is None and labels.values is not None:
            names = [f"class_{v}" for v in labels.values]
        jets = {k: v for k, v in spec.jets if v is not None and k not in ("extra", "collection", "selection")}
        return cls(tree=spec.tree, momentum=collections[0].momentum, particles=dict(collections[0].fields),
                   jets=jets, jet_extra=dict(spec.jets.extra), label_one_hot=labels.one_hot,
                   label_branch=labels.branch, label_expression=labels.expression, label_values=labels.values,
                   label_names=names, max_particles=spec.max_particles, origin=origin, format=spec.format,
                   collections=collections, jet_collection=spec.jets.collection, selection=spec.jets.selection,
                   links=spec.links, version=spec.version)


def jetclass_mapping(available: set[str], origin: str = "<jetclass>") -> BranchMapping:
    """The no-config mapping of the jetclass schema, restricted to the branches a file has."""
    particles = {k: f"part_{k}" for k in ("px", "py", "pz", "energy")}
    particles.update({k: v for k, v in OPTIONAL_PARTICLE_FIELDS.items() if v in available})
    for k in ("deta", "dphi"):
        if f"part_{k}" in available:
            particles[k] = f"part_{k}"
    jets = {k: f"jet_{k}" for k in ("pt", "eta", "phi", "energy", "mass", "nparticles") if f"jet_{k}" in available}
    # every per-jet jet_* branch of the file (the schema's, the optional ones, and a user's own, e.g. jet_hl_*)
    extra = {name[len("jet_"):]: name for name in (*JET_BRANCHES, *OPTIONAL_JET_BRANCHES, *sorted(available))
             if name.startswith("jet_") and name[len("jet_"):] not in jets and name != "jet_label"
             and name in available}
    extra.update({name: name for name in (*JET_BRANCHES, *OPTIONAL_JET_BRANCHES) if name.startswith("aux_")
                  and name in available})
    mapping = BranchMapping(particles=particles, jets=jets, jet_extra=extra, origin=origin, format="root")
    task = one_hot_task(available)
    if task is not None:
        mapping.label_names = list(LABELS[task])
        mapping.label_one_hot = [f"label_{n}" for n in mapping.label_names]
    elif "jet_label" in available:
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


def load_mapping(source) -> BranchMapping | None:
    """A BranchMapping from a preset name (:data:`~jetgnn.io.presets.PRESETS`), a YAML file path, a YAML string
    or a dict; validates every key. None and ``"jetclass"`` give None (the jetclass schema, read without one)."""
    if source is None or isinstance(source, BranchMapping):  # None: the jetclass schema
        return source
    if isinstance(source, str) and source in PRESETS:
        if PRESETS[source] is None:
            return None
        data, origin = read_yaml(PRESETS[source], "mapping"), f"preset {source}"
    elif isinstance(source, str) and "\n" not in source and ":" not in source and not os.path.exists(source) \
            and not source.endswith((".yaml", ".yml")):
        raise InputError(f"unknown mapping {source!r}: give a preset ({', '.join(PRESETS)}) or a YAML file")
    else:
        data, origin = _read_source(source)
    spec = validate(_MappingFile, data, ErrorStyle(where=origin, quote=False, sections=True))
    return BranchMapping.from_file(spec, origin)
