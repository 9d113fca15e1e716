"""``jetgnn benchmark``: train several taggers on one split with several seeds and compare them.

Every (model, seed) is an ordinary run directory under ``OUT/runs/``; runs that finished already are reused, so
an interrupted benchmark continues where it stopped. All runs share one train/validation split
(``data.split_seed = 0``); without test files the common validation jets are the test set.
Writes ``results.json``, ``results.md``, ``roc.png`` (rejection vs efficiency with seed bands and a ratio panel to
the reference), ``scores.png``, ``training.png`` and, with a size scan, ``size_scan.png``.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import yaml

from jetgnn.benchmarking.config import BenchmarkConfig, BenchmarkModel, load_benchmark_config
from jetgnn.benchmarking.plots import roc_comparison_plot, score_grid_plot, size_scan_plot, training_curves_plot
from jetgnn.benchmarking.report import markdown_report
from jetgnn.datasets.datamodule import JetDataModule
from jetgnn.evaluation.metrics import binary_metrics, multiclass_metrics
from jetgnn.tagger import load_tagger
from jetgnn.training.config import TrainConfig
from jetgnn.training.history import read_history
from jetgnn.utils.environment import machine
from jetgnn.utils.files import output_dir, write_json, write_text, write_yaml
from jetgnn.workflows.training import train

METRICS = ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "rejection_at_30_uncertainty",
           "rejection_at_50_uncertainty", "n_params", "train_time_s", "train_jets_per_s", "inference_jets_per_s")


def _train_run(entry: BenchmarkModel, cfg: BenchmarkConfig, out: Path, seed: int, extra: dict | None = None) -> Path:
    if (out / "metrics.json").exists():
        return out
    if (out / "checkpoints" / "last.ckpt").exists():  # an interrupted run: start it again
        import shutil

        shutil.rmtree(out)
    overrides = {**cfg.overrides, **entry.overrides, "data.split_seed": 0, **(extra or {})}
    if cfg.data.test:
        overrides["data.test"] = cfg.data.test
    if cfg.data.max_jets is not None:
        overrides["data.max_jets"] = cfg.data.max_jets
    return train(entry.config, out=out, train=cfg.data.train, seed=seed, overrides=overrides, progress=False)


def _limit_threads(n_threads: int) -> None:
    """Thread limits of a benchmark worker: OpenMP / BLAS pools (threadpoolctl), torch's intra-op pool and
    numba's kernels, so that the jobs share the cores instead of each spinning threads for all of them."""
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(n_threads)
    torch.set_num_threads(n_threads)
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))


def _train_in_parallel(tasks: list[tuple], jobs: int, log) -> None:
    """Train the ``(entry, cfg, out, seed[, extra])`` tasks that have not finished on ``jobs`` spawned processes,
    each with an equal share of the CPU threads (several small trainings also share one GPU well)."""
    todo = [t for t in tasks if not (t[2] / "metrics.json").exists()]
    if jobs <= 1 or len(todo) <= 1:
        return
    threads = max(1, (os.cpu_count() or 1) // min(jobs, len(todo)))
    with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=get_context("spawn"), initializer=_limit_threads,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_train_run, *task): task[2].name for task in todo}
        for future in as_completed(futures):
            future.result()
            log(f"{futures[future]}: trained")


def _test_jets(run: Path):
    """The jets every run was evaluated on (the test files, or the common validation split): the split of the
    run's own config, from the datamodule, which keeps the jets it read for the trainings of this process."""
    run_cfg = TrainConfig.from_raw(yaml.safe_load((run / "config.yaml").read_text()))
    return JetDataModule(run_cfg.data, seed=run_cfg.training.seed).split.test


def _signal(scores: np.ndarray) -> np.ndarray:
    """The signal (last-class) score of binary or multiclass outputs."""
    return scores if scores.ndim == 1 else scores[:, -1]


def _ensemble_metrics(labels: np.ndarray, scores: list[np.ndarray], names: list[str]) -> dict:
    """Metrics of the seeds' mean output: binary on the signal score, multiclass (accuracy over every class,
    one-vs-rest AUCs) on the mean probability vectors."""
    mean = np.mean(scores, axis=0)
    if mean.ndim == 2 and mean.shape[1] > 2:
        metrics = multiclass_metrics(labels, mean, names)
        metrics.pop("confusion_matrix")
        return metrics
    return binary_metrics(labels == labels.max(), _signal(mean))


def _per_class_keys(rows: list[dict]) -> list[str]:
    """The one-vs-rest AUC keys (``auc_<class>_vs_rest``) of multiclass runs, in class order."""
    return list(dict.fromkeys(k for r in rows for k in r if k.endswith("_vs_rest")))


def _summary(rows: list[dict]) -> tuple[dict, dict]:
    mean, std = {}, {}
    for key in (*METRICS, *_per_class_keys(rows)):
        values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=np.float64)
        if len(values):
            mean[key] = float(np.mean(values))
            std[key] = float(np.std(values, ddof=1)) if len(values) > 1 and np.all(np.isfinite(values)) else 0.0
    return mean, std


