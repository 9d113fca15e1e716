"""``jetgnn train`` / ``jetgnn.train``: configs -> datasets -> Lightning -> run directory (SPEC §5)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader

from jetgnn.datasets import InMemoryGraphDataset
from jetgnn.errors import InputError
from jetgnn.evaluation.evaluate import evaluate_tagger, write_json
from jetgnn.evaluation.plots import loss_plot
from jetgnn.graphs.builder import infer_jet_radius
from jetgnn.io.reader import read_jets
from jetgnn.models import InputSpec
from jetgnn.models.linear import LinearJetTagger
from jetgnn.training.config import DEFAULTS, apply_overrides, load_config, validate
from jetgnn.training.history import HistoryCallback, read_history, write_history
from jetgnn.training.module import TaggerModule
from jetgnn.utils.files import atomic_path


def _write_yaml(path: Path, payload: dict) -> None:
    with atomic_path(path, suffix=".yaml") as tmp, open(tmp, "w") as f:
        yaml.safe_dump(payload, f, sort_keys=False)


def _read(files, config, what):
    if not files:
        raise InputError(f"no {what} files: set data.{what} in the config or pass --{what}")
    jets = read_jets(files, mapping=config["data"]["mapping"], entry_stop=config["data"]["max_jets"])
    if jets.labels is None:
        raise InputError(f"{what} files have no labels (label branches or a mapping with labels are needed)")
    return jets


def _check_track_truth(cfg: dict, jets) -> None:
    """A multitask model with auxiliary losses needs the track truth branches in its training files."""
    from jetgnn.models import MODELS

    model_cls = MODELS.get(cfg["model"]["name"], (None,))[0]
    weights = cfg["training"]["loss_weights"]
    if getattr(model_cls, "multitask", False) and (weights["origin"] > 0 or weights["vertex"] > 0):
        missing = [name for name in ("part_origin", "part_vtx_idx") if name not in jets]
        if missing:
            raise InputError(f"training files lack {', '.join(missing)}: the vertexer's origin and vertex losses "
                             "need track truth (part_origin, part_vtx_idx); train on flavour files or set "
                             "training.loss_weights.origin/vertex to 0")


def resolve_config(config, explicit: dict, overrides=None, defaults: dict = DEFAULTS) -> dict:
    """The validated config: file or dict, then ``key=value`` overrides, then the command-line values in
    ``explicit`` (dotted key -> value; None and empty lists are skipped)."""
    raw = apply_overrides(load_config(config), overrides or [])
    raw = apply_overrides(raw, {k: _plain(v) for k, v in explicit.items() if v not in (None, [], ())})
    return validate(raw, defaults)


def _plain(value):
    """Paths (``pathlib.Path`` file lists from the API) as strings, as a YAML config would hold them."""
    if isinstance(value, (list, tuple)):
        return [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def start_run(cfg: dict, out: Path, resume: bool) -> Path:
    """Prepare the run directory, quieten Lightning and seed everything; returns the last.ckpt path."""
    last = prepare_run_dir(out, resume)
    _quiet_lightning()
    L.seed_everything(cfg["training"]["seed"], workers=True, verbose=False)
    return last


def _train_linear(cfg: dict, out: Path, train_jets, val_jets, test_jets) -> Path:
    """Fit a scikit-learn linear baseline and write the same run directory as a neural tagger."""
    from sklearn.metrics import log_loss, roc_auc_score

    from jetgnn.tagger import Tagger

    t0 = time.perf_counter()
    model = LinearJetTagger(**(cfg["model"]["params"] or {})).fit(train_jets)
    train_time = time.perf_counter() - t0
    label_names = train_jets.label_names
    state = {"hyper_parameters": {"config": cfg, "label_names": label_names, "spec": None},
             "linear_state": model.state_dict()}
    for name in ("best", "last"):
        with atomic_path(out / "checkpoints" / f"{name}.ckpt", suffix=".ckpt") as tmp:
            torch.save(state, tmp)
    labels = np.arange(len(label_names))
    val_probs = model.predict_proba(val_jets)
    signal = val_jets.labels == len(label_names) - 1
    history = [{"epoch": 0, "train_loss": log_loss(train_jets.labels, model.predict_proba(train_jets), labels=labels),
                "val_loss": log_loss(val_jets.labels, val_probs, labels=labels),
                "val_auc": roc_auc_score(signal, val_probs[:, -1]) if 0 < signal.sum() < len(signal) else None,
                "train_jets_per_s": len(train_jets) / max(train_time, 1e-9), "lr": None}]
    write_history(out / "history.csv", history)
    tagger = Tagger(model, cfg, label_names, out)
    metrics = evaluate_tagger(tagger, test_jets, out)
    metrics.update({"n_params": tagger.n_params(), "n_train_jets": len(train_jets),
                    "train_time_s": round(train_time, 3),
                    "train_jets_per_s": history[0]["train_jets_per_s"], "epochs": 1, "label_names": label_names,
                    "evaluated_on": "test" if cfg["data"]["test"] else "validation",
                    "features": model.feature_names})
    write_json(out / "metrics.json", metrics)
    loss_plot(read_history(out / "history.csv"), out / "loss.png")
    return out


def _quiet_lightning() -> None:
    """Keep Lightning's start-up banners and known-harmless warnings out of the CLI output."""
    import logging
    import warnings

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*IterableDataset.*has `__len__` defined.*")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    # a frozen encoder (model.freeze_encoder) is kept in eval mode on purpose
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode at the start of training.*")


