"""Physics validation plots and numbers for generated jets (issue 1 §5).

    python benchmarks/validate_physics.py [--qg data/qg_2k.root] [--top data/top_2k.root]
                                          [--flavour data/flavour_2k.root] [--tag bundled]

Writes benchmarks/results/physics_validation_<tag>.png and .json: soft-drop mass of top vs QCD jets,
constituent multiplicity of quark vs gluon jets, impact-parameter significance and displaced-vertex counts
of b / c / light jets, and class balance.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import awkward as ak
import matplotlib
import numpy as np
import uproot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import RESULTS, write_result  # noqa: E402

from jetgnn.io.schema import LABELS  # noqa: E402
from jetgnn.observables import ip_significance, n_displaced_vertices, n_significant_tracks, tau_ratio  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


def _peak(values, lo=0.0, hi=300.0, width=10.0):
    hist, edges = np.histogram(values, bins=np.arange(lo, hi + width, width))
    return float(0.5 * (edges[hist.argmax()] + edges[hist.argmax() + 1]))


def _hist_by_class(ax, values, label, task, bins, describe, **axes_settings):
    """One step histogram per class of ``task``; ``describe(values_of_class)`` goes into the legend."""
    for k, name in enumerate(LABELS[task]):
        ax.hist(values[label == k], bins=bins, histtype="step", density=True, lw=1.5,
                label=f"{name} ({describe(values[label == k], k)})")
    ax.set(ylabel="density", **axes_settings)
    ax.legend()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qg", default=str(DATA / "qg_2k.root"))
    parser.add_argument("--top", default=str(DATA / "top_2k.root"))
    parser.add_argument("--flavour", default=str(DATA / "flavour_2k.root"))
    parser.add_argument("--tag", default="bundled")
    args = parser.parse_args()
    trees = {task: uproot.open(getattr(args, task))["tree"].arrays() for task in ("qg", "top", "flavour")}

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    numbers: dict = {"files": {t: os.path.relpath(getattr(args, t)) for t in trees}}

    top = trees["top"]
    label = ak.to_numpy(top.jet_label)
    sd = ak.to_numpy(top.jet_sdmass)
    _hist_by_class(axes[0, 0], sd, label, "top", np.arange(0, 300, 7.5), lambda v, k: f"peak {_peak(v):.0f} GeV",
                   xlabel="soft-drop mass [GeV]", title="top: R=0.8, pT 550-650 GeV")
    axes[0, 0].axvline(172.5, color="grey", ls=":", lw=1)
    numbers["top"] = {
        "sdmass_peak_GeV": {name: _peak(sd[label == k]) for k, name in enumerate(LABELS["top"])},
        "median_tau32": {name: float(np.median(tau_ratio(top, "tau32")[label == k]))
                         for k, name in enumerate(LABELS["top"])},
    }

    qg = trees["qg"]
    label = ak.to_numpy(qg.jet_label)
    n = ak.to_numpy(qg.jet_nparticles)
    _hist_by_class(axes[0, 1], n, label, "qg", np.arange(0, 120, 3), lambda v, k: f"mean {v.mean():.1f}",
                   xlabel="constituents per jet", title="q/g: R=0.4, pT 500-550 GeV")
    numbers["qg"] = {"mean_constituents": {name: float(n[label == k].mean()) for k, name in enumerate(LABELS["qg"])}}

    fl = trees["flavour"]
    label = ak.to_numpy(fl.jet_label)
    sig = ip_significance(fl)
    n_sig = n_significant_tracks(fl)
    n_sv = n_displaced_vertices(fl, min_tracks=2)
    track_label = np.repeat(label, ak.to_numpy(ak.num(sig)))
    _hist_by_class(axes[1, 0], np.clip(ak.to_numpy(ak.flatten(sig)), 0, 50), track_label, "flavour",
                   np.linspace(0, 50, 51), lambda v, k: f"{n_sig[label == k].mean():.2f} tracks/jet > 3 sigma",
                   xlabel="track |d0| / sigma(d0) (last bin: overflow)", yscale="log",
                   title="flavour: tracks pT > 1 GeV")
    _hist_by_class(axes[1, 1], n_sv, label, "flavour", np.arange(-0.5, 6.5, 1),
                   lambda v, k: f"{(v >= 1).mean():.0%} with one or more",
                   xlabel="truth displaced vertices with >= 2 tracks", title="flavour")
    numbers["flavour"] = {
        "tracks_per_jet_ip_significance_gt3": {name: float(n_sig[label == k].mean())
                                               for k, name in enumerate(LABELS["flavour"])},
        "fraction_with_multitrack_displaced_vertex": {name: float((n_sv[label == k] >= 1).mean())
                                                      for k, name in enumerate(LABELS["flavour"])},
    }
    numbers["class_counts"] = {
        task: dict(zip(LABELS[task], np.bincount(ak.to_numpy(t.jet_label), minlength=len(LABELS[task])).tolist(),
                       strict=True))
        for task, t in trees.items()
    }
    fig.tight_layout()
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = RESULTS / f"physics_validation_{args.tag}.png"
    fig.savefig(png, dpi=90)
    path = write_result(f"physics_validation_{args.tag}", {
        "command": "python benchmarks/validate_physics.py " + " ".join(sys.argv[1:]), "plot": png.name, **numbers})
    print(f"wrote {png} and {path}")


if __name__ == "__main__":
    main()
