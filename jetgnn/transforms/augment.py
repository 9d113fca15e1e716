"""JetCLR augmentations: physically equivalent views of jets, vectorised over whole chunks.

Each augmentation maps a :class:`Constituents` view (flat per-particle arrays of all jets) to a new one, with
a ``numpy.random.Generator`` for its randomness. Angles are relative to the jet axis (``deta``, ``dphi``,
radians), transverse momenta in GeV. Every other ``part_*`` field (charge, particle flags, impact parameters)
follows its particle; particles that an augmentation creates from nothing (soft radiation) get 0 for them.

==================  ===========================================================================================
rotate              rotation of each jet by a random angle about its axis in the (eta, phi) plane
translate           shift of each jet's constituents by a random (d_eta, d_phi) ~ N(0, width)
soft                up to ``n_max`` particles with pT ~ U(0, pt_max) added uniformly within ``radius``
collinear_split     each particle split with probability ``p`` into two with momentum fractions z, 1-z
                    (z ~ U(0, 1); same direction, so the jet 4-momentum is unchanged)
smear_pt            pT -> pT (1 + sigma N(0, 1)), clipped at 1% of pT (angles kept)
drop                each particle but the hardest dropped with probability ``p``
==================  ===========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

import awkward as ak
import numpy as np
from pydantic import AfterValidator

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.kinematics import constituent_sum, wrap_phi
from jetgnn.kinematics import mass as four_vector_mass
from jetgnn.utils.config import ConfigModel, ErrorStyle, Float, NonNegativeInt, did_you_mean, validate

_KINEMATIC = ("part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi")


@dataclass
class Constituents:
    """Flat view of a chunk of jets. pt, deta, dphi, mass : [n_particles] (GeV, radians); counts : [n_jets];
    jet_eta, jet_phi : [n_jets] axes; other : remaining ``part_*`` fields, flat."""

    pt: np.ndarray
    deta: np.ndarray
    dphi: np.ndarray
    mass: np.ndarray
    counts: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    other: dict[str, np.ndarray]

    @property
    def owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.counts)), self.counts)

    @classmethod
    def from_jets(cls, jets) -> Constituents:
        arrays = jets.arrays if isinstance(jets, Jets) else jets
        missing = [f for f in (*_KINEMATIC, "jet_eta", "jet_phi") if f not in arrays.fields]
        if missing:
            raise InputError(f"augmentations need the fields {', '.join(missing)}")
        flat = {f: ak.to_numpy(ak.flatten(arrays[f])).astype(np.float64) for f in _KINEMATIC}
        pt = np.hypot(flat["part_px"], flat["part_py"])
        p2 = pt**2 + flat["part_pz"] ** 2
        other = {f: ak.to_numpy(ak.flatten(arrays[f])) for f in arrays.fields
                 if f.startswith("part_") and f not in _KINEMATIC}
        return cls(pt, flat["part_deta"], flat["part_dphi"], np.sqrt(np.maximum(flat["part_energy"] ** 2 - p2, 0)),
                   ak.to_numpy(ak.num(arrays.part_px, axis=1)).astype(np.int64), ak.to_numpy(arrays.jet_eta),
                   ak.to_numpy(arrays.jet_phi), other)

    def to_jets(self) -> Jets:
        """Jets with 4-momenta rebuilt from (pT, eta = jet_eta + deta, phi = jet_phi + dphi, m), particles in
        decreasing pT, and jet_pt / jet_energy / jet_mass / jet_nparticles recomputed from them (the axis
        jet_eta / jet_phi is kept, so that translations stay visible). Labels and other per-jet fields (soft-drop
        mass, N-subjettiness, which no longer describe the view) are not carried."""
        owner = self.owner
        order = np.lexsort((-self.pt, owner))
        pt, deta, dphi, m = (v[order] for v in (self.pt, self.deta, self.dphi, self.mass))
        eta = self.jet_eta[owner] + deta
        phi = self.jet_phi[owner] + dphi
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        energy = np.sqrt(px**2 + py**2 + pz**2 + m**2)
        fields = {"part_px": px, "part_py": py, "part_pz": pz, "part_energy": energy, "part_deta": deta,
                  "part_dphi": wrap_phi(dphi)}
        fields.update({k: v[order] for k, v in self.other.items()})
        jagged = {k: ak.unflatten(v.astype(np.float32) if v.dtype == np.float64 else v, self.counts)
                  for k, v in fields.items()}
        p4 = constituent_sum(jagged["part_px"], jagged["part_py"], jagged["part_pz"], jagged["part_energy"])
        per_jet = dict(jet_pt=np.asarray(p4.pt), jet_energy=np.asarray(p4.E), jet_mass=four_vector_mass(p4),
                       jet_nparticles=self.counts.copy(), jet_eta=self.jet_eta, jet_phi=self.jet_phi)
        return Jets(ak.zip({**jagged, **per_jet}, depth_limit=1))

    def select(self, keep: np.ndarray) -> Constituents:
        """Keep the particles where ``keep`` is True."""
        counts = np.bincount(self.owner[keep], minlength=len(self.counts))
        return replace(self, pt=self.pt[keep], deta=self.deta[keep], dphi=self.dphi[keep], mass=self.mass[keep],
                       counts=counts, other={k: v[keep] for k, v in self.other.items()})

    def append(self, owner_new: np.ndarray, pt, deta, dphi, mass, other_new: dict) -> Constituents:
        """Add particles to jets ``owner_new`` (appended after each jet's own particles)."""
        owner = np.concatenate([self.owner, owner_new])
        order = np.argsort(owner, kind="stable")
        cat = lambda a, b: np.concatenate([a, b])[order]  # noqa: E731
        counts = self.counts + np.bincount(owner_new, minlength=len(self.counts))
        other = {k: cat(v, other_new[k]) for k, v in self.other.items()}
        return replace(self, pt=cat(self.pt, pt), deta=cat(self.deta, deta), dphi=cat(self.dphi, dphi),
                       mass=cat(self.mass, mass), counts=counts, other=other)


def rotate(c: Constituents, rng: np.random.Generator) -> Constituents:
    angle = rng.uniform(0, 2 * np.pi, len(c.counts))[c.owner]
    cos, sin = np.cos(angle), np.sin(angle)
    return replace(c, deta=cos * c.deta - sin * c.dphi, dphi=sin * c.deta + cos * c.dphi)


def translate(c: Constituents, rng: np.random.Generator, width: float = 0.05) -> Constituents:
    shift = rng.normal(0, width, (2, len(c.counts)))
    return replace(c, deta=c.deta + shift[0][c.owner], dphi=c.dphi + shift[1][c.owner])


def soft(c: Constituents, rng: np.random.Generator, n_max: int = 5, pt_max: float = 0.5,
         radius: float = 0.4) -> Constituents:
    n_new = rng.integers(0, n_max + 1, len(c.counts))
    owner_new = np.repeat(np.arange(len(c.counts)), n_new)
    r = radius * np.sqrt(rng.uniform(0, 1, len(owner_new)))
    angle = rng.uniform(0, 2 * np.pi, len(owner_new))
    zeros = {k: np.zeros(len(owner_new), dtype=v.dtype) for k, v in c.other.items()}
    return c.append(owner_new, rng.uniform(0, pt_max, len(owner_new)), r * np.cos(angle), r * np.sin(angle),
                    np.zeros(len(owner_new)), zeros)


def collinear_split(c: Constituents, rng: np.random.Generator, p: float = 0.1) -> Constituents:
    split = rng.uniform(0, 1, len(c.pt)) < p
    z = np.where(split, rng.uniform(0, 1, len(c.pt)), 1.0)
    kept = replace(c, pt=c.pt * z, mass=c.mass * z)
    one_minus = 1.0 - z[split]
    return kept.append(c.owner[split], c.pt[split] * one_minus, c.deta[split], c.dphi[split], c.mass[split] * one_minus,
                       {k: v[split] for k, v in c.other.items()})


def smear_pt(c: Constituents, rng: np.random.Generator, sigma: float = 0.1) -> Constituents:
    factor = np.maximum(1 + sigma * rng.standard_normal(len(c.pt)), 0.01)
    return replace(c, pt=c.pt * factor, mass=c.mass * factor)


def drop(c: Constituents, rng: np.random.Generator, p: float = 0.1) -> Constituents:
    starts = np.cumsum(c.counts) - c.counts
    hardest = np.zeros(len(c.pt), dtype=bool)
    jets = np.flatnonzero(c.counts)
    # the hardest particle of each jet is never dropped
    local_max = np.lexsort((-c.pt, c.owner))
    hardest[local_max[starts[jets]]] = True
    return c.select(hardest | (rng.uniform(0, 1, len(c.pt)) >= p))


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"must be a non-negative number, got {value!r}")
    return value


