"""``build_graphs``: a chunk of jets -> one torch_geometric ``Batch``, vectorised over the whole chunk."""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import numpy as np
import torch
from torch_geometric.data import Batch

from jetgnn.errors import InputError
from jetgnn.graphs.batching import make_batch
from jetgnn.graphs.edges import build_edges
from jetgnn.graphs.features import (
    EDGE_FEATURES,
    IMPACT_BRANCHES,
    check_node_features,
    node_feature_names,
    node_features,
)
from jetgnn.graphs.options import GraphOptions
from jetgnn.io.jets import Jets
from jetgnn.kinematics import constituent_sum, delta_r
from jetgnn.kinematics import mass as jet_mass
from jetgnn.observables import TAU_RATIOS, tau_ratio
from jetgnn.utils.malloc import tune_malloc

#: per-jet globals always present in ``u`` (GeV, unscaled); jet_mass is recomputed from all constituents
DEFAULT_GLOBALS = ("jet_pt", "jet_eta", "jet_mass", "jet_nparticles")
#: derived globals that may be asked for besides any per-jet field of the input: name -> observables.TAU_RATIOS key
DERIVED_GLOBALS = {"jet_tau21": "tau21", "jet_tau32": "tau32"}
STANDARD_RADII = (0.4, 0.6, 0.8, 1.0, 1.2, 1.5)
_OPTIONAL_NODE_FIELDS = ("part_charge", "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton",
                         "part_isElectron", "part_isMuon", "part_d0val", "part_d0err", "part_dzval", "part_dzerr")


def infer_jet_radius(jets) -> float:
    """The jet radius: the smallest standard R (0.4, 0.6, 0.8, 1.0, 1.2, 1.5) within 5% of the constituents'
    98% quantile of ΔR to the axis (jets clustered in rapidity have a few soft massive particles beyond R in eta).
    """
    arrays = jets.arrays if isinstance(jets, Jets) else jets
    dr = ak.to_numpy(ak.flatten(delta_r(arrays.part_deta, arrays.part_dphi)))
    if len(dr) == 0:
        return 0.4
    q = float(np.quantile(dr, 0.98))
    return next((r for r in STANDARD_RADII if q <= r * 1.05), STANDARD_RADII[-1])


def _hardest_first(flat: dict[str, np.ndarray], counts: np.ndarray, max_particles: int | None):
    """Order each jet's nodes by decreasing pT (stable; skipped when already so) and keep the first N.

    flat : per-node arrays of all jets (nodes of jet j contiguous); counts : nodes per jet.
    Returns the reordered, truncated arrays and the new counts.
    """
    pt = np.hypot(flat["px"], flat["py"])
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.zeros(len(pt), dtype=bool)
    first[starts[counts > 0]] = True
    if not np.all((pt[1:] <= pt[:-1]) | first[1:]):
        order = np.lexsort((-pt, owner))  # by jet, then decreasing pT; stable for ties
        flat = {name: values[order] for name, values in flat.items()}
    if max_particles is not None and counts.max(initial=0) > max_particles:
        keep = (np.arange(len(pt)) - starts[owner]) < max_particles
        flat = {name: values[keep] for name, values in flat.items()}
        counts = np.minimum(counts, max_particles)
    return flat, counts


def _globals(arrays, names, mass, counts_all) -> tuple[torch.Tensor, list[str]]:
    fields = set(arrays.fields)
    columns = []
    for name in names:
        if name == "jet_mass":
            columns.append(mass)
        elif name == "jet_nparticles":
            columns.append(counts_all)
        elif name in fields:
            values = arrays[name]
            if values.ndim != 1:
                raise InputError(f"global {name!r} is not a per-jet field")
            columns.append(ak.to_numpy(values))
        elif name in DERIVED_GLOBALS and all(f in fields for f in TAU_RATIOS[DERIVED_GLOBALS[name]]):
            columns.append(tau_ratio(arrays, DERIVED_GLOBALS[name]))
        else:
            per_jet = [f for f in arrays.fields if not f.startswith("part_")]
            raise InputError(f"unknown global {name!r} (per-jet fields: {', '.join(per_jet)}; derived: "
                             f"{', '.join(DERIVED_GLOBALS)})")
    u = np.stack(columns, axis=1).astype(np.float32) if columns else np.zeros((len(counts_all), 0), np.float32)
    return torch.from_numpy(u), list(names)


