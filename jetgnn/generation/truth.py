"""Decay-chain truth for tracks: origin class and displaced-vertex grouping.

Works on a Pythia event record (``pythia8mc.Event``) but only touches the few displaced particles of
a jet: particles produced at the primary vertex (no production vertex set by Pythia) are primary by
construction, so the ancestry walk runs only for decay products of long-lived particles.
"""

from __future__ import annotations

import math

from jetgnn.generation.pdg import heavy_flavour
from jetgnn.io.schema import Origin
from jetgnn.kinematics import delta_phi

__all__ = ["heavy_flavour", "weak_heavy_ancestors", "origin_from_ancestors", "group_vertices", "delta_r"]

#: Truth vertices closer than this (mm) are merged; displaced vertices closer than this to the
#: primary vertex count as primary (no tracker resolves them; the same convention as ATLAS GN1 truth).
VERTEX_MERGE_DISTANCE_MM = 0.1


def weak_heavy_ancestors(event, index: int) -> tuple[int, int]:
    """Walk the mother chain of particle ``index``; return (first b-hadron, first c-hadron) indices or -1.

    Only weakly decaying hadrons (proper lifetime tau0 > 0) count: for a pion from D* -> D0 pi
    inside a B decay, the D* (tau0 = 0) is skipped and the pion is "from b", which is also where its
    production vertex lies. The c-hadron is only recorded if met *before* (below) the b-hadron.
    """
    i_b, i_c = -1, -1
    i = event[index].mother1()
    while i > 0:
        particle = event[i]
        if not particle.isHadron():
            if particle.idAbs() != 15:  # a tau lepton decays weakly too; walk through it
                break
        else:
            flavour = heavy_flavour(particle.id())
            if flavour and particle.tau0() > 0.0:
                if flavour == 5:
                    i_b = i
                    break
                if i_c < 0:
                    i_c = i
        i = particle.mother1()
    return i_b, i_c


def origin_from_ancestors(i_b: int, i_c: int, displaced: bool = True) -> int:
    """Origin class (SPEC §2 ``part_origin``) of a charged decay product from
    :func:`weak_heavy_ancestors`'s (b-hadron, c-hadron) indices.

    ``displaced``: whether its production vertex lies VERTEX_MERGE_DISTANCE_MM or more from the primary
    vertex. Decay products of strong and electromagnetic decays (rho, K*, eta, ...) carry a production
    vertex too, at the primary vertex: without a heavy-flavour ancestor they are primary, and only
    displaced ones (tau, strange or other weak decays) are "other secondary".
    """
    if i_b >= 0:
        return int(Origin.FROM_B_TO_C if i_c >= 0 else Origin.FROM_B)
    if i_c >= 0:
        return int(Origin.FROM_PROMPT_C)
    return int(Origin.OTHER_SECONDARY if displaced else Origin.PRIMARY)


def group_vertices(positions: list[tuple[float, float, float] | None]) -> list[int]:
    """Assign truth vertex indices to the charged tracks of one jet.

    ``positions``: production vertex (x, y, z) in mm per track, in pT order, or None for tracks from the
    primary vertex. Returns 0 for primary tracks and 1, 2, ... for displaced vertices, numbered in order
    of their leading track. Vertices within VERTEX_MERGE_DISTANCE_MM of each other are merged (greedy,
    against each vertex's first track) and those that close to the primary vertex are primary.
    A jet holds a handful of displaced tracks at most, so this small loop costs nothing next to Pythia.
    """
    d_merge2 = VERTEX_MERGE_DISTANCE_MM**2
    seeds: list[tuple[float, float, float]] = []
    out = []
    for pos in positions:
        if pos is None or pos[0] ** 2 + pos[1] ** 2 + pos[2] ** 2 < d_merge2:
            out.append(0)
            continue
        for k, seed in enumerate(seeds):
            if (pos[0] - seed[0]) ** 2 + (pos[1] - seed[1]) ** 2 + (pos[2] - seed[2]) ** 2 < d_merge2:
                out.append(k + 1)
                break
        else:
            seeds.append(pos)
            out.append(len(seeds))
    return out


def delta_r(eta1: float, phi1: float, eta2: float, phi2: float) -> float:
    """Angular distance sqrt(deta^2 + dphi^2), dphi wrapped to [-pi, pi]."""
    return math.hypot(eta1 - eta2, delta_phi(phi1, phi2))
