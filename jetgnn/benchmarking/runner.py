"""``jetgnn benchmark``: train several taggers on one split with several seeds and compare them.

Every (model, seed) is an ordinary run directory under ``OUT/runs/``; runs that finished already are reused, so
an interrupted benchmark continues where it stopped. All runs share one train/validation split
(``data.split_seed = 0``); without test files the common validation jets are the test set.
Writes ``results.json``, ``results.md``, ``roc.png`` (rejection vs efficiency with seed bands and a ratio panel to
the reference), ``scores.png``, ``training.png`` and, with a size scan, ``size_scan.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from jetgnn.benchmarking.config import load_benchmark_config
from jetgnn.benchmarking.plots import roc_comparison_plot, score_grid_plot, size_scan_plot, training_curves_plot
from jetgnn.benchmarking.report import markdown_report
from jetgnn.evaluation.evaluate import write_json
from jetgnn.evaluation.metrics import binary_metrics
from jetgnn.io.reader import read_jets
from jetgnn.training.history import read_history
from jetgnn.utils.files import atomic_path

METRICS = ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "n_params", "train_time_s", "train_jets_per_s",
           "inference_jets_per_s")


def _train_run(entry: dict, cfg: dict, out: Path, seed: int, extra: dict | None = None) -> Path:
    from jetgnn.training.runner import train

    if (out / "metrics.json").exists():
        return out
    if (out / "checkpoints" / "last.ckpt").exists():  # an interrupted run: start it again
        import shutil

        shutil.rmtree(out)
    overrides = {**cfg["overrides"], **entry["overrides"], "data.split_seed": 0, **(extra or {})}
    if cfg["data"]["test"]:
        overrides["data.test"] = cfg["data"]["test"]
    if cfg["data"]["max_jets"] is not None:
        overrides["data.max_jets"] = cfg["data"]["max_jets"]
    return train(entry["config"], out=out, train=cfg["data"]["train"], seed=seed, overrides=overrides,
                 progress=False)


def _test_jets(cfg: dict, run: Path):
    """The jets every run was evaluated on: the test files, or the common validation split."""
    from jetgnn.training.runner import split_train_val

    run_cfg = yaml.safe_load((run / "config.yaml").read_text())
    mapping = run_cfg["data"]["mapping"]
    if cfg["data"]["test"]:
        return read_jets(cfg["data"]["test"], mapping=mapping)
    jets = read_jets(run_cfg["data"]["train"], mapping=mapping, entry_stop=run_cfg["data"]["max_jets"])
    return split_train_val(run_cfg, jets, None)[1]


def _signal_score(tagger, jets) -> np.ndarray:
    scores = tagger.predict(jets)
    return scores if scores.ndim == 1 else scores[:, -1]


def _summary(rows: list[dict]) -> tuple[dict, dict]:
    mean, std = {}, {}
    for key in METRICS:
        values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=np.float64)
        if len(values):
            mean[key] = float(np.mean(values))
            std[key] = float(np.std(values, ddof=1)) if len(values) > 1 and np.all(np.isfinite(values)) else 0.0
    return mean, std


def run_benchmark(config, out, train=None, test=None, seeds=None, log=print) -> Path:
    """Run (or continue) the benchmark of ``config`` into ``out``; returns ``out``."""
    from jetgnn.tagger import load_tagger

    cfg = load_benchmark_config(config, train, test, seeds)
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "benchmark.yaml", suffix=".yaml") as tmp, open(tmp, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    models, scores, histories, labels, test_jets = {}, {}, {}, None, None
    for label, entry in cfg["models"].items():
        rows, model_scores, model_histories = [], [], []
        for seed in range(cfg["seeds"]):
            run = _train_run(entry, cfg, out / "runs" / f"{label}_seed{seed}", seed)
            metrics = json.loads((run / "metrics.json").read_text())
            if test_jets is None:
                test_jets = _test_jets(cfg, run)
                labels = test_jets.labels
            model_scores.append(_signal_score(load_tagger(run), test_jets))
            model_histories.append(read_history(run / "history.csv"))
            rows.append({"seed": seed, **{k: metrics.get(k) for k in METRICS}})
            log(f"{label} seed {seed}: AUC {metrics['auc']:.4f}, 1/eps_B@30% {metrics['rejection_at_30']:.1f}, "
                f"{metrics.get('train_time_s', 0):.0f} s")
        mean, std = _summary(rows)
        signal = labels == labels.max()
        ensemble = binary_metrics(signal, np.mean(model_scores, axis=0))
        models[label] = {"config": entry["config"], "overrides": entry["overrides"], "mean": mean, "std": std,
                         "ensemble": ensemble, "per_seed": rows}
        scores[label], histories[label] = model_scores, model_histories
    signal = labels == labels.max()
    result = {"task": cfg["task"], "seeds": cfg["seeds"], "train": cfg["data"]["train"], "test": cfg["data"]["test"],
              "n_test_jets": int(len(labels)), "n_train_jets": _n_train(out, next(iter(models))),
              "reference": cfg["reference"], "models": models}
    if cfg["size_scan"]:
        result["size_scan"] = _size_scan(cfg, out, log)
        size_scan_plot(result["size_scan"], out / "size_scan.png")
    roc_comparison_plot(signal, scores, cfg["reference"], out / "roc.png")
    score_grid_plot(signal, {k: np.mean(v, axis=0) for k, v in scores.items()}, out / "scores.png")
    training_curves_plot(histories, out / "training.png")
    write_json(out / "results.json", result)
    with atomic_path(out / "results.md", suffix=".md") as tmp:
        Path(tmp).write_text(markdown_report(result))
    return out


def _n_train(out: Path, label: str) -> int | None:
    metrics = json.loads((out / "runs" / f"{label}_seed0" / "metrics.json").read_text())
    return metrics.get("n_train_jets")


def _size_scan(cfg: dict, out: Path, log) -> dict:
    """AUC of one model vs the number of training jets, with a power-law fit 1 - AUC = a N^b."""
    label = cfg["size_scan"]["model"]
    entry = cfg["models"][label]
    full = _n_train(out, label)
    points = []
    for n in sorted(cfg["size_scan"]["sizes"]):
        fraction = min(1.0, n / full)
        run = _train_run(entry, cfg, out / "runs" / f"size_scan_{label}_{n}", 0, {"data.train_fraction": fraction})
        metrics = json.loads((run / "metrics.json").read_text())
        points.append({"n_train_jets": metrics["n_train_jets"], "auc": metrics["auc"]})
        log(f"size scan {label} {metrics['n_train_jets']} jets: AUC {metrics['auc']:.4f}")
    n = np.array([p["n_train_jets"] for p in points], dtype=np.float64)
    one_minus = np.clip(1 - np.array([p["auc"] for p in points]), 1e-6, None)
    fit = None
    if len(points) >= 2:
        slope, intercept = np.polyfit(np.log(n), np.log(one_minus), 1)
        fit = {"a": float(np.exp(intercept)), "b": float(slope), "form": "1 - AUC = a * N^b"}
    return {"model": label, "points": points, "fit": fit}