def jet_globals(jets, names: Sequence[str]) -> np.ndarray:
    """[n_jets, len(names)] float32 per-jet features of ``jets`` (Jets or their awkward array), as ``u`` holds
    them: any per-jet field, ``jet_mass`` recomputed from all constituents (GeV), ``jet_nparticles`` the
    multiplicity, or a derived one (DERIVED_GLOBALS). An unknown name is one InputError listing the per-jet
    fields."""
    arrays = jets.arrays if isinstance(jets, Jets) else jets
    names = list(names)
    mass = None
    if "jet_mass" in names:  # a constituent sum: only when asked for
        mass = jet_mass(constituent_sum(arrays.part_px, arrays.part_py, arrays.part_pz, arrays.part_energy))
    return _globals(arrays, names, mass, ak.to_numpy(ak.num(arrays.part_px, axis=1)))[0].numpy()


def _hardest_nodes(arrays, max_particles: int | None) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Flat per-node arrays of the N hardest constituents of every jet (px, py, pz, energy, deta, dphi, the
    optional ``part_*`` fields present and ``part_index``), their counts, and all constituents' counts."""
    fields = set(arrays.fields)
    counts_all = ak.to_numpy(ak.num(arrays.part_px, axis=1))
    names = ["part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi"]
    names += [f for f in (*_OPTIONAL_NODE_FIELDS, "part_vtx_idx", "part_origin") if f in fields]
    flat = {name: ak.to_numpy(ak.flatten(arrays[name])) for name in names}
    starts_all = np.cumsum(counts_all) - counts_all
    flat["part_index"] = np.arange(int(counts_all.sum()), dtype=np.int64) - np.repeat(starts_all, counts_all)
    flat.update({"px": flat.pop("part_px"), "py": flat.pop("part_py"), "pz": flat.pop("part_pz"),
                 "energy": flat.pop("part_energy"), "deta": flat.pop("part_deta"), "dphi": flat.pop("part_dphi")})
    flat, counts = _hardest_first(flat, counts_all.astype(np.int64), max_particles)
    return flat, counts, counts_all


def _node_tensors(arrays, flat: dict[str, np.ndarray], counts: np.ndarray, options: GraphOptions,
                  x_names: list[str]) -> dict:
    """x (learned inputs, ``x_names``), pos (Δη, Δφ), and the raw kinematics ``pt`` (GeV) and ``impact``
    (IMPACT_COLUMNS, mm) that models read unscaled; node targets ``vtx_idx`` / ``origin`` where present."""
    jet_pt = np.repeat(ak.to_numpy(arrays.jet_pt), counts)
    jet_energy = np.repeat(ak.to_numpy(arrays.jet_energy), counts)
    deta = np.ascontiguousarray(flat["deta"], dtype=np.float32)
    dphi = np.ascontiguousarray(flat["dphi"], dtype=np.float32)
    tensors = {"x": node_features(flat, jet_pt, jet_energy, x_names, options.scale),
               "pos": torch.from_numpy(np.stack([deta, dphi], axis=1)),
               "pt": torch.from_numpy(np.hypot(flat["px"], flat["py"]).astype(np.float32)),
               "part_index": torch.from_numpy(flat["part_index"])}
    if all(branch in flat for branch in IMPACT_BRANCHES.values()):
        columns = [flat[branch] for branch in IMPACT_BRANCHES.values()]
        tensors["impact"] = torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))
    for name in ("vtx_idx", "origin"):
        if f"part_{name}" in flat:
            tensors[name] = torch.from_numpy(flat[f"part_{name}"].astype(np.int64))
    return tensors


def _edge_tensors(flat: dict[str, np.ndarray], counts: np.ndarray, options: GraphOptions, radius: float):
    """(edge_index, edge_attr or None, edge_ptr) of every jet's graph."""
    kinematics = None
    if options.with_edge_features:
        kinematics = {name: np.ascontiguousarray(flat[name], dtype=np.float32) for name in ("px", "py", "pz", "energy")}
        kinematics["pt"] = np.hypot(kinematics["px"], kinematics["py"])
    edge_index, edge_ptr, edge_attr = build_edges(flat["deta"], flat["dphi"], counts, options.edges, float(radius),
                                                  options.k, options.self_loops, kinematics)
    return edge_index, edge_attr, edge_ptr


