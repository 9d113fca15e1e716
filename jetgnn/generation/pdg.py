"""PDG particle-id helpers (integer arithmetic, no Pythia needed)."""

from __future__ import annotations

import numpy as np


def heavy_flavour(pid: int) -> int:
    """Heaviest quark flavour (5 = b, 4 = c, else 0) contained in a hadron with PDG id ``pid``.

    Uses the PDG numbering scheme: the quark digits n_q1 n_q2 n_q3 are the thousands, hundreds and tens
    digits of |pid| (excited-state digits above 10^4 are dropped). Quarks, leptons and bosons give 0.
    """
    a = abs(pid) % 10000
    if a < 100:
        return 0
    digits = ((a // 1000) % 10, (a // 100) % 10, (a // 10) % 10)
    if 5 in digits:
        return 5
    if 4 in digits:
        return 4
    return 0


def type_flags(pid: np.ndarray, charge: np.ndarray) -> dict[str, np.ndarray]:
    """Particle-type flags of the jetclass schema from PDG ids and charges (vectorised, int32 0/1)."""
    apid = np.abs(pid)
    is_electron = apid == 11
    is_muon = apid == 13
    is_photon = apid == 22
    charged = charge != 0
    return {
        "part_isChargedHadron": (charged & ~is_electron & ~is_muon).astype(np.int32),
        "part_isNeutralHadron": (~charged & ~is_photon).astype(np.int32),
        "part_isPhoton": is_photon.astype(np.int32),
        "part_isElectron": is_electron.astype(np.int32),
        "part_isMuon": is_muon.astype(np.int32),
    }