def _probability(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must be a probability in [0, 1], got {value!r}")
    return value


_NonNegative = Annotated[Float, AfterValidator(_non_negative)]
_Probability = Annotated[Float, AfterValidator(_probability)]


class _NoParameters(ConfigModel):
    pass


class _TranslateParameters(ConfigModel):
    width: _NonNegative = 0.05


class _SoftParameters(ConfigModel):
    n_max: NonNegativeInt = 5
    pt_max: _NonNegative = 0.5
    radius: _NonNegative | None = None  # None: the jet radius


class _ProbabilityParameters(ConfigModel):
    p: _Probability = 0.1


class _SmearParameters(ConfigModel):
    sigma: _NonNegative = 0.1


#: name -> (augmentation, its parameters); the order of a pipeline is the order of its keys
AUGMENTATIONS: dict[str, tuple] = {
    "rotate": (rotate, _NoParameters),
    "translate": (translate, _TranslateParameters),
    "soft": (soft, _SoftParameters),
    "collinear_split": (collinear_split, _ProbabilityParameters),
    "smear_pt": (smear_pt, _SmearParameters),
    "drop": (drop, _ProbabilityParameters),
}
#: default JetCLR pipeline (each entry: augmentation name -> its parameters; applied in this order)
DEFAULT_AUGMENTATIONS: dict[str, dict] = {
    "rotate": {},
    "translate": {"width": 0.05},
    "soft": {"n_max": 5, "pt_max": 0.5},
    "collinear_split": {"p": 0.1},
    "smear_pt": {"sigma": 0.1},
    "drop": {"p": 0.1},
}


def parse_pipeline(pipeline: dict[str, dict | None]) -> list[tuple]:
    """[(augmentation, validated parameters), ...] of a pipeline; InputError naming the augmentation or
    parameter at fault (unknown, not a number, negative, a probability outside [0, 1])."""
    if not isinstance(pipeline, dict):
        raise InputError(f"augmentations must map names ({', '.join(AUGMENTATIONS)}) to parameters, got "
                         f"{type(pipeline).__name__}")
    steps = []
    for name, params in pipeline.items():
        if name not in AUGMENTATIONS:
            raise InputError(f"unknown augmentation {name!r} (choose from {', '.join(AUGMENTATIONS)})"
                             f"{did_you_mean(name, AUGMENTATIONS)}")
        function, schema = AUGMENTATIONS[name]
        style = ErrorStyle(where=f"augmentation {name}", quote=False, unknown="unknown parameter")
        steps.append((function, validate(schema, {} if params is None else params, style)))
    return steps


def check_augmentations(pipeline: dict[str, dict | None]) -> None:
    """Raise InputError naming the augmentation or parameter at fault (see :func:`parse_pipeline`)."""
    parse_pipeline(pipeline)


def augment(jets, rng: np.random.Generator, pipeline: dict[str, dict] | None = None, radius: float | None = None
            ) -> Jets:
    """One augmented view of ``jets`` (Jets or awkward array): the ``pipeline`` augmentations in order.

    ``radius`` (the jet radius) bounds where soft particles go unless the pipeline sets it.
    """
    view = Constituents.from_jets(jets)
    for function, params in parse_pipeline(DEFAULT_AUGMENTATIONS if pipeline is None else pipeline):
        kwargs = params.model_dump()
        if "radius" in kwargs and kwargs["radius"] is None:
            if radius is None:
                kwargs.pop("radius")
            else:
                kwargs["radius"] = radius
        view = function(view, rng, **kwargs)
    return view.to_jets()
