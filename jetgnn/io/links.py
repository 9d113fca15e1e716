"""Event-level inputs: jets per event flattened to one jet per entry, constituents found through index links.

Everything is columnar: an event's jets and particles get global positions (event offset + local index), the
links become one flat array of particle positions per jet, and ``ak.unflatten`` builds the jagged constituent
lists. Three link layouts (``links`` in a mapping, :class:`~jetgnn.io.mapping._LinksSection`):

- ``table``: a per-event table of (jet index, particle index) pairs (CMS PFNano ``FatJetPFCands``);
- ``lists``: per jet, a list of particle indices (ATLAS ElementLink indices);
- ``ranges``: per jet, [begin, end) into the particles or into a relation collection of particle indices
  (EDM4hep/podio ``particles_begin`` / ``particles_end`` and ``_<Jet>_particles.index``);
- ``uids``: per jet, the unique ids of its particles, matched to the particles' own ids (Delphes TRefArray).

Constituents keep the order in which the links list them.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from jetgnn.errors import InputError


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else counts.astype(np.int64)


def _flat_int(values, what: str, where: str) -> np.ndarray:
    flat = ak.to_numpy(ak.flatten(values, axis=None))
    if flat.dtype.kind not in "iub":
        if flat.dtype.kind == "f" and np.all(flat == np.round(flat)):
            return flat.astype(np.int64)
        raise InputError(f"{where}: {what} must hold integer indices, got {flat.dtype}")
    return flat.astype(np.int64)


def _check_range(local: np.ndarray, limit: np.ndarray, what: str, where: str, entry_offset: int,
                 event: np.ndarray) -> None:
    bad = (local < 0) | (local >= limit)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: {what} {int(local[k])} in entry {entry_offset + int(event[k])} is out of range "
                         f"(that event has {int(limit[k])})")


def particle_positions(links, columns: dict, n_jets: np.ndarray, n_particles: np.ndarray, evaluate,
                       where: str, entry_offset: int, uids=None) -> tuple[np.ndarray, np.ndarray]:
    """(global particle positions, constituents per global jet) of a chunk's events.

    links : the mapping's links section; columns / evaluate : the chunk's columns and the expression evaluator;
    n_jets, n_particles : jets and particles per event (before any selection); uids : the particles' unique ids
    per event (jagged), for ``particle_uids`` links.
    """
    jet_offsets, particle_offsets = _offsets(n_jets), _offsets(n_particles)
    n_events = len(n_jets)
    total_jets = int(n_jets.sum())
    if links.kind == "table":
        jet_idx = evaluate(links.jet_index, "links.jet_index")
        part_idx = evaluate(links.particle_index, "links.particle_index")
        per_event = ak.to_numpy(ak.num(jet_idx, axis=1))
        if not np.array_equal(per_event, ak.to_numpy(ak.num(part_idx, axis=1))):
            raise InputError(f"{where}: links.jet_index and links.particle_index have different lengths")
        event = np.repeat(np.arange(n_events), per_event)
        jets, parts = _flat_int(jet_idx, "links.jet_index", where), _flat_int(part_idx, "links.particle_index", where)
        _check_range(jets, n_jets[event], "jet index", where, entry_offset, event)
        _check_range(parts, n_particles[event], "particle index", where, entry_offset, event)
        global_jet = jet_offsets[event] + jets
        order = np.argsort(global_jet, kind="stable")
        return (particle_offsets[event] + parts)[order], np.bincount(global_jet, minlength=total_jets)
    if links.kind == "lists":
        lists = evaluate(links.particle_lists, "links.particle_lists")
        per_jet = ak.to_numpy(ak.flatten(ak.num(lists, axis=2), axis=None))
        if len(per_jet) != total_jets:
            raise InputError(f"{where}: links.particle_lists has {len(per_jet)} jets, the jet collection {total_jets}")
        event = np.repeat(np.repeat(np.arange(n_events), n_jets), per_jet)
        parts = _flat_int(lists, "links.particle_lists", where)
        _check_range(parts, n_particles[event], "particle index", where, entry_offset, event)
        return particle_offsets[event] + parts, per_jet
    if links.kind == "uids":
        return _uid_positions(links, uids, n_jets, n_particles, evaluate, where, entry_offset)
    begin = _flat_int(evaluate(links.begin, "links.begin"), "links.begin", where)
    end = _flat_int(evaluate(links.end, "links.end"), "links.end", where)
    if len(begin) != total_jets or len(end) != total_jets:
        raise InputError(f"{where}: links.begin/end have {len(begin)}/{len(end)} values for {total_jets} jets")
    lengths = end - begin
    if (lengths < 0).any():
        raise InputError(f"{where}: links.end is below links.begin for a jet")
    jet_event = np.repeat(np.arange(n_events), n_jets)
    event = np.repeat(jet_event, lengths)
    local = np.repeat(begin - _offsets(lengths), lengths) + np.arange(int(lengths.sum()))
    if links.index is not None:
        relation = evaluate(links.index, "links.index")
        n_relation = ak.to_numpy(ak.num(relation, axis=1))
        _check_range(local, n_relation[event], "relation position", where, entry_offset, event)
        local = _flat_int(relation, "links.index", where)[_offsets(n_relation)[event] + local]
    _check_range(local, n_particles[event], "particle index", where, entry_offset, event)
    return particle_offsets[event] + local, lengths


def _uid_positions(links, uids, n_jets, n_particles, evaluate, where: str, entry_offset: int):
    """Positions of the particles whose unique id a jet lists (ids are unique within an event, as ROOT's TRefs)."""
    if uids is None:
        raise InputError(f"{where}: links.particle_uids needs a uid for every particle collection (particles.uid)")
    refs = evaluate(links.particle_uids, "links.particle_uids")
    per_jet = ak.to_numpy(ak.flatten(ak.num(refs, axis=2), axis=None))
    if len(per_jet) != int(n_jets.sum()):
        raise InputError(f"{where}: links.particle_uids has {len(per_jet)} jets, the jet collection "
                         f"{int(n_jets.sum())}")
    ref_event = np.repeat(np.repeat(np.arange(len(n_jets)), n_jets), per_jet)
    wanted = ref_event.astype(np.uint64) << np.uint64(32) | _flat_int(refs, "links.particle_uids", where).astype(
        np.uint64)
    have_event = np.repeat(np.arange(len(n_particles)), n_particles)
    have = have_event.astype(np.uint64) << np.uint64(32) | _flat_int(uids, "particles.uid", where).astype(np.uint64)
    order = np.argsort(have, kind="stable")
    found = np.clip(np.searchsorted(have[order], wanted), 0, max(len(have) - 1, 0))
    matched = have[order][found] == wanted if len(have) else np.zeros(len(wanted), dtype=bool)
    if not matched.all():
        missing = int(np.flatnonzero(~matched)[0])
        raise InputError(f"{where}: a jet constituent in entry {entry_offset + int(ref_event[missing])} is in none "
                         f"of the mapped particle collections (map every collection the jets are built from)")
    return order[found], per_jet


def per_jet(values, positions: np.ndarray, counts: np.ndarray) -> ak.Array:
    """Per-event particle values (jagged [events][particles]) gathered into per-jet lists."""
    flat = ak.to_numpy(ak.flatten(values, axis=1))
    return ak.unflatten(flat[positions], counts)
