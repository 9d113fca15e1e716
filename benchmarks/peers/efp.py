"""EnergyFlow's energy-flow polynomials next to the linear baseline's features, on the same jets, in one run.

    python benchmarks/peers/efp.py --data FILE [--n-jets 10000] [--energyflow DIR]

The linear baseline (``jetgnn.models.linear.jet_features``) computes three EFPs, the two-particle graph
:math:`\\sum_{ij} z_i z_j \\Delta R_{ij}^\\beta` for β = 0.5, 1, 2 on the 64 hardest constituents (awkward pair
combinations over the whole chunk), besides mass, soft-drop mass, τ ratios, multiplicity and width. EnergyFlow
(1.4.0, installed by benchmarks/peers/run.sh into ``--energyflow``) computes the same three with
``EFPSet([(0, 1)], measure="hadr", beta=β)`` and ``batch_compute`` over per-jet (pT, η, φ) arrays, with its default
``n_jobs`` (every core) and with one job. Recorded: jets/s of each (EnergyFlow's including the per-jet arrays it
needs, and without), the largest relative difference of the values (EnergyFlow normalises z by the pT of the
particles it is given: rescaled to the jet pT), and for context EnergyFlow's full d ≤ 5 set (the landscape's linear
EFP taggers use d ≤ 7). Writes benchmarks/results/efp_features.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.models.linear import EFP_BETAS, jet_features  # noqa: E402

N_HARDEST = 64


def _best(function, repeats: int = 3) -> tuple[float, object]:
    best, value = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - t0)
    return best, value


def _events(jets) -> list[np.ndarray]:
    """Per jet: [n, 3] (pT GeV, η, φ) of the 64 hardest constituents, what EnergyFlow's hadronic measure reads."""
    pt = np.hypot(jets.part_px, jets.part_py)[:, :N_HARDEST]
    eta, phi = jets.part_deta[:, :N_HARDEST], jets.part_dphi[:, :N_HARDEST]
    flat = np.stack([ak.to_numpy(ak.flatten(a)) for a in (pt, eta, phi)], axis=1)
    return np.split(flat, np.cumsum(ak.to_numpy(ak.num(pt)))[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--n-jets", type=int, default=10_000)
    parser.add_argument("--energyflow", type=Path, default=HERE.parent / ".cache" / "energyflow")
    args = parser.parse_args()
    sys.path.insert(0, str(args.energyflow))
    try:
        import energyflow
    except ImportError as err:
        raise SystemExit(f"energyflow is not importable from {args.energyflow} ({err}): "
                         "run benchmarks/peers/run.sh") from None
    jets = jetgnn.read_jets(args.data, entry_stop=args.n_jets)
    n = len(jets)
    names = jet_features(jets[:10])[1]
    efp_columns = [names.index(name) for name in names if name.startswith("ecf2")]
    t_all, (ours, _) = _best(lambda: jet_features(jets, efps=True))
    t_no_efp, _ = _best(lambda: jet_features(jets, efps=False))
    t_events, events = _best(lambda: _events(jets))
    sets = [energyflow.EFPSet([(0, 1)], measure="hadr", beta=beta, normed=True) for beta in EFP_BETAS]
    timings = {}
    for label, jobs in (("default n_jobs (every core)", None), ("n_jobs=1", 1)):
        seconds, values = _best(lambda jobs=jobs: np.concatenate(
            [np.asarray(s.batch_compute(events, n_jobs=jobs)).reshape(n, -1) for s in sets], axis=1), repeats=2)
        timings[label] = {"seconds": seconds, "jets_per_s": n / seconds,
                          "jets_per_s_with_inputs": n / (seconds + t_events)}
        theirs = values
    pt_given = np.array([e[:, 0].sum() for e in events])
    rescaled = theirs * (pt_given / ak.to_numpy(jets.jet_pt))[:, None] ** 2
    mine = ours[:, efp_columns]
    difference = float(np.max(np.abs(rescaled - mine) / np.maximum(np.abs(mine), 1e-12)))
    full = energyflow.EFPSet("d<=5", measure="hadr", beta=1.0, normed=True)
    t_full, _ = _best(lambda: full.batch_compute(events[:2000]), repeats=1)
    result = {
        "n_jets": n, "energyflow": energyflow.__version__, "n_hardest": N_HARDEST,
        "jetgnn": {"all_linear_features_jets_per_s": n / t_all, "without_efps_jets_per_s": n / t_no_efp,
                   "three_efps_jets_per_s": n / max(t_all - t_no_efp, 1e-9)},
        "energyflow_three_efps": timings, "energyflow_inputs_s": t_events,
        "max_relative_difference": difference,
        "energyflow_d_le_5": {"n_efps": len(full.efps), "jets_per_s": 2000 / t_full},
    }
    three = result["jetgnn"]["three_efps_jets_per_s"]
    for label, entry in timings.items():
        print(f"three EFPs: jetgnn {three:,.0f} jets/s, EnergyFlow ({label}) {entry['jets_per_s']:,.0f} "
              f"(with its inputs {entry['jets_per_s_with_inputs']:,.0f}): "
              f"{three / entry['jets_per_s_with_inputs']:.1f}x")
    print(f"all linear features {n / t_all:,.0f} jets/s; values agree to {difference:.1e}; "
          f"EnergyFlow d<=5 ({len(full.efps)} EFPs) {2000 / t_full:,.0f} jets/s")
    print(f"wrote {write_result('efp_features', result)}")


if __name__ == "__main__":
    main()
