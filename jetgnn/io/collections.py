"""Jets from an in-memory awkward jet collection, e.g. coffea NanoEvents' ``events.FatJet`` on a PFNano file.

The collection is jagged [events][jets] with the NanoAOD jet fields (pt, eta, phi, mass, ...) and the
constituents under ``constituents.pf`` (coffea's PFNanoAOD schema) or ``constituents``, each a record with the
PFCands fields (pt, eta, phi, mass, charge, pdgId, d0, dz, ... as NanoAOD stores them). Its columns are named as in
the file (``FatJet_pt``, ``PFCands_pt``) and read with the matching preset, so scores equal those of the file read
with ``--mapping cms-pfnano``.
"""

from __future__ import annotations

import dataclasses

import awkward as ak
import numpy as np

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.io.mapping import BranchMapping, load_mapping
from jetgnn.io.reader import standardise

#: the preset of a NanoAOD jet collection name
COLLECTION_PRESETS = {"FatJet": "cms-pfnano", "Jet": "cms-pfnano-ak4"}


def is_jet_collection(value) -> bool:
    """True for an awkward [events][jets] record array with constituents (what :func:`jets_from_collection` reads)."""
    if not isinstance(value, ak.Array) or value.ndim != 2:
        return False
    if "constituents" in (value.fields or []):
        return True
    try:  # coffea provides constituents as a behaviour of its FatJet / Jet records
        return hasattr(value, "constituents")
    except Exception:
        return False


def _collection_name(collection: ak.Array) -> str:
    name = collection.layout.parameters.get("collection_name") if hasattr(collection.layout, "parameters") else None
    if name is None:
        content = collection.layout
        while hasattr(content, "content") and not content.parameters.get("collection_name"):
            content = content.content
        name = content.parameters.get("collection_name")
    return name or "FatJet"


def jets_from_collection(collection: ak.Array, mapping=None) -> tuple[Jets, np.ndarray]:
    """(Jets, jets per event) of an awkward jet collection; ``mapping`` defaults to the preset of its name."""
    if not is_jet_collection(collection):
        raise InputError("expected a jet collection: an awkward [events][jets] array with constituents (e.g. "
                         "events.FatJet of coffea's PFNanoAOD schema)")
    name = _collection_name(collection)
    preset = load_mapping(mapping if mapping is not None else COLLECTION_PRESETS.get(name, "cms-pfnano-ak4"))
    if preset is None or not preset.event_level:
        raise InputError("a jet collection is read with an event-level mapping such as cms-pfnano")
    counts = ak.to_numpy(ak.num(collection, axis=1))
    constituents = collection.constituents
    try:  # coffea: constituents are link records whose .pf are the PF candidates
        constituents = constituents.pf
    except (AttributeError, RuntimeError):
        pass
    constituents = ak.flatten(constituents, axis=1)
    jets = ak.flatten(collection, axis=1)
    jet_prefix = preset.jet_collection
    particle_prefix = _particle_prefix(preset)
    raw = {f"{jet_prefix}_{f}": jets[f] for f in jets.fields if f != "constituents" and not f.startswith("_")}
    raw.update({f"{particle_prefix}_{f}": constituents[f] for f in constituents.fields if not f.startswith("_")})
    per_jet = dataclasses.replace(preset, jet_collection=None, links=None, selection=None)
    return standardise(raw, per_jet, f"<{name} collection>", 0, "raise"), counts


def _particle_prefix(mapping: BranchMapping) -> str:
    expression = next(iter(mapping.collections[0].fields.values()))
    return expression.split("_")[0] if "_" in expression else "PFCands"
