"""Jet substructure on whole chunks with FastJet + fjcontrib (``fastjet`` package, awkward interface).

* soft-drop mass: C/A reclustering, beta = 0, z_cut = 0.1 (with beta = 0, R0 plays no role). The
  declustering runs on all jets of a chunk at once: each pass splits every still-active (sub)jet into its
  last two C/A parents, keeps the jets whose softer parent has z = min(pT1, pT2)/(pT1 + pT2) > z_cut and
  follows the harder parent for the others. This gives fjcontrib's SoftDrop result (a test compares them)
  about three times as fast as the ``fastjet`` package's grooming call (0.25 vs 0.74 ms per R=0.8 top jet).
* N-subjettiness tau_1..3: beta = 1, one-pass exclusive-kT axes, normalised measure with R0 = jet radius
  (fjcontrib Nsubjettiness). Ratios tau21 = tau2/tau1 and tau32 = tau3/tau2 are the usual taggers.
"""

from __future__ import annotations

import contextlib
import os

import awkward as ak
import numpy as np

from jetgnn.utils.arrays import segment_ranges


@contextlib.contextmanager
def silence_stdout():
    """Silence C/C++ writes to stdout (Pythia and FastJet banners) for the duration of the block."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _CA_WHOLE_JET():
    """C/A with R far above any jet's extent: one cluster per input jet, every constituent kept."""
    import fastjet

    return fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)


def _mass(px, py, pz, energy):
    return np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))


def softdrop_mass(px, py, pz, energy, counts, z_cut: float = 0.1, max_depth: int = 1000) -> np.ndarray:
    """Soft-drop (beta = 0) groomed mass in GeV of every jet.

    px, py, pz, energy : flat float64 arrays (GeV) of all constituents; counts : constituents per jet.
    Returns float64 [n_jets]. A jet groomed down to a single constituent gets that constituent's mass.
    Bookkeeping between passes is flat numpy (offsets and gathers), so a pass costs little beyond FastJet.
    """
    import warnings

    import fastjet

    p4 = np.stack([np.asarray(a, dtype=np.float64) for a in (px, py, pz, energy)])  # [4, n_particles]
    counts = np.asarray(counts, dtype=np.int64)
    groomed = np.zeros(len(counts))
    index = np.arange(len(counts))
    definition = _CA_WHOLE_JET()
    for _ in range(max_depth):
        single = counts < 2
        if single.any():  # one constituent left (or none): the groomed jet is that constituent
            starts = np.cumsum(counts) - counts
            one = single & (counts == 1)
            groomed[index[one]] = _mass(*p4[:, starts[one]])
            groomed[index[single & (counts == 0)]] = 0.0
            keep = segment_ranges(starts[~single], counts[~single])
            p4, counts, index = p4[:, keep], counts[~single], index[~single]
        if len(counts) == 0:
            break
        jets = ak.unflatten(ak.zip(dict(zip(("px", "py", "pz", "E"), p4, strict=True))), counts)
        sequence = fastjet.ClusterSequence(jets, definition)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fastjet warns about exclusive jets of non-kT algorithms
            parents = sequence.exclusive_jets(n_jets=2)
            members = sequence.exclusive_jets_constituent_index(2)  # [jets][2][k], indices within each jet
        parent_p4 = np.stack([ak.to_numpy(parents[f]) for f in ("px", "py", "pz", "E")])  # [4, jets, 2]
        pt = np.hypot(parent_p4[0], parent_p4[1])
        passed = pt.min(axis=1) / pt.sum(axis=1) > z_cut
        groomed[index[passed]] = _mass(*parent_p4.sum(axis=2))[passed]
        # follow the harder parent of the jets that failed
        n_members = ak.to_numpy(ak.num(members, axis=2)).astype(np.int64)  # [jets, 2]
        flat_members = ak.to_numpy(ak.flatten(members, axis=None)).astype(np.int64)
        member_starts = (np.cumsum(n_members.ravel()) - n_members.ravel()).reshape(n_members.shape)
        failed = np.flatnonzero(~passed)
        harder = np.argmax(pt[failed], axis=1)
        lengths = n_members[failed, harder]
        local = flat_members[segment_ranges(member_starts[failed, harder], lengths)]
        jet_starts = np.cumsum(counts) - counts
        p4 = p4[:, local + np.repeat(jet_starts[failed], lengths)]
        counts, index = lengths, index[failed]
    return groomed


def jet_substructure(px, py, pz, energy, counts, radius: float) -> dict[str, np.ndarray]:
    """Soft-drop mass and tau_1..3 of each jet.

    px, py, pz, energy : flat float arrays (GeV) of all jets' constituents; counts : constituents per jet.
    Returns float32 arrays ``jet_sdmass`` (GeV), ``jet_tau1``, ``jet_tau2``, ``jet_tau3`` of length n_jets.
    Jets with fewer than N constituents have tau_N = 0.
    """
    import fastjet

    counts = np.asarray(counts, dtype=np.int64)
    n_jets = len(counts)
    out = {name: np.zeros(n_jets, dtype=np.float32) for name in ("jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3")}
    if n_jets == 0:
        return out
    particles = ak.zip(
        {
            "px": ak.unflatten(np.asarray(px, dtype=np.float64), counts),
            "py": ak.unflatten(np.asarray(py, dtype=np.float64), counts),
            "pz": ak.unflatten(np.asarray(pz, dtype=np.float64), counts),
            "E": ak.unflatten(np.asarray(energy, dtype=np.float64), counts),
        }
    )
    with silence_stdout():
        taus = fastjet.ClusterSequence(particles, _CA_WHOLE_JET()).njettiness(njets=[1, 2, 3], beta=1.0, R0=radius)
    out["jet_sdmass"] = softdrop_mass(px, py, pz, energy, counts, z_cut=0.1).astype(np.float32)
    taus = np.nan_to_num(ak.to_numpy(taus)).astype(np.float32)
    for n in (1, 2, 3):
        out[f"jet_tau{n}"] = np.where(counts >= n, taus[:, n - 1], 0.0).astype(np.float32)
    return out
