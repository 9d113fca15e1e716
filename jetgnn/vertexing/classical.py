"""A classical secondary-vertex finder: the baseline of the GNN vertexer.

Tracks whose 3D impact-parameter significance sqrt((d0/sigma_d0)^2 + (dz/sigma_dz)^2) exceeds
``ip_significance`` are displaced. Two displaced tracks are linked when their distance of closest approach
(:func:`jetgnn.vertexing.geometry.pair_distance`) is below ``dca_significance`` standard deviations and
``max_dca`` mm; linked tracks form vertices (connected components) and all prompt tracks form the primary vertex.
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.vertexing.geometry import pair_distance
from jetgnn.vertexing.grouping import group_tracks

TRACK_FIELDS = ("part_d0val", "part_d0err", "part_dzval", "part_dzerr", "part_deta", "part_dphi", "part_charge")


def padded(values: ak.Array, n_max: int, fill=0) -> np.ndarray:
    """[B, n_max] numpy array of a jagged per-track field, cut or padded with ``fill``."""
    return ak.to_numpy(ak.fill_none(ak.pad_none(values, n_max, axis=1, clip=True), fill))


def dense_tracks(jets) -> dict[str, np.ndarray]:
    """[B, N] zero-padded numpy arrays of the TRACK_FIELDS plus ``eta`` (absolute) and ``mask``."""
    arrays = jets.arrays if isinstance(jets, Jets) else jets
    missing = [f for f in (*TRACK_FIELDS, "jet_eta") if f not in arrays.fields]
    if missing:
        raise InputError(f"vertex finding needs track fields {', '.join(missing)} (flavour files of jetgnn generate)")
    n_max = max(int(ak.max(ak.num(arrays.part_d0val, axis=1), initial=0)), 1)
    out = {name: padded(arrays[name], n_max).astype(np.float64) for name in TRACK_FIELDS}
    out["mask"] = np.arange(n_max)[None, :] < ak.to_numpy(ak.num(arrays.part_d0val, axis=1))[:, None]
    out["eta"] = out["part_deta"] + ak.to_numpy(arrays.jet_eta)[:, None]
    return out


def track_mask(tracks: dict[str, np.ndarray]) -> np.ndarray:
    """[B, N] True for the real charged tracks of :func:`dense_tracks` output."""
    return tracks["mask"] & (tracks["part_charge"] != 0)


def ip_significance(tracks: dict[str, np.ndarray]) -> np.ndarray:
    """[B, N] 3D impact-parameter significance sqrt((d0/sigma_d0)^2 + (dz/sigma_dz)^2) of dense tracks (0 on
    padding and neutrals)."""
    mask = track_mask(tracks)
    return np.hypot(np.where(mask, tracks["part_d0val"], 0.0) / np.where(mask, tracks["part_d0err"], 1.0),
                    np.where(mask, tracks["part_dzval"], 0.0) / np.where(mask, tracks["part_dzerr"], 1.0))


class ClassicalVertexer:
    """Impact-parameter-significance + distance-of-closest-approach vertex finder (no training).

    ip_significance : minimum 3D impact-parameter significance of a displaced track;
    dca_significance, max_dca : a pair of displaced tracks is linked when DCA/sigma < dca_significance and
    DCA < max_dca (mm).
    """

    def __init__(self, ip_significance: float = 3.0, dca_significance: float = 3.0, max_dca: float = 1.0):
        for name, value in (("ip_significance", ip_significance), ("dca_significance", dca_significance),
                            ("max_dca", max_dca)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise InputError(f"ClassicalVertexer: {name} must be a positive number, got {value!r}")
        self.ip_significance, self.dca_significance, self.max_dca = ip_significance, dca_significance, max_dca

    def predict(self, jets, chunk_size: int = 4096) -> ak.Array:
        """Vertex id per track (jagged like ``part_d0val``): 0 primary, 1, 2, ... displaced vertices."""
        arrays = jets.arrays if isinstance(jets, Jets) else jets
        parts = []
        for start in range(0, len(arrays), chunk_size):
            t = dense_tracks(arrays[start:start + chunk_size])
            ids = self.dense_ids(t)
            parts.append(ak.unflatten(ids[t["mask"]], t["mask"].sum(1)))
        return ak.concatenate(parts) if parts else ak.Array([[]])

    def dense_ids(self, tracks: dict[str, np.ndarray]) -> np.ndarray:
        """[B, N] vertex ids of :func:`dense_tracks` output: 0 primary, 1, 2, ... displaced, -1 for neutral
        particles (padding entries are meaningless)."""
        mask = track_mask(tracks)
        displaced = mask & (ip_significance(tracks) > self.ip_significance)
        dca, significance = pair_distance(*(torch.from_numpy(tracks[k]) for k in (
            "part_d0val", "part_dzval", "part_dphi", "eta", "part_d0err", "part_dzerr")))
        close = (significance.numpy() < self.dca_significance) & (dca.numpy() < self.max_dca)
        prompt = mask & ~displaced
        linked = (displaced[:, :, None] & displaced[:, None, :] & close) | (prompt[:, :, None] & prompt[:, None, :])
        ids = group_tracks(linked, mask, prompt.astype(np.float64))
        ids[tracks["mask"] & ~mask] = -1  # neutral particles have no vertex
        return ids