def prepare_run_dir(out: Path, resume: bool) -> Path:
    """Check ``--resume`` against ``out`` and create ``out/checkpoints``."""
    last = out / "checkpoints" / "last.ckpt"
    if resume and not last.exists():
        raise InputError(f"--resume: no checkpoint to resume from at {last}")
    if not resume and last.exists():
        raise InputError(f"run directory {out} already holds a run: pass --resume to continue it or choose --out")
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    return last


def split_train_val(cfg: dict, train_jets, read_val):
    """(train, val) jets: ``data.val`` files if given (read with ``read_val()``), else a seeded split of the
    training jets; then a seeded ``data.train_fraction`` of the training jets."""
    data, seed = cfg["data"], cfg["training"]["seed"]
    if data["val"]:
        val_jets = read_val()
    else:
        split_seed = seed if data["split_seed"] is None else data["split_seed"]
        order = np.random.default_rng(split_seed).permutation(len(train_jets))
        n_val = max(1, int(round(data["val_fraction"] * len(train_jets))))
        val_jets, train_jets = train_jets[np.sort(order[:n_val])], train_jets[np.sort(order[n_val:])]
    if data["train_fraction"] < 1:
        n_keep = max(2, int(round(data["train_fraction"] * len(train_jets))))
        keep = np.random.default_rng([seed, 1]).permutation(len(train_jets))[:n_keep]
        train_jets = train_jets[np.sort(keep)]
    return train_jets, val_jets


def make_trainer(cfg: dict, out: Path, callbacks: list, progress: bool) -> L.Trainer:
    tcfg = cfg["training"]
    return L.Trainer(
        max_epochs=tcfg["epochs"], accelerator=tcfg["accelerator"], devices=tcfg["devices"],
        num_nodes=tcfg["num_nodes"],
        strategy=tcfg["strategy"], precision=tcfg["precision"], gradient_clip_val=tcfg["gradient_clip"] or None,
        callbacks=[
            ModelCheckpoint(dirpath=out / "checkpoints", filename="best", monitor="val_loss", mode="min",
                            save_last=True, enable_version_counter=False),
            EarlyStopping(monitor="val_loss", mode="min", patience=tcfg["patience"]),
            HistoryCallback(out / "history.csv"),
            *callbacks,
        ],
        logger=False, enable_progress_bar=progress, enable_model_summary=False,
        num_sanity_val_steps=0, default_root_dir=out,
        # bit-reproducible on the CPU; some CUDA scatter kernels (max aggregation) have no deterministic version
        deterministic=True if tcfg["accelerator"] == "cpu" else "warn",
    )


