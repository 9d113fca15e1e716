"""A parametrised fast detector (``jetgnn generate ... --detector simple``), applied before jet clustering.

A simplified Delphes: the numbers of :class:`DetectorCard` follow the Delphes 3 ATLAS card
(``cards/delphes_card_ATLAS.tcl``), the detector of the Top Quark Tagging reference dataset and of the "landscape"
comparison, so that our detector-level top jets are comparable with those. Per event, on numpy arrays of the stable
visible particles:

* **Tracker** (|eta| < 2.5): a charged particle (hadron, electron or muon) with pT above ``track_pt_min`` is
  reconstructed with efficiency ``track_efficiency`` (pT below / above 1 GeV, two |eta| bins); its pT is smeared
  with sigma(pT)/pT = sqrt(a^2 + (b pT)^2) (a, b per |eta| bin: the card's charged-hadron resolution), direction and
  mass are kept. Truth production vertices stay attached to tracks, so impact parameters and their smearing
  (:mod:`jetgnn.generation.impact`) work as at hadron level.
* **Calorimeters** (|eta| < ``calo_eta_max``), straight lines from the origin (no magnetic bending): every visible
  particle but muons deposits its energy, photons and electrons in the ECAL, hadrons in the HCAL, K0S and Lambda
  ``strange_ecal_fraction`` in the ECAL and the rest in the HCAL (the card's energy fractions). Towers are cells
  of a fixed (eta, phi) grid (ECAL 0.0174 x 1 degree, HCAL 0.1 x 10 degrees); each tower's summed energy is smeared
  log-normally (mean E, width sigma(E) = sqrt((c E)^2 + s^2 E + n^2), terms per |eta| bin).
* **Energy flow** (Delphes' EFlow of SimpleCalorimeter): tracks are charged candidates; a tower whose measured
  energy exceeds the energy of the tracks pointing at it by more than ``*_e_min`` and ``*_significance`` sigma of
  the tower becomes a neutral candidate with the excess energy, massless, at a position drawn uniformly within the
  cell (Delphes' SmearTowerCenter): a photon (PDG 22) from the ECAL, a neutral hadron (PDG 130) from the HCAL.
  Charged particles that the tracker missed therefore come back as neutral calorimeter energy.

Not modelled: pile-up, magnetic-field bending, shower spread over cells, the card's eta-dependent cell sizes
(the barrel ones are used everywhere), electron / muon / photon identification and isolation, fake tracks.
Output units: GeV, radians.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: |PDG id| of electrons, photons (ECAL), muons (no calorimeter deposit) and of K0S, Lambda (shared ECAL / HCAL)
_ELECTRON, _MUON, _PHOTON = 11, 13, 22
_STRANGE_NEUTRAL = (310, 3122)
#: PDG ids of the neutral energy-flow candidates
ECAL_NEUTRAL_PID, HCAL_NEUTRAL_PID = 22, 130


@dataclass(frozen=True)
class DetectorCard:
    """Every number of the fast detector (defaults: the Delphes ATLAS card's barrel values). GeV, radians.

    tracker_eta_max : tracker acceptance |eta|.
    track_pt_min : reconstructed-track threshold (GeV).
    track_efficiency : ((|eta| upper edge, efficiency for pT <= 1 GeV, efficiency above), ...).
    track_resolution : ((|eta| upper edge, a, b), ...): sigma(pT)/pT = sqrt(a^2 + (b pT/GeV)^2).
    calo_eta_max : calorimeter acceptance |eta|.
    ecal_cell, hcal_cell : (eta, phi) cell size (the phi count is rounded to fill 2 pi).
    ecal_resolution, hcal_resolution : ((|eta| upper edge, constant c, stochastic s in sqrt(GeV), noise n in GeV),
    ...).
    ecal_e_min, hcal_e_min : minimum neutral excess energy (GeV) of a tower for a neutral candidate.
    ecal_significance, hcal_significance : minimum excess / sigma(tower energy).
    strange_ecal_fraction : ECAL share of the energy of K0S and Lambda.
    """

    name: str = "simple"
    tracker_eta_max: float = 2.5
    track_pt_min: float = 0.1
    track_efficiency: tuple = ((1.5, 0.70, 0.95), (2.5, 0.60, 0.85))
    track_resolution: tuple = ((0.5, 0.06, 1.3e-3), (1.5, 0.10, 1.7e-3), (2.5, 0.25, 3.1e-3))
    calo_eta_max: float = 3.2
    ecal_cell: tuple = (0.0174, 2 * math.pi / 360)
    hcal_cell: tuple = (0.1, 2 * math.pi / 36)
    ecal_resolution: tuple = ((3.2, 0.0017, 0.101, 0.0),)
    hcal_resolution: tuple = ((1.7, 0.0302, 0.5205, 1.59), (3.2, 0.0500, 0.706, 0.0))
    ecal_e_min: float = 0.5
    hcal_e_min: float = 1.0
    ecal_significance: float = 2.0
    hcal_significance: float = 2.0
    strange_ecal_fraction: float = 0.3

    def describe(self) -> dict:
        """The card as plain data (written into each output file's metadata)."""
        return asdict(self)


#: ``--detector`` choices: ``none`` is hadron level (the default)
DETECTORS: dict[str, DetectorCard | None] = {"none": None, "simple": DetectorCard()}


@dataclass
class Candidates:
    """Energy-flow candidates of one event, flat arrays of one length.

    px, py, pz, e : GeV. pid : PDG id (the truth id for tracks, 22 / 130 for neutral towers). charge : integer.
    truth : index of the generator particle behind a track in the event record, -1 for neutral towers.
    """

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    pid: np.ndarray
    charge: np.ndarray
    truth: np.ndarray

    def __len__(self) -> int:
        return len(self.px)


def _binned(values: np.ndarray, table: tuple, column: int) -> np.ndarray:
    """``table[k][column]`` for the first row whose upper edge (column 0) is above each |eta| value."""
    edges = np.array([row[0] for row in table])
    index = np.minimum(np.searchsorted(edges, values, side="right"), len(table) - 1)
    return np.array([row[column] for row in table])[index]


def _resolution(energy: np.ndarray, abs_eta: np.ndarray, table: tuple) -> np.ndarray:
    """sigma(E) in GeV of calorimeter energies ``energy`` at ``abs_eta`` (``table`` rows: edge, c, s, n)."""
    c, s, n = (_binned(abs_eta, table, k) for k in (1, 2, 3))
    return np.sqrt((c * energy) ** 2 + s * s * np.maximum(energy, 0.0) + n * n)


def _lognormal(mean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Log-normal draws with the given means and widths (energies stay positive, as in Delphes)."""
    mean = np.maximum(mean, 1e-12)
    s2 = np.log1p((sigma / mean) ** 2)
    return np.exp(np.log(mean) - 0.5 * s2 + np.sqrt(s2) * rng.standard_normal(len(mean)))


class _Grid:
    """A calorimeter's (eta, phi) cells: cell index of a direction and the centre of a cell."""

    def __init__(self, cell: tuple, eta_max: float):
        self.deta = cell[0]
        self.n_eta = int(math.ceil(2 * eta_max / cell[0]))
        self.n_phi = int(round(2 * math.pi / cell[1]))
        self.dphi = 2 * math.pi / self.n_phi
        self.eta_min = -self.n_eta * self.deta / 2

    def cell(self, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        i_eta = np.clip(((eta - self.eta_min) / self.deta).astype(np.int64), 0, self.n_eta - 1)
        i_phi = np.mod(((phi + math.pi) / self.dphi).astype(np.int64), self.n_phi)
        return i_eta * self.n_phi + i_phi

    def centre(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (self.eta_min + (cell // self.n_phi + 0.5) * self.deta,
                -math.pi + (cell % self.n_phi + 0.5) * self.dphi)

    def position(self, cell: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A point drawn uniformly within each cell (Delphes' SmearTowerCenter)."""
        eta, phi = self.centre(cell)
        offset = rng.random((2, len(cell))) - 0.5
        return eta + offset[0] * self.deta, phi + offset[1] * self.dphi


class FastDetector:
    """Turns the stable particles of an event into energy-flow candidates with a :class:`DetectorCard`.

    Args:
        card: the detector parameters.

    Shapes:
        :meth:`simulate` takes flat arrays over the event's stable visible particles and returns
        :class:`Candidates` (tracks first, then neutral towers).
    """

    def __init__(self, card: DetectorCard):
        self.card = card
        self.ecal = _Grid(card.ecal_cell, card.calo_eta_max)
        self.hcal = _Grid(card.hcal_cell, card.calo_eta_max)

    def _towers(self, grid: _Grid, eta, phi, deposit, track_deposit, terms, e_min, significance, rng):
        """Neutral excess per tower: (cell ids, excess energy) of the towers that pass the thresholds."""
        hit = deposit > 0
        cells, inverse = np.unique(grid.cell(eta[hit], phi[hit]), return_inverse=True)
        total = np.bincount(inverse, weights=deposit[hit], minlength=len(cells))
        tracked = np.bincount(inverse, weights=track_deposit[hit], minlength=len(cells))
        sigma = _resolution(total, np.abs(grid.centre(cells)[0]), terms)
        measured = _lognormal(total, sigma, rng)
        excess = measured - tracked
        keep = (excess > e_min) & (excess > significance * sigma)
        return cells[keep], excess[keep]

    def simulate(self, px, py, pz, e, pid, charge, index, rng: np.random.Generator) -> Candidates:
        """Detector-level candidates of one event.

        px, py, pz, e : float64 [n] (GeV) of the stable visible particles; pid, charge : int [n];
        index : int [n], their positions in the event record; rng : the chunk's detector generator.
        """
        card = self.card
        pt = np.hypot(px, py)
        p = np.sqrt(pt * pt + pz * pz)
        eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pz), where=pt > 0))
        phi = np.arctan2(py, px)
        abs_eta = np.abs(eta)
        apid = np.abs(pid)
        charged = charge != 0
        # tracker
        efficiency = np.where(pt <= 1.0, _binned(abs_eta, card.track_efficiency, 1),
                              _binned(abs_eta, card.track_efficiency, 2))
        tracked = (charged & (abs_eta < card.tracker_eta_max) & (pt > card.track_pt_min)
                   & (rng.random(len(pt)) < efficiency))
        a = _binned(abs_eta, card.track_resolution, 1)
        b = _binned(abs_eta, card.track_resolution, 2)
        scale = np.ones_like(pt)
        scale[tracked] = np.maximum(1.0 + np.hypot(a, b * pt)[tracked] * rng.standard_normal(int(tracked.sum())),
                                    0.05)
        mass2 = np.maximum(e * e - p * p, 0.0)
        track_e = np.sqrt((scale * p) ** 2 + mass2)
        # calorimeters: deposited energy per particle, split ECAL / HCAL
        in_calo = (abs_eta < card.calo_eta_max) & (apid != _MUON)
        ecal_fraction = np.where((apid == _ELECTRON) | (apid == _PHOTON), 1.0,
                                 np.where(np.isin(apid, _STRANGE_NEUTRAL), card.strange_ecal_fraction, 0.0))
        deposit = np.where(in_calo, e, 0.0)
        track_deposit = np.where(tracked & in_calo, track_e, 0.0)  # what the energy flow subtracts
        ecal_cells, ecal_e = self._towers(self.ecal, eta, phi, deposit * ecal_fraction,
                                          track_deposit * ecal_fraction, card.ecal_resolution, card.ecal_e_min,
                                          card.ecal_significance, rng)
        hcal_cells, hcal_e = self._towers(self.hcal, eta, phi, deposit * (1 - ecal_fraction),
                                          track_deposit * (1 - ecal_fraction), card.hcal_resolution,
                                          card.hcal_e_min, card.hcal_significance, rng)
        # candidates: tracks (smeared momentum, truth direction and mass), then neutral towers
        t = np.flatnonzero(tracked)
        eta_e, phi_e = self.ecal.position(ecal_cells, rng)
        eta_h, phi_h = self.hcal.position(hcal_cells, rng)
        tower_eta = np.concatenate([eta_e, eta_h])
        tower_phi = np.concatenate([phi_e, phi_h])
        tower_e = np.concatenate([ecal_e, hcal_e])
        tower_pt = tower_e / np.cosh(tower_eta)
        n_towers = len(tower_e)
        return Candidates(
            px=np.concatenate([px[t] * scale[t], tower_pt * np.cos(tower_phi)]),
            py=np.concatenate([py[t] * scale[t], tower_pt * np.sin(tower_phi)]),
            pz=np.concatenate([pz[t] * scale[t], tower_pt * np.sinh(tower_eta)]),
            e=np.concatenate([track_e[t], tower_e]),
            pid=np.concatenate([pid[t], np.full(len(ecal_e), ECAL_NEUTRAL_PID),
                                np.full(len(hcal_e), HCAL_NEUTRAL_PID)]).astype(np.int64),
            charge=np.concatenate([charge[t], np.zeros(n_towers, dtype=charge.dtype)]).astype(np.int64),
            truth=np.concatenate([index[t], np.full(n_towers, -1)]).astype(np.int64),
        )


def visible_particles(event) -> tuple[np.ndarray, ...]:
    """(px, py, pz, e, pid, charge, index) of the stable visible particles of a Pythia event record.

    The one per-particle loop of the detector path (~3 us per particle through the bindings); everything after
    it is numpy on the whole event.
    """
    rows = []
    for i in range(event.size()):
        particle = event[i]
        if particle.isFinal() and particle.isVisible():
            rows.append((particle.px(), particle.py(), particle.pz(), particle.e(), particle.id(),
                         particle.chargeType(), i))
    if not rows:
        empty = np.zeros(0)
        return empty, empty, empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    table = np.array(rows)
    ints = table[:, 4:].astype(np.int64)
    # chargeType is 3 x charge (quarks carry thirds); stable visible particles have integer charges
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3], ints[:, 0], ints[:, 1] // 3, ints[:, 2]


def fill_event(target, candidates: Candidates) -> None:
    """Write the candidates into the Pythia event record ``target`` (reset first) for SlowJet clustering."""
    target.reset()
    for px, py, pz, e, pid in zip(candidates.px.tolist(), candidates.py.tolist(), candidates.pz.tolist(),
                                  candidates.e.tolist(), candidates.pid.tolist(), strict=True):
        m2 = e * e - px * px - py * py - pz * pz
        target.append(pid, 1, 0, 0, px, py, pz, e, math.sqrt(m2) if m2 > 0 else 0.0)
