"""PDG particle-id helpers (integer arithmetic, no Pythia needed)."""

from __future__ import annotations


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