def fit(cfg: dict, out: Path, module: L.LightningModule, train_set, val_set, resume_from: Path | None,
        progress: bool) -> dict | None:
    """Run the Lightning fit; on rank 0 returns train_time_s, train_jets_per_s (mean over epochs) and epochs,
    on other DDP ranks None."""
    trainer = make_trainer(cfg, out, [], progress)
    loader = dict(batch_size=None, num_workers=cfg["training"]["num_workers"])
    t0 = time.perf_counter()
    trainer.fit(module, DataLoader(train_set, **loader), DataLoader(val_set, **loader),
                ckpt_path=str(resume_from) if resume_from else None)
    train_time = time.perf_counter() - t0
    if not trainer.is_global_zero:
        return None
    history = read_history(out / "history.csv")
    jets_per_s = [row["train_jets_per_s"] for row in history if row.get("train_jets_per_s")]
    return {"train_time_s": round(train_time, 2),
            "train_jets_per_s": float(np.mean(jets_per_s)) if jets_per_s else None, "epochs": len(history)}


def train(config, out=None, *, train=None, val=None, epochs=None, seed=None, resume: bool = False,
          overrides=None, progress: bool = True) -> Path:
    """Train a tagger; returns the run directory (config.yaml, checkpoints/, history.csv, metrics.json, plots).

    config : YAML path or dict; train / val : ROOT files or globs overriding ``data.train`` / ``data.val``;
    overrides : ``["training.lr=3e-4", ...]`` or a dict of dotted keys; resume : continue from
    ``checkpoints/last.ckpt`` of ``out`` without losing finished epochs. With ``model.encoder`` (a
    ``jetgnn pretrain`` run), the model starts from that encoder (and keeps it fixed with
    ``model.freeze_encoder``).
    """
    cfg = resolve_config(config, {"data.train": train, "data.val": val, "training.epochs": epochs,
                                  "training.seed": seed}, overrides)
    if cfg["model"]["encoder"] is not None:
        from jetgnn.pretraining.encoder import adopt_encoder_config

        cfg = adopt_encoder_config(cfg)
    out = Path(out or Path("runs") / f"{cfg['task'] or 'jets'}_{cfg['model']['name']}")
    last = start_run(cfg, out, resume)

    data = cfg["data"]
    train_jets, val_jets = split_train_val(cfg, _read(data["train"], cfg, "train"),
                                           lambda: _read(data["val"], cfg, "val"))
    test_jets = _read(data["test"], cfg, "test") if data["test"] else val_jets
    _check_track_truth(cfg, train_jets)
    label_names = train_jets.label_names
    if data["graph"]["radius"] is None:  # fix the radius so that predictions build the same graphs
        data["graph"]["radius"] = infer_jet_radius(train_jets)
    _write_yaml(out / "config.yaml", cfg)

    if cfg["model"]["name"] == "linear":
        return _train_linear(cfg, out, train_jets, val_jets, test_jets)

    graph = data["graph"]
    train_set = InMemoryGraphDataset(train_jets, batch_size=data["batch_size"], shuffle=True, balance=data["balance"],
                                     seed=cfg["training"]["seed"], **graph)
    val_set = InMemoryGraphDataset(val_jets, batch_size=data["batch_size"], shuffle=False, **graph)
    spec = InputSpec.from_batch(train_set.graphs).to_dict()
    module = TaggerModule(cfg, spec, label_names, steps_per_epoch=len(train_set))
    fitted = fit(cfg, out, module, train_set, val_set, last if resume else None, progress)
    if fitted is None:
        return out

    from jetgnn.tagger import load_tagger

    tagger = load_tagger(out)
    metrics = evaluate_tagger(tagger, test_jets, out)
    metrics.update({
        "n_params": tagger.n_params(),
        "n_train_jets": len(train_jets),
        **fitted,
        "label_names": label_names,
        "evaluated_on": "test" if data["test"] else "validation",
    })
    if cfg["model"]["encoder"] is not None:
        metrics.update({"encoder": str(cfg["model"]["encoder"]), "freeze_encoder": cfg["model"]["freeze_encoder"],
                        "n_trainable_params": int(sum(p.numel() for p in module.parameters() if p.requires_grad))})
    write_json(out / "metrics.json", metrics)
    loss_plot(read_history(out / "history.csv"), out / "loss.png")
    return out
