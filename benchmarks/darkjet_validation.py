"""Validation of ``jetgnn generate darkjet``: jet mass, constituent multiplicity and missing-pT fraction of the
dark-shower jets against the QCD jets of the same file (and the top recipe's QCD jets, the same definition).

    python benchmarks/darkjet_validation.py [--dark FILE] [--top FILE] [--n-jets 4000]

Without files it generates them (seeds 2001 and 1001). Writes benchmarks/results/darkjet_validation.json and
benchmarks/results/darkjet_validation.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import RESULTS, write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.generation import generate  # noqa: E402
from jetgnn.generation.recipes import DARK_SHOWER  # noqa: E402
from jetgnn.utils.plotting import figure  # noqa: E402


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.mean(values)), "q25": float(np.percentile(values, 25)),
            "median": float(np.median(values)), "q75": float(np.percentile(values, 75)),
            "q90": float(np.percentile(values, 90))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dark", type=Path, default=None)
    parser.add_argument("--top", type=Path, default=None)
    parser.add_argument("--n-jets", type=int, default=4000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="jetgnn_darkjet_"))
    dark_path = args.dark or work / "dark.root"
    top_path = args.top or work / "top.root"
    if not dark_path.exists():
        generate("darkjet", args.n_jets, dark_path, seed=2001, workers=2, progress=False)
    if not top_path.exists():
        generate("top", args.n_jets, top_path, seed=1001, workers=2, progress=False)
    dark_file, top_file = jetgnn.read_jets(dark_path), jetgnn.read_jets(top_path)
    samples = {"dark": dark_file[dark_file.labels == 1], "QCD (darkjet file)": dark_file[dark_file.labels == 0],
               "QCD (top file)": top_file[top_file.labels == 0], "top": top_file[top_file.labels == 1]}
    quantities = {
        "jet mass [GeV]": lambda j: ak.to_numpy(j["jet_mass"]),
        "soft-drop mass [GeV]": lambda j: ak.to_numpy(j["jet_sdmass"]),
        "constituents": lambda j: j.n_particles,
        "invisible pT fraction": lambda j: ak.to_numpy(j["aux_invisible_pt_fraction"])
        if "aux_invisible_pt_fraction" in j.fields else None,
    }
    results: dict = {}
    with figure(RESULTS / "darkjet_validation.png", 1, 4, figsize=(20, 5)) as (_, axes):
        for ax, (name, get) in zip(axes, quantities.items(), strict=True):
            values = {label: get(jets) for label, jets in samples.items()}
            values = {k: v for k, v in values.items() if v is not None}
            results[name] = {label: _summary(v) for label, v in values.items()}
            if name == "invisible pT fraction":
                results[name]["fraction_of_jets_with_invisible"] = {k: float((v > 0).mean())
                                                                    for k, v in values.items()}
            high = max(np.percentile(v, 99.5) for v in values.values())
            bins = np.linspace(0, high, 40)
            for label, v in values.items():
                ax.hist(np.clip(v, 0, high), bins, histtype="step", density=True, lw=1.5, label=label)
            ax.set(xlabel=name, ylabel="density", yscale="log" if name.startswith("invisible") else "linear")
        axes[0].legend()
    for name, per_sample in results.items():
        medians = ", ".join(f"{k} {v['median']:.3g}" for k, v in per_sample.items() if isinstance(v, dict)
                            and "median" in v)
        print(f"{name:24s} medians: {medians}")
    path = write_result("darkjet_validation", {"parameters": DARK_SHOWER, "n_jets": {k: len(v) for k, v in
                                                                                    samples.items()},
                                               "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