def build_graphs(
    jets,
    edges: str = "delta_r",
    radius: float | None = None,
    k: int = 16,
    max_particles: int | None = 128,
    self_loops: bool = False,
    globals: list[str] | tuple[str, ...] | None = None,  # noqa: A002 - the field's own word
    scale: bool = True,
    with_edge_features: bool = True,
    node_features: Sequence[str] | None = None,
) -> Batch:
    """Turn jets into one torch_geometric ``Batch`` of particle graphs (one graph per jet).

    jets : Jets (or an awkward array with jetclass fields), e.g. ``jets[:1024]`` or an ``iter_jets`` chunk.
    edges : "delta_r" (all pairs closer than ``radius`` in (eta, phi)), "knn" (each particle's ``k``
        nearest particles) or "none" (nodes only, for deep sets, transformers and MLPs).
    radius : ΔR radius; default the jet radius (:func:`infer_jet_radius`).
    max_particles : keep the N hardest constituents (None: all). self_loops : add i -> i edges.
    globals : per-jet globals beyond DEFAULT_GLOBALS (any per-jet field, e.g. "jet_sdmass", or "jet_tau21",
        "jet_tau32"). scale : apply the standard node-feature scaling (NODE_SCALING).
    (These are the fields of :class:`~jetgnn.graphs.options.GraphOptions`.)
    node_features : exactly these node features (``x_names``), e.g. a trained model's; an InputError names a
        feature whose particle field the jets lack. Default: every feature the jets' fields allow.

    Returns a Batch with
      x [n_nodes, F] float32 (names ``x_names``; the learned inputs), pos [n_nodes, 2] (deta, dphi; radians),
      pt [n_nodes] float32 (GeV) and, when the input has impact parameters, impact [n_nodes, 4] float32
      (d0, dz, sigma(d0), sigma(dz) in mm; IMPACT_COLUMNS): the raw kinematics that models read unscaled,
      edge_index [2, n_edges] long, edge_attr [n_edges, 5] float32 (``edge_attr_names``),
      u [n_jets, G] float32 (``u_names``; GeV, unscaled), y [n_jets] long (if labelled), batch, ptr,
      part_index [n_nodes] long (each node's position in its jet's input constituent list, to map per-node
      outputs back to the input), and node targets ``vtx_idx`` / ``origin`` [n_nodes] long when the input has
      ``part_vtx_idx`` / ``part_origin``. Jets with 0 or 1 constituent give graphs with 0 or 1 node and no edges.
    """
    tune_malloc()  # once per process: glibc keeps freed tensors for reuse (jetgnn.utils.malloc; opt-out there)
    options = GraphOptions.from_kwargs(dict(edges=edges, radius=radius, k=k, max_particles=max_particles,
                                            self_loops=self_loops, globals=globals, scale=scale,
                                            with_edge_features=with_edge_features))
    if isinstance(jets, Jets):
        arrays = jets.arrays
    elif isinstance(jets, ak.Array) and jets.fields:
        arrays = jets
    else:
        raise InputError(f"build_graphs needs Jets (jetgnn.read_jets / iter_jets), got {type(jets).__name__}")
    fields = set(arrays.fields)
    for name in ("part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi", "jet_pt", "jet_energy"):
        if name not in fields:
            raise InputError(f"jets have no field {name!r}; read them with jetgnn.read_jets / iter_jets")
    radius = infer_jet_radius(arrays) if options.radius is None else options.radius

    # jet mass from all constituents (vector), before truncation; float64 so that the order of the
    # constituents does not change the rounding of E^2 - p^2
    mass = jet_mass(constituent_sum(arrays.part_px, arrays.part_py, arrays.part_pz, arrays.part_energy))
    flat, counts, counts_all = _hardest_nodes(arrays, options.max_particles)
    x_names = check_node_features(node_features, fields) if node_features is not None else \
        node_feature_names(fields)
    data = _node_tensors(arrays, flat, counts, options, x_names)
    data["edge_index"], edge_attr, edge_ptr = _edge_tensors(flat, counts, options, radius)
    if edge_attr is not None:
        data["edge_attr"] = edge_attr
    data["u"], u_names = _globals(arrays, list(dict.fromkeys([*DEFAULT_GLOBALS, *options.globals])), mass,
                                  counts_all)
    if "jet_label" in fields:
        data["y"] = torch.from_numpy(ak.to_numpy(arrays.jet_label).astype(np.int64))
    meta = {
        "x_names": x_names,
        "edge_attr_names": list(EDGE_FEATURES) if options.with_edge_features else [],
        "u_names": u_names,
        "graph_config": {"edges": options.edges, "radius": float(radius), "k": options.k,
                         "max_particles": options.max_particles, "self_loops": options.self_loops,
                         "scale": options.scale},
    }
    return make_batch(data, counts, torch.diff(edge_ptr), meta)
