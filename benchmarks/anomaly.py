"""Anomaly detection in both directions, several seeds: the complexity bias of the AE, the NAE, mass sculpting,
a mass-decorrelated AE and the ensemble-variance score, on held-out generated jets.

    python benchmarks/anomaly.py [--top FILE] [--dark FILE] [--n-train 4000] [--epochs 10] [--seeds 5]
                                 [--models ae,nae] [--work DIR]

Without ``--top`` / ``--dark`` it generates 20,000 top-recipe jets (seed 1001) and 10,000 darkjet-recipe jets
(seed 2001) into ``--work``. The top jets are split once (seeded) into a training file and a held-out test file;
each model is trained with ``jetgnn.anomaly.train_anomaly`` on ``--n-train`` jets of the background class
(QCD, or Tbqq for the reverse direction) and scored on the held-out jets: QCD -> top, QCD -> dark, top -> QCD.
Reported per configuration: AUC, SIC max, ε_S at ε_B = 1e-2 and the mass-sculpting JSD at ε_B = 1e-2 (mean and
standard deviation over seeds), and for the AE trained on QCD the AUC of the per-jet variance of the seeds'
(standardised) scores. Writes benchmarks/results/anomaly.json and prints a Markdown table.
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
from _meta import RESULTS, write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.anomaly import train_anomaly  # noqa: E402
from jetgnn.evaluation.anomaly import anomaly_metrics  # noqa: E402
from jetgnn.generation import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def _nae(smear: float, **params) -> dict:
    """Overrides pinning every NAE setting the benchmark rows depend on (image smear in pixels, model.params)."""
    return {"anomaly.image.smear": smear, **{f"model.params.{k}": v for k, v in params.items()}}


#: the NAE of configs/anomaly_nae.yaml as shipped until 2026-12-07 (5 + 5 MALA steps)
NAE_T1 = _nae(0.0, latent=32, ae_epochs=4, nae_lr_scale=1.0, gamma=1.0, temperature=1.0, z_steps=5,
              z_step_size=0.05, z_noise=0.02, x_steps=5, x_step_size=1.0e-4, x_noise=1.0e-3)
#: the NAE of configs/anomaly_nae.yaml as shipped from 2026-12-07 until the on-manifold negatives (image chain)
NAE_SMEARED = _nae(1.0, latent=8, ae_epochs=25, nae_lr_scale=0.1, gamma=0.1, temperature=1.0e-3, z_steps=5,
                   z_step_size=1.0e-3, z_noise=0.02, x_steps=5, x_step_size=1.0e-5, x_noise=1.0e-3)
#: on top of NAE_SMEARED: T = 1e-4 (gamma and the latent step scaled with it), the NAE phase at the full learning rate
COLD_CHAINS = {"model.params.nae_lr_scale": 1.0, "model.params.temperature": 1.0e-4, "model.params.gamma": 0.01,
               "model.params.z_step_size": 1.0e-4}
#: ... and no image chain
ON_MANIFOLD = {**COLD_CHAINS, "model.params.x_steps": 0}
#: ... with 60 AE epochs: configs/anomaly_nae.yaml as shipped
ON_MANIFOLD_AE60 = {**ON_MANIFOLD, "model.params.ae_epochs": 60}
#: (name, config, background class, extra overrides)
CASES = {
    "ae": ("anomaly_ae.yaml", {}),
    # the NAE settings shipped until 2026-12-07 (T = 1, 32-d latent, unsmeared images, 4 AE epochs, the NAE phase
    # at the full learning rate), with shorter chains (5 + 5 MALA steps instead of 10 + 10): 2 cores
    "nae": ("anomaly_nae.yaml", NAE_T1),
    # the same with a converged AE pre-training (10 epochs: 4 end on the mean-image plateau, E_pos 0.2 -> 0.04
    # only after epoch 3), then the NAE phase at 1% of the AE's learning rate (run with --epochs 13)
    "nae_pretrained": ("anomaly_nae.yaml", {**NAE_T1, "model.params.ae_epochs": 10,
                                            "model.params.nae_lr_scale": 0.01}),
    # smeared images (1 pixel), an 8-d latent, 25 AE epochs, then the NAE phase at 10% of the learning rate with
    # cold chains (T = 1e-3: the energies are ~1e-3, so at T = 1 exp(-E) is flat and the chains only diffuse) and
    # gamma = 0.1 (E_neg held at a few times E_pos instead of running away to 1 / (2 gamma)); run with --epochs 28.
    # The same settings run with --epochs 25 (nae_smeared_pretraining) or 10 (nae_smeared_ae10) are the AE phase
    # alone; nae_smeared_t1_ae10 (--epochs 10) is that at T = 1, where the AE is still on the mean-image plateau
    # after 10 epochs (the AE loss is 1000x smaller, so Adam's steps on its small gradients are too)
    **{name: ("anomaly_nae.yaml", {**NAE_SMEARED, **extra}) for name, extra in (
        ("nae_smeared", {}), ("nae_smeared_pretraining", {}), ("nae_smeared_ae10", {}),
        ("nae_smeared_t1_ae10", {"model.params.temperature": 1.0, "model.params.gamma": 1.0}),
        ("nae_smeared_lr1", {"model.params.nae_lr_scale": 1.0}),  # the NAE phase at the full learning rate
        # ten times colder chains (T = 1e-4; gamma and the step sizes scaled with it) at the full learning rate:
        # the sampler concentrates on the lowest-energy images, which is what the NAE phase must push up
        ("nae_smeared_cold", {**COLD_CHAINS, "model.params.x_step_size": 1.0e-6}),
        # the same without the image chain (x_steps = 0), so the negatives are the decoded latent-chain samples.
        # Pixel noise in 1600 dimensions dominates the image chain's energies (E_neg ~2x E_pos): its negatives
        # only taught the model to reconstruct noisy images badly; on the manifold E_neg sits at ~1.1x E_pos
        ("nae_smeared_onmanifold", ON_MANIFOLD),
        # configs/anomaly_nae.yaml as shipped: the same with 60 AE epochs (run with --epochs 63), which is also what
        # the bundled file's ~800 QCD jets need to leave the mean-image plateau
        ("nae_smeared_onmanifold_ae60", ON_MANIFOLD_AE60),
        # its AE phase alone (run with --epochs 60): how much of the reverse AUC the NAE phase adds
        ("nae_smeared_ae60_pretraining", ON_MANIFOLD_AE60))},
    "vae": ("anomaly_vae.yaml", {}),
    "graph_ae": ("anomaly_graph_ae.yaml", {}),
    "ae_decorrelated": ("anomaly_ae.yaml", {"model.params.decorrelation": 10.0}),
}


def _split(top: Path, work: Path, seed: int = 7) -> tuple[Path, Path]:
    jets = jetgnn.read_jets(top)
    order = np.random.default_rng(seed).permutation(len(jets))
    half = len(jets) // 2
    paths = work / "top_train.root", work / "top_test.root"
    for path, index in zip(paths, (np.sort(order[:half]), np.sort(order[half:])), strict=True):
        if not path.exists():
            jetgnn.write_jets(path, [jets[index].columns()])
    return paths


def _scores(run: Path, jets) -> np.ndarray:
    return jetgnn.load_tagger(run).anomaly_score(jets)


def _ensemble_variance(seed_scores: dict, background: str, sample: str) -> np.ndarray:
    """Per jet of ``sample``: the variance over seeds of the scores, each standardised on the background
    (median 0, 16-84% width 1)."""
    rows = []
    for scores in seed_scores.values():
        reference = scores[background]
        width = np.percentile(reference, 84) - np.percentile(reference, 16)
        rows.append((scores[sample] - np.median(reference)) / max(width, 1e-12))
    return np.var(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=Path, default=None)
    parser.add_argument("--dark", type=Path, default=None)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default="ae,nae")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/.anomaly_work"))
    parser.add_argument("--backgrounds", default="QCD,Tbqq", help="classes to train on (QCD: forward, Tbqq: reverse)")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    top = args.top or work / "top_20k.root"
    dark = args.dark or work / "dark_10k.root"
    if not top.exists():
        generate("top", 20_000, top, seed=1001, workers=2, progress=False)
    if not dark.exists():
        generate("darkjet", 10_000, dark, seed=2001, workers=2, progress=False)
    train_file, test_file = _split(top, work)
    test = jetgnn.read_jets(test_file)
    dark_jets = jetgnn.read_jets(dark)
    samples = {"QCD": test[test.labels == 0], "top": test[test.labels == 1],
               "dark": dark_jets[dark_jets.labels == 1]}
    masses = {k: ak.to_numpy(v["jet_mass"]) for k, v in samples.items()}
    directions = [("QCD", "QCD", "top"), ("QCD", "QCD", "dark"), ("Tbqq", "top", "QCD")]
    results: dict = {}
    for model in args.models.split(","):
        config, extra = CASES[model]
        for background_class, background, _ in directions[::2]:  # one training per background class
            if background_class not in args.backgrounds.split(","):
                continue
            seed_scores = {}
            for seed in range(args.seeds):
                run = work / "runs" / f"{model}_{background}_{seed}"
                if not (run / "metrics.json").exists():
                    t0 = time.perf_counter()
                    train_anomaly(CONFIGS / config, run, train=[str(train_file)], epochs=args.epochs, seed=seed,
                                  progress=False, overrides={"anomaly.background": [background_class],
                                                             "data.max_jets": 2 * args.n_train, **extra})
                    print(f"trained {run.name} in {time.perf_counter() - t0:.0f} s", flush=True)
                seed_scores[seed] = {k: _scores(run, v) for k, v in samples.items()}
            for bkg_class, bkg, sig in directions:
                if bkg_class != background_class:
                    continue
                per_seed = [anomaly_metrics(s[bkg], s[sig], masses[bkg]) for s in seed_scores.values()]
                entry = {key: {"mean": float(np.mean([m[key] for m in per_seed])),
                               "std": float(np.std([m[key] for m in per_seed]))}
                         for key in ("auc", "sic_max", "signal_efficiency_at_bkg_1e-2", "mass_jsd_at_bkg_1e-2",
                                     "mass_jsd_floor_at_bkg_1e-2")
                         if all(m[key] is not None for m in per_seed)}
                entry["per_seed_auc"] = [m["auc"] for m in per_seed]
                if len(seed_scores) > 1:  # ensemble: the variance of the seeds' standardised scores
                    entry["ensemble_variance_auc"] = anomaly_metrics(_ensemble_variance(seed_scores, bkg, bkg),
                                                                     _ensemble_variance(seed_scores, bkg, sig))["auc"]
                    mean_score = {name: np.mean([s[name] for s in seed_scores.values()], axis=0)
                                  for name in (bkg, sig)}
                    entry["ensemble_mean_auc"] = anomaly_metrics(mean_score[bkg], mean_score[sig])["auc"]
                results[f"{model}: {bkg} -> {sig}"] = entry
                print(f"{model:16s} {bkg:4s} -> {sig:5s} AUC {entry['auc']['mean']:.3f} ± {entry['auc']['std']:.3f}"
                      f"  JSD {entry.get('mass_jsd_at_bkg_1e-2', {}).get('mean', float('nan')):.3f}", flush=True)
    previous = RESULTS / "anomaly.json"  # results of other models (earlier runs) are kept
    runs = json.loads(previous.read_text()).get("runs", {}) if previous.exists() else {}
    for model in args.models.split(","):
        runs[model] = {"n_train_background_jets": args.n_train, "epochs": args.epochs, "seeds": args.seeds,
                       "overrides": CASES[model][1]}
    kept = json.loads(previous.read_text()).get("results", {}) if previous.exists() else {}
    payload = {"runs": runs, "n_test": {k: len(v) for k, v in samples.items()}, "top_file": str(top),
               "dark_file": str(dark), "results": {**kept, **results}}
    path = write_result("anomaly", payload)
    print(json.dumps(results, indent=1)[:2000])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
