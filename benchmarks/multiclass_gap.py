"""Where the 16-feature hls4ml MLP loses against its published per-class AUCs on ``jetgnn generate multiclass`` jets.

    python benchmarks/multiclass_gap.py [--train FILE] [--test FILE] [--work DIR]

Three measurements (README: five classes):

1. The W/Z decay asymmetry at parton level with the recipe's own Pythia settings: the fraction of hadronic W and Z
   decays whose softer quark carries min(z, 1 - z) < 0.1 of the boson's energy (what mMDT, z_cut = 0.1, drops),
   against 0.20 for isotropic decays (the hls4ml/JetNet sample: MadGraph bosons decayed by Pythia without spin
   information), 0.27 for transverse and 0.06 for longitudinal ones.
2. configs/multiclass_mlp.yaml trained through ``jetgnn.train`` on the same number of jets per class twice: as
   generated, and without the W/Z jets whose mMDT mass is below 40 GeV (the ones groomed to one prong), both
   scored on test jets selected the same way. The difference bounds what the groomed-away prongs cost.
3. scikit-learn's HistGradientBoostingClassifier on the same 16 features and jets (default settings, 500 iterations
   with early stopping): whether a different learner gets past the MLP on these jets, i.e. whether the gap is the
   network or the sample.

Defaults: benchmarks/.cache/multiclass_gap_100k_seed31.root (train) and multiclass_gap_50k_seed32.root (test),
generated when absent. Writes benchmarks/results/multiclass_gap.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.generation import generate  # noqa: E402
from jetgnn.generation.chunk import _make_pythia  # noqa: E402
from jetgnn.generation.recipes import RECIPES  # noqa: E402
from jetgnn.generation.selection import _hard_resonances  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
#: mMDT masses below this (GeV) mark a W/Z jet groomed to one prong
ONE_PRONG_MASS = 40.0
CLASSES = ("g", "q", "W", "Z", "t")


def decay_asymmetry(source: str, boson: int, n_events: int = 8000, seed: int = 3) -> dict:
    """Hard-process W or Z decays of the multiclass recipe's ``source`` (parton level, no shower): the fraction with
    min(z, 1 - z) < 0.1, z = E(quark) / E(boson) in the lab, and the folded z density in 5 bins of [0, 0.5]."""
    settings = next(s.settings for s in RECIPES["multiclass"].sources if s.name == source)
    pythia = _make_pythia((*settings, "PartonLevel:all = off", "HadronLevel:all = off"), seed)
    z = []
    for _ in range(n_events):
        if not pythia.next():
            continue
        record = pythia.process
        for resonance in _hard_resonances(record, boson):
            quark = record[resonance.daughter1()]
            if 0 < quark.idAbs() <= 5:
                z.append(quark.e() / resonance.e())
    softer = np.minimum(np.asarray(z), 1 - np.asarray(z))
    density = np.histogram(softer, np.linspace(0, 0.5, 6), density=True)[0]
    return {"decays": len(softer), "fraction_below_0.1": float(np.mean(softer < 0.1)),
            "folded_density_5_bins": [round(float(d), 3) for d in density]}


def _subset(jets, keep: np.ndarray, per_class: int, rng: np.random.Generator):
    """``per_class`` jets of every class among ``keep`` (sorted indices)."""
    chosen = [rng.permutation(np.flatnonzero(keep & (jets.labels == k)))[:per_class] for k in range(len(CLASSES))]
    return jets[np.sort(np.concatenate(chosen))]


def boosted_trees(train, test) -> dict:
    """HistGradientBoostingClassifier on the 16 hls4ml features of the ``train`` jets, scored on the ``test`` jets:
    accuracy and the one-vs-rest AUC per class."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from jetgnn.generation.substructure import HLS4ML_FEATURES

    def table(jets):
        return np.stack([ak.to_numpy(jets[f]).astype(np.float64) for f in HLS4ML_FEATURES], 1), jets.labels

    (x_train, y_train), (x_test, y_test) = table(train), table(test)
    model = HistGradientBoostingClassifier(max_iter=500, early_stopping=True, random_state=0).fit(x_train, y_train)
    scores = model.predict_proba(x_test)
    return {"accuracy": float(np.mean(scores.argmax(1) == y_test)),
            **{f"auc_{c}_vs_rest": float(roc_auc_score(y_test == k, scores[:, k])) for k, c in enumerate(CLASSES)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=Path, default=CACHE / "multiclass_gap_100k_seed31.root")
    parser.add_argument("--test", type=Path, default=CACHE / "multiclass_gap_50k_seed32.root")
    parser.add_argument("--work", type=Path, default=Path("/tmp/jetgnn_multiclass_gap"))
    args = parser.parse_args()
    for path, n, seed in ((args.train, 100_000, 31), (args.test, 50_000, 32)):
        if not path.exists():
            generate("multiclass", n, path, seed=seed, workers=2, progress=False)
    asymmetry = {"W": decay_asymmetry("ww", 24), "Z": decay_asymmetry("zz", 23)}
    print(json.dumps(asymmetry), flush=True)

    rng = np.random.default_rng(0)
    jets_file = {"train": args.train, "test": args.test}
    files = {name: jetgnn.read_jets(path) for name, path in jets_file.items()}
    assert all(list(j.label_names) == list(CLASSES) for j in files.values()), files["train"].label_names
    two_prong = {name: ~(np.isin(j.labels, [CLASSES.index("W"), CLASSES.index("Z")])
                         & (ak.to_numpy(j["jet_mass_mmdt"]) < ONE_PRONG_MASS)) for name, j in files.items()}
    one_prong_fraction = {c: float(1 - two_prong["test"][files["test"].labels == k].mean())
                          for k, c in enumerate(CLASSES) if c in ("W", "Z")}
    # the same jets per class in both variants: the smallest class after the cut sets the number
    per_class = {name: min(int((two_prong[name] & (j.labels == k)).sum()) for k in range(len(CLASSES)))
                 for name, j in files.items()}
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for variant, cut in (("as generated", False), (f"W/Z jets with mMDT mass >= {ONE_PRONG_MASS:g} GeV", True)):
        paths, subsets = {}, {}
        for name, jets in files.items():
            keep = two_prong[name] if cut else np.ones(len(jets), bool)
            paths[name] = args.work / f"{jets_file[name].stem}_{'two_prong' if cut else 'all'}.root"
            subsets[name] = _subset(jets, keep, per_class[name], rng)
            jetgnn.write_jets(paths[name], [subsets[name].columns()])
        out = args.work / f"{args.train.stem}_mlp_{'two_prong' if cut else 'all'}"
        t0 = time.perf_counter()
        if not (out / "metrics.json").exists():  # a finished run of these files is reused
            jetgnn.train(ROOT / "configs" / "multiclass_mlp.yaml", out, train=[str(paths["train"])], seed=0,
                         overrides={"data.test": [str(paths["test"])]}, progress=False)
        metrics = json.loads((out / "metrics.json").read_text())
        results[variant] = {"train_jets_per_class": per_class["train"], "test_jets_per_class": per_class["test"],
                            "accuracy": metrics["accuracy"],
                            **{f"auc_{c}_vs_rest": metrics[f"auc_{c}_vs_rest"] for c in CLASSES},
                            "gradient_boosted_trees": boosted_trees(subsets["train"], subsets["test"])}
        print(variant, {k: round(v, 4) if isinstance(v, float) else v for k, v in results[variant].items()},
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    payload = {"train_file": str(args.train), "test_file": str(args.test), "config": "configs/multiclass_mlp.yaml",
               "parton_level_decays": asymmetry, "one_prong_fraction_test": one_prong_fraction, "mlp": results}
    print(f"wrote {write_result('multiclass_gap', payload)}")


if __name__ == "__main__":
    main()
