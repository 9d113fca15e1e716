"""Generation speed of `jetgnn generate` per recipe, and where the worker time goes.

    python benchmarks/generation_speed.py [--n-jets 2000] [--workers 2] [--processes qg top flavour darkjet multiclass]
                                          [--detectors none simple]

Writes benchmarks/results/generation_speed.json. "Pythia share" is the fraction of the summed worker
time spent inside Pythia (initialisation + event generation); "Pythia share of wall" divides the Pythia
time by workers x wall time of the whole command (pool start-up and the final merge included).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _meta import write_result  # noqa: E402

from jetgnn.generation import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--processes", nargs="+", default=["qg", "top", "flavour", "darkjet", "multiclass"])
    parser.add_argument("--detectors", nargs="+", default=["none", "simple"])
    args = parser.parse_args()

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for process, detector in ((p, d) for p in args.processes for d in args.detectors):
            report = generate(process, args.n_jets, Path(tmp) / f"{process}_{detector}.root", seed=args.seed,
                              workers=args.workers, progress=False, detector=detector)
            process = process if detector == "none" else f"{process} --detector {detector}"
            t = report.timing
            pythia_s = t["pythia_init_s"] + t["pythia_next_s"]
            rows[process] = {
                "n_jets": report.n_jets,
                "events": t["events"],
                "wall_s": round(report.wall_s, 2),
                "jets_per_s": round(report.jets_per_s, 1),
                "events_per_s": round(t["events"] / report.wall_s, 1),
                "pythia_share_of_worker_time": round(report.pythia_share, 3),
                "pythia_share_of_wall": round(pythia_s / (args.workers * report.wall_s), 3),
                "worker_time_s": {k: round(v, 2) for k, v in t.items() if k.endswith("_s")},
            }
            print(f"{process:28s} {report.jets_per_s:7.1f} jets/s  {rows[process]['events_per_s']:7.1f} events/s  "
                  f"Pythia {100 * report.pythia_share:.0f}% of worker time, "
                  f"{100 * rows[process]['pythia_share_of_wall']:.0f}% of workers x wall")
    path = write_result("generation_speed", {
        "command": "python benchmarks/generation_speed.py " + " ".join(sys.argv[1:]),
        "workers": args.workers, "seed": args.seed, "n_jets": args.n_jets, "results": rows,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
