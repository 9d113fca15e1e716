"""``jetgnn anomaly train`` / :func:`train_anomaly`: an anomaly model trained on background jets.

Run directory: ``config.yaml``, ``checkpoints/best.ckpt`` + ``last.ckpt`` (config, model name and parameters,
inputs, score, background classes, training ranges; weights_only loadable), ``history.csv`` (per epoch: training
loss and terms, ``val_loss`` (what the best epoch minimises), ``val_score``), ``metrics.json`` (background
jets, final losses, the validation score's mean and 10/50/90/99% quantiles, size, time) and ``loss.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetgnn.anomaly.config import AnomalyConfig
from jetgnn.anomaly.module import AnomalyModule
from jetgnn.datasets.anomaly import AnomalyDataModule
from jetgnn.io.jets import training_ranges
from jetgnn.models.anomaly import build_anomaly_model
from jetgnn.tagger import load_tagger
from jetgnn.training.config import resolve_config
from jetgnn.training.history import loss_plot, read_history
from jetgnn.training.runner import check_resumable, fit, start_run
from jetgnn.utils.files import write_json, write_yaml


def train_anomaly(config, out=None, *, train=None, val=None, epochs=None, seed=None, resume: bool = False,
                  overrides=None, progress: bool = True) -> Path:
    """Train the anomaly model of ``config`` (YAML path, dict or AnomalyConfig) on the background jets of
    ``train`` (files or globs; the jets of ``anomaly.background`` classes of labelled files); returns the run
    directory."""
    cfg = resolve_config(config, {"data.train": train, "data.val": val, "training.epochs": epochs,
                                  "training.seed": seed}, overrides, AnomalyConfig)
    out = Path(out or Path("runs") / f"anomaly_{cfg.model.name}")
    run = start_run(cfg, out, resume)
    with run.guarded():
        return _train(cfg, out, run, progress)


def _anomaly_info(cfg: AnomalyConfig) -> dict:
    quantization = cfg.model.quantization
    return {"model": cfg.model.name, "params": dict(cfg.model.params), "inputs": cfg.inputs().to_dict(),
            "score": cfg.score_name(), "background": cfg.anomaly.background, "mapping": cfg.data.mapping,
            "quantization": None if quantization is None else quantization.to_dict()}


def _train(cfg: AnomalyConfig, out: Path, run, progress: bool) -> Path:
    inputs = cfg.inputs()
    datamodule = AnomalyDataModule(cfg.data, inputs, cfg.anomaly.background, seed=cfg.training.seed,
                                   num_workers=cfg.training.num_workers, pin_memory=cfg.training.pins_memory())
    split = datamodule.split
    info = _anomaly_info(cfg)
    if run.resume:
        check_resumable(run.last, cfg, None, None)
    write_yaml(out / "config.yaml", cfg.to_dict())
    datamodule.setup()
    quantization = cfg.model.quantization
    model = build_anomaly_model(cfg.model.name, cfg.model.params, inputs.n_features,
                                None if quantization is None else quantization.spec())
    model.set_score(info["score"])
    module = AnomalyModule(model, cfg, info, steps_per_epoch=len(datamodule.train_set),
                           input_ranges=training_ranges(split.train))
    fitted = fit(cfg, out, module, datamodule, run.last if run.resume else None, progress)
    if fitted is None:
        return out
    history = read_history(out / "history.csv")
    tagger = load_tagger(out)
    scores = tagger.anomaly_score(split.val)
    write_json(out / "metrics.json", {
        "model": cfg.model.name, "score": info["score"], "background": cfg.anomaly.background,
        "n_jets": len(split.train), "n_val_jets": len(split.val),
        "train_loss": history[-1]["train_loss"] if history else None,
        "val_loss": min((row["val_loss"] for row in history if row.get("val_loss") is not None), default=None),
        "val_score_mean": float(np.mean(scores)),
        **{f"val_score_q{q}": float(np.percentile(scores, q)) for q in (10, 50, 90, 99)},
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "train_time_s": fitted.train_time_s, "train_jets_per_s": fitted.train_jets_per_s, "epochs": fitted.epochs,
    })
    loss_plot(history, out / "loss.png", ylabel="loss")
    return out
