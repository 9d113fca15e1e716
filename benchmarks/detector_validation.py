"""Validation of the fast detector (``--detector simple``) against hadron level, jet by jet.

    python benchmarks/detector_validation.py [--events 3000] [--seed 5]

Runs the ``top`` recipe's two Pythia sources (hadronic ttbar, QCD dijets), clusters every event twice — from the
stable particles (hadron level) and from the detector's energy-flow candidates — and matches each hadron-level jet
of the recipe's window (pT 550-650 GeV, |eta| < 2) to the nearest detector-level jet (dR < 0.2). Reported: the
response (detector / hadron) of jet pT, mass and soft-drop mass (median and the 16-84% half-width), the
constituent multiplicity at both levels, and the width of the top soft-drop mass peak (top jets that contain the
top and its decay quarks; 16-84% half-width of m_SD in 120-220 GeV) at both levels. Writes
benchmarks/results/detector_validation.{json,png}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import RESULTS, write_result  # noqa: E402

from jetgnn.generation import truth  # noqa: E402
from jetgnn.generation.chunk import _make_pythia, _make_slowjet, derived_seed  # noqa: E402
from jetgnn.generation.detector import DETECTORS, FastDetector, fill_event, visible_particles  # noqa: E402
from jetgnn.generation.recipes import RECIPES  # noqa: E402
from jetgnn.generation.selection import _top_systems  # noqa: E402
from jetgnn.generation.substructure import softdrop_mass  # noqa: E402


class _Level:
    """Jets of one level: kinematics and flat constituent 4-momenta, for soft drop on the whole sample."""

    def __init__(self):
        self.pt, self.mass, self.counts, self.p4 = [], [], [], []

    def add(self, event_p4, slowjet, j):
        constituents = list(slowjet.constituents(j))
        self.pt.append(slowjet.pT(j))
        self.mass.append(slowjet.m(j))
        self.counts.append(len(constituents))
        self.p4.extend(event_p4(i) for i in constituents)

    def arrays(self):
        p4 = np.array(self.p4).reshape(-1, 4)
        return (np.array(self.pt), np.array(self.mass), np.array(self.counts),
                softdrop_mass(*p4.T, np.array(self.counts)))


def _half_width(values) -> float:
    low, high = np.percentile(values, [16, 84])
    return float((high - low) / 2)


def _response(det, had) -> dict:
    ok = had > 0
    ratio = det[ok] / had[ok]
    return {"median": float(np.median(ratio)), "half_width_16_84": _half_width(ratio)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="matched jets per source")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    recipe = RECIPES["top"]
    detector = FastDetector(DETECTORS["simple"])
    rng = np.random.default_rng(args.seed)
    levels = {name: (_Level(), _Level()) for name in ("ttbar", "qcd")}
    contained = []  # ttbar jets: all top decay products within R of the hadron-level jet
    t0 = time.perf_counter()
    for k, source in enumerate(recipe.sources):
        pythia = _make_pythia(source.settings, derived_seed(args.seed, k))
        hadron_jets, detector_jets = _make_slowjet(recipe), _make_slowjet(recipe)
        import pythia8mc

        record = pythia8mc.Event()
        record.init("detector", pythia.particleData)
        had, det = levels[source.name]
        while len(had.pt) < args.events:
            if not pythia.next():
                continue
            event = pythia.event
            hadron_jets.analyze(event)
            window = [j for j in range(min(hadron_jets.sizeJet(), 2))
                      if recipe.pt_min < hadron_jets.pT(j) < recipe.pt_max and abs(hadron_jets.p(j).eta()) < 2.0]
            if not window:
                continue
            candidates = detector.simulate(*visible_particles(event), rng=rng)
            fill_event(record, candidates)
            detector_jets.analyze(record)
            systems = _top_systems(event) if source.kind == "top" else []
            for j in window:
                eta, phi = hadron_jets.p(j).eta(), hadron_jets.phi(j)
                best = min(range(detector_jets.sizeJet()), default=None,
                           key=lambda d: truth.delta_r(eta, phi, detector_jets.p(d).eta(), detector_jets.phi(d)))
                if best is None or truth.delta_r(eta, phi, detector_jets.p(best).eta(),
                                                 detector_jets.phi(best)) > 0.2:
                    continue
                had.add(lambda i, ev=event: (ev[i].px(), ev[i].py(), ev[i].pz(), ev[i].e()), hadron_jets, j)
                det.add(lambda i, c=candidates: (c.px[i - 1], c.py[i - 1], c.pz[i - 1], c.e[i - 1]), detector_jets,
                        best)
                if source.kind == "top":
                    contained.append(any(all(truth.delta_r(eta, phi, e, f) < recipe.radius for e, f in directions)
                                         for _, directions in systems))
    seconds = time.perf_counter() - t0
    results, arrays = {}, {}
    for name, (had, det) in levels.items():
        h, d = had.arrays(), det.arrays()
        arrays[name] = (h, d)
        results[name] = {
            "matched_jets": len(h[0]),
            "pt_response": _response(d[0], h[0]),
            "mass_response": _response(d[1], h[1]),
            "sdmass_response": _response(d[3], h[3]),
            "multiplicity_median": {"hadron": float(np.median(h[2])), "detector": float(np.median(d[2]))},
        }
    contained = np.array(contained)
    h, d = arrays["ttbar"]
    peak = {}
    for level, values in (("hadron", h[3][contained]), ("detector", d[3][contained])):
        window = values[(values > 120) & (values < 220)]
        peak[level] = {"median": float(np.median(window)), "half_width_16_84": _half_width(window),
                       "fraction_in_120_220": float(len(window) / len(values))}
    results["top_sdmass_peak"] = peak
    payload = {"command": "python benchmarks/detector_validation.py " + " ".join(sys.argv[1:]),
               "card": DETECTORS["simple"].describe(), "seconds": round(seconds, 1), "results": results}
    path = write_result("detector_validation", payload)
    _plot(arrays, contained, RESULTS / "detector_validation.png")
    for name in levels:
        r = results[name]
        print(f"{name:6s} {r['matched_jets']} jets: pT response {r['pt_response']['median']:.3f} "
              f"± {r['pt_response']['half_width_16_84']:.3f}, mass {r['mass_response']['median']:.3f} "
              f"± {r['mass_response']['half_width_16_84']:.3f}, m_SD {r['sdmass_response']['median']:.3f} "
              f"± {r['sdmass_response']['half_width_16_84']:.3f}, multiplicity {r['multiplicity_median']}")
    print(f"top m_SD peak: {peak}")
    print(f"wrote {path}")


def _plot(arrays, contained, path: Path) -> None:
    from jetgnn.utils.plotting import figure

    with figure(path, ncols=4, figsize=(20, 4.8)) as (fig, axes):
        for name, color in (("qcd", "C0"), ("ttbar", "C1")):
            h, d = arrays[name]
            for ax, column, label in ((axes[0], 1, "m"), (axes[1], 3, "m_SD")):
                ok = h[column] > 5
                ax.hist(d[column][ok] / h[column][ok], bins=np.linspace(0.5, 1.5, 61), histtype="step", color=color,
                        label=f"{name}", density=True)
                ax.set(xlabel=f"{label}: detector / hadron", ylabel="density")
            bins = np.arange(0, 160, 4)
            axes[2].hist(h[2], bins=bins, histtype="step", color=color, ls="--", label=f"{name} hadron", density=True)
            axes[2].hist(d[2], bins=bins, histtype="step", color=color, label=f"{name} detector", density=True)
        axes[2].set(xlabel="constituents per jet", ylabel="density")
        h, d = arrays["ttbar"]
        bins = np.linspace(0, 300, 61)
        axes[3].hist(h[3][contained], bins=bins, histtype="step", color="k", ls="--", label="hadron")
        axes[3].hist(d[3][contained], bins=bins, histtype="step", color="C3", label="detector")
        axes[3].set(xlabel="top jets: soft-drop mass [GeV]", ylabel="jets")
        for ax in axes:
            ax.legend(frameon=False)


if __name__ == "__main__":
    main()
