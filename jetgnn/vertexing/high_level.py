"""Classic high-level flavour-tagging inputs per jet: the inputs of a DL1-style baseline tagger.

DL1 (ATLAS) is an MLP on the outputs of impact-parameter and secondary-vertex algorithms. Here they are computed
from the tracks and the :class:`~jetgnn.vertexing.classical.ClassicalVertexer`, vectorised over chunks of jets:

==============================  ====================================================================================
jet_hl_ntracks                  tracks in the jet
jet_hl_ip_sig_1, _2, _3         the three largest lifetime-signed 3D impact-parameter significances (sign of
                                d0 sin(dphi): positive when the track's closest approach lies ahead of the jet
                                axis; padded with -10 for jets with fewer tracks)
jet_hl_ip_sum_log               sum over tracks of sign * ln(1 + S^2), an IP3D-like likelihood-ratio surrogate
jet_hl_n_displaced              tracks with S > 3
jet_hl_n_sv                     displaced vertices (>= 2 tracks) of the classical vertexer
jet_hl_sv_ntracks               tracks in those vertices
jet_hl_sv_mass                  invariant mass (GeV) of the tracks of all displaced vertices (SV1-like)
jet_hl_sv_energy_fraction       their energy / the energy of all tracks
jet_hl_sv_significance          the mean |S| of those tracks: a stand-in for the decay-length significance
                                (no vertex fit here)
==============================  ====================================================================================
"""

from __future__ import annotations

import numpy as np

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.vertexing.classical import ClassicalVertexer, dense_tracks, ip_significance, padded, track_mask

HIGH_LEVEL_FEATURES = ("jet_hl_ntracks", "jet_hl_ip_sig_1", "jet_hl_ip_sig_2", "jet_hl_ip_sig_3",
                       "jet_hl_ip_sum_log", "jet_hl_n_displaced", "jet_hl_n_sv", "jet_hl_sv_ntracks",
                       "jet_hl_sv_mass", "jet_hl_sv_energy_fraction", "jet_hl_sv_significance")
#: significance given to missing tracks in the leading-significance slots
_NO_TRACK = -10.0
_MOMENTA = ("part_px", "part_py", "part_pz", "part_energy")


def high_level_features(jets, vertexer: ClassicalVertexer | None = None, chunk_size: int = 4096) -> dict:
    """The :data:`HIGH_LEVEL_FEATURES` of every jet (float32 [n_jets] each) from its tracks (``part_d0val`` ...,
    4-momenta) and the classical vertexer (default settings unless ``vertexer`` is given)."""
    arrays = jets.arrays if isinstance(jets, Jets) else jets
    missing = [name for name in _MOMENTA if name not in arrays.fields]
    if missing:
        raise InputError(f"high-level flavour features need {', '.join(missing)}")
    vertexer = vertexer or ClassicalVertexer()
    out = {name: [] for name in HIGH_LEVEL_FEATURES}
    for start in range(0, len(arrays), chunk_size):
        chunk = arrays[start:start + chunk_size]
        t = dense_tracks(chunk)
        n_max = t["mask"].shape[1]
        mask = track_mask(t)
        s3d = ip_significance(t)
        signed = np.where(mask, np.where(t["part_d0val"] * np.sin(t["part_dphi"]) >= 0, 1.0, -1.0) * s3d, _NO_TRACK)
        leading = -np.sort(-signed, axis=1)
        leading = np.pad(leading, ((0, 0), (0, max(0, 3 - n_max))), constant_values=_NO_TRACK)[:, :3]
        vertex = np.where(t["mask"], vertexer.dense_ids(t), -1)
        multiplicity = (vertex[:, :, None] == vertex[:, None, :]).sum(axis=2)  # tracks sharing each track's vertex
        in_sv = mask & (vertex > 0) & (multiplicity >= 2)  # displaced vertices of two tracks or more
        p4 = np.stack([padded(chunk[name], n_max).astype(np.float64) for name in _MOMENTA])  # [4, B, N]
        sv = np.where(in_sv[None], p4, 0.0).sum(axis=2)
        sv_mass = np.sqrt(np.maximum(sv[3] ** 2 - sv[0] ** 2 - sv[1] ** 2 - sv[2] ** 2, 0.0))
        track_energy = np.where(mask, p4[3], 0.0).sum(axis=1)
        n_sv_tracks = in_sv.sum(axis=1)
        columns = {
            "jet_hl_ntracks": mask.sum(axis=1),
            "jet_hl_ip_sig_1": leading[:, 0], "jet_hl_ip_sig_2": leading[:, 1], "jet_hl_ip_sig_3": leading[:, 2],
            "jet_hl_ip_sum_log": np.where(mask, np.sign(signed) * np.log1p(s3d ** 2), 0.0).sum(axis=1),
            "jet_hl_n_displaced": (mask & (s3d > 3.0)).sum(axis=1),
            "jet_hl_n_sv": _distinct_positive(np.where(in_sv, vertex, 0)),
            "jet_hl_sv_ntracks": n_sv_tracks,
            "jet_hl_sv_mass": sv_mass,
            "jet_hl_sv_energy_fraction": np.divide(sv[3], track_energy, out=np.zeros_like(sv_mass),
                                                   where=track_energy > 0),
            "jet_hl_sv_significance": np.divide(np.where(in_sv, s3d, 0.0).sum(axis=1), n_sv_tracks,
                                                out=np.zeros_like(sv_mass), where=n_sv_tracks > 0),
        }
        for name in HIGH_LEVEL_FEATURES:
            out[name].append(np.asarray(columns[name], dtype=np.float32))
    return {name: np.concatenate(parts) if parts else np.zeros(0, np.float32) for name, parts in out.items()}


def _distinct_positive(ids: np.ndarray) -> np.ndarray:
    """Per row of [B, N] ids: the number of distinct values > 0."""
    ordered = np.sort(ids, axis=1)
    starts = np.concatenate([ordered[:, :1] > 0, (np.diff(ordered, axis=1) != 0) & (ordered[:, 1:] > 0)], axis=1)
    return starts.sum(axis=1)