def run_benchmark(config, out, train=None, test=None, seeds=None, jobs: int = 1, log=print) -> Path:
    """Run (or continue) the benchmark of ``config`` into ``out``; returns ``out``.

    jobs : trainings run at once in separate processes (default 1: one after the other in this process).
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    cfg = load_benchmark_config(config, train, test, seeds)
    out, _ = output_dir(out, "benchmark folder")
    (out / "runs").mkdir(exist_ok=True)
    write_yaml(out / "benchmark.yaml", cfg.to_dict())
    _train_in_parallel([(entry, cfg, out / "runs" / f"{label}_seed{seed}", seed)
                        for label, entry in cfg.models.items() for seed in range(cfg.seeds)], jobs, log)
    models, scores, histories, labels, test_jets = {}, {}, {}, None, None
    for label, entry in cfg.models.items():
        rows, model_scores, model_histories = [], [], []
        for seed in range(cfg.seeds):
            run = _train_run(entry, cfg, out / "runs" / f"{label}_seed{seed}", seed)
            metrics = json.loads((run / "metrics.json").read_text())
            if test_jets is None:
                test_jets = _test_jets(run)
                labels = test_jets.labels
            model_scores.append(load_tagger(run).predict(test_jets))
            model_histories.append(read_history(run / "history.csv"))
            rows.append({"seed": seed, **{k: metrics.get(k) for k in METRICS},
                         **{k: v for k, v in metrics.items() if k.endswith("_vs_rest")}})
            log(f"{label} seed {seed}: AUC {metrics['auc']:.4f}, 1/eps_B@30% {metrics['rejection_at_30']:.1f}, "
                f"{metrics.get('train_time_s', 0):.0f} s")
        mean, std = _summary(rows)
        ensemble = _ensemble_metrics(labels, model_scores, test_jets.label_names)
        models[label] = {"config": entry.config, "overrides": entry.overrides, "mean": mean, "std": std,
                         "ensemble": ensemble, "per_seed": rows}
        scores[label], histories[label] = [_signal(v) for v in model_scores], model_histories
    signal = labels == labels.max()
    result = {"task": cfg.task, "seeds": cfg.seeds, "train": cfg.data.train, "test": cfg.data.test,
              "n_test_jets": int(len(labels)), "n_train_jets": _n_train(out, next(iter(models))),
              "reference": cfg.reference, "machine": machine(), "models": models}
    if cfg.size_scan:
        scans = _size_scan(cfg, out, jobs, log)
        result["size_scan"] = next(iter(scans.values()))  # the first scanned model (the single-model layout)
        if len(scans) > 1:
            result["size_scans"] = scans
            result["size_scan_crossovers"] = crossovers(scans)
        size_scan_plot(list(scans.values()), out / "size_scan.png")
    roc_comparison_plot(signal, scores, cfg.reference, out / "roc.png")
    score_grid_plot(signal, {k: np.mean(v, axis=0) for k, v in scores.items()}, out / "scores.png")
    training_curves_plot(histories, out / "training.png")
    write_json(out / "results.json", result)
    write_text(out / "results.md", markdown_report(result), suffix=".md")
    return out


def _n_train(out: Path, label: str) -> int | None:
    metrics = json.loads((out / "runs" / f"{label}_seed0" / "metrics.json").read_text())
    return metrics.get("n_train_jets")


def _power_law(points: list[dict]) -> dict | None:
    """Fit 1 - AUC = a N^b to the points (least squares in log-log)."""
    if len(points) < 2:
        return None
    n = np.array([p["n_train_jets"] for p in points], dtype=np.float64)
    one_minus = np.clip(1 - np.array([p["auc"] for p in points]), 1e-6, None)
    slope, intercept = np.polyfit(np.log(n), np.log(one_minus), 1)
    return {"a": float(np.exp(intercept)), "b": float(slope), "form": "1 - AUC = a * N^b"}


def crossovers(scans: dict[str, dict]) -> list[dict]:
    """Where the power-law fits of two scanned models cross: N* = (a2 / a1)^(1 / (b1 - b2)), with which model is
    better below and above it and whether N* lies inside the scanned sizes."""
    out = []
    labels = [label for label, scan in scans.items() if scan["fit"]]
    for i, first in enumerate(labels):
        for second in labels[i + 1:]:
            f1, f2 = scans[first]["fit"], scans[second]["fit"]
            if abs(f1["b"] - f2["b"]) < 1e-9:
                continue
            n_cross = (f2["a"] / f1["a"]) ** (1 / (f1["b"] - f2["b"]))
            sizes = [p["n_train_jets"] for scan in (scans[first], scans[second]) for p in scan["points"]]
            steeper, flatter = (first, second) if f1["b"] < f2["b"] else (second, first)
            out.append({"models": [first, second], "n_train_jets": float(n_cross),
                        "better_below": flatter, "better_above": steeper,
                        "within_scanned_range": bool(min(sizes) <= n_cross <= max(sizes))})
    return out


def _size_scan(cfg: BenchmarkConfig, out: Path, jobs: int, log) -> dict[str, dict]:
    """AUC of each scanned model vs the number of training jets, with a power-law fit 1 - AUC = a N^b."""
    tasks = {}
    for label in cfg.size_scan.labels:
        entry = cfg.models[label]
        full = _n_train(out, label)
        tasks[label] = [(entry, cfg, out / "runs" / f"size_scan_{label}_{n}", 0,
                         {"data.train_fraction": min(1.0, n / full)}) for n in sorted(cfg.size_scan.sizes)]
    _train_in_parallel([task for group in tasks.values() for task in group], jobs, log)
    scans = {}
    for label, group in tasks.items():
        points = []
        for task in group:
            metrics = json.loads((_train_run(*task) / "metrics.json").read_text())
            points.append({"n_train_jets": metrics["n_train_jets"], "auc": metrics["auc"]})
            log(f"size scan {label} {metrics['n_train_jets']} jets: AUC {metrics['auc']:.4f}")
        scans[label] = {"model": label, "points": points, "fit": _power_law(points)}
    return scans
