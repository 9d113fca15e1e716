"""Fitting a tagger into a run directory (SPEC §5): config.yaml, checkpoints/, history.csv, logs/.

:func:`fit_tagger` builds the model of a config (one factory), wraps it in the Lightning module and fits it on
the split of a :class:`~jetgnn.datasets.datamodule.JetDataModule`; the scikit-learn linear baselines are fitted
directly and write the same files. Evaluation (metrics.json, plots) is the job of the layer above
(``jetgnn.workflows.training``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from jetgnn.datasets.datamodule import JetDataModule
from jetgnn.errors import InputError, OutputError, RunInterrupted
from jetgnn.io.jets import training_ranges
from jetgnn.models import InputSpec, build_model
from jetgnn.models.base import unread_edge_options
from jetgnn.models.checkpoint import load_checkpoint
from jetgnn.training.callbacks import DatasetEpoch, EpochSeed, FitClock, History, JetThroughput, Pruning
from jetgnn.training.config import TrainConfig, check_hardware
from jetgnn.training.history import read_history, write_history
from jetgnn.training.module import TaggerModule
from jetgnn.training.warm_start import warm_start
from jetgnn.utils.files import atomic_path, output_dir, remove_created, write_yaml


@dataclass
class FitResult:
    """What a fit reports for metrics.json (on DDP rank 0)."""

    train_time_s: float
    train_jets_per_s: float | None
    epochs: int
    n_trainable_params: int
    extra: dict = field(default_factory=dict)  # model-specific entries, e.g. the linear baseline's features


def quiet_lightning() -> None:
    """Keep Lightning's start-up banners and known-harmless warnings out of the CLI output."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*IterableDataset.*has `__len__` defined.*")
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
    # a frozen encoder (model.freeze_encoder) is kept in eval mode on purpose
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode at the start of training.*")


@dataclass
class RunDirectory:
    """The run directory of a training call: ``created`` if this call made it, ``before`` the entries it held.

    On a failure before the first finished epoch, :meth:`failed` removes what this call added (nothing is left
    behind; a resumed run is left as it was); on Ctrl-C, :meth:`interrupted` keeps finished epochs for
    ``--resume``.
    """

    path: Path
    resume: bool
    created: bool
    before: frozenset

    @property
    def last(self) -> Path:
        return self.path / "checkpoints" / "last.ckpt"

    def discard(self) -> None:
        if self.created:
            remove_created(self.path)
        elif not self.resume:
            for entry in self.path.iterdir():
                if entry.name not in self.before:
                    remove_created(entry) if entry.is_dir() else entry.unlink(missing_ok=True)

    def failed(self) -> None:
        """After an error: discard the run unless it holds a finished epoch (``--resume`` continues it)."""
        if not self.last.exists():
            self.discard()

    @contextlib.contextmanager
    def guarded(self):
        """Around a run's work: Ctrl-C becomes :meth:`interrupted`, any other failure calls :meth:`failed`."""
        try:
            yield self
        except KeyboardInterrupt:
            raise self.interrupted() from None
        except BaseException:
            self.failed()
            raise

    def interrupted(self) -> RunInterrupted:
        """The RunInterrupted to raise after Ctrl-C; a run with no finished epoch is discarded."""
        if self.last.exists():
            return RunInterrupted(self.path, True, f"finished epochs are in {self.last}")
        self.discard()
        return RunInterrupted(self.path, self.resume, "before the first epoch ended; nothing was kept")


def prepare_run_dir(out: Path, resume: bool) -> RunDirectory:
    """Check ``--resume`` against ``out`` and that ``out`` can be written, and create ``out/checkpoints``."""
    out = Path(out)
    last = out / "checkpoints" / "last.ckpt"
    if resume and not last.exists():
        raise InputError(f"--resume: no checkpoint to resume from at {last}")
    if not resume and last.exists():
        raise InputError(f"run directory {out} already holds a run: pass --resume to continue it or choose --out")
    before = frozenset(entry.name for entry in out.iterdir()) if out.is_dir() else frozenset()
    out, created = output_dir(out, "run directory")
    run = RunDirectory(out, resume, created, before)
    try:
        (out / "checkpoints").mkdir(exist_ok=True)
    except OSError as err:
        run.discard()
        raise OutputError(f"cannot write run directory {out}: {err.strerror or err}") from None
    return run


def start_run(cfg: TrainConfig, out: Path, resume: bool) -> RunDirectory:
    """Prepare the run directory, quieten Lightning and seed everything."""
    check_hardware(cfg.training)
    run = prepare_run_dir(out, resume)
    quiet_lightning()
    L.seed_everything(cfg.training.seed, workers=True, verbose=False)
    return run


def check_resumable(last: Path, cfg, label_names, spec: dict | None) -> None:
    """``--resume`` with a config that builds the checkpoint's model on the same classes and inputs; else one
    InputError, before anything in the run directory changes."""
    saved = load_checkpoint(last)["hyper_parameters"]
    saved_model = saved.get("config", {}).get("model", {})
    problems = []
    if saved_model.get("name") != cfg.model.name:
        problems.append(f"model {saved_model.get('name')!r} (the config asks for {cfg.model.name!r})")
    elif (saved_model.get("params") or {}) != (cfg.model.to_dict().get("params") or {}):
        problems.append(f"model.params {saved_model.get('params')} (the config has {cfg.model.to_dict()['params']})")
    if label_names is not None and list(saved.get("label_names") or []) != list(label_names):
        problems.append(f"classes {', '.join(saved.get('label_names') or [])} (the data has "
                        f"{', '.join(label_names)})")
    if spec is not None and saved.get("spec") is not None and saved["spec"] != spec:
        problems.append("other input features than the data gives now")
    if problems:
        raise InputError(f"--resume: {last} was trained with {'; '.join(problems)}; resume with the run's own "
                         f"config ({last.parent.parent / 'config.yaml'}) or choose another --out (nothing was "
                         f"changed)")


def make_trainer(cfg: TrainConfig, out: Path, progress: bool, callbacks: list | None = None) -> L.Trainer:
    """The Lightning trainer of a run: checkpoints (best by ``training.monitor``, last), early stopping on the same
    metric, the datasets' epoch, throughput, history.csv, learning-rate monitor and a CSV logger
    (logs/version_N/metrics.csv)."""
    tcfg = cfg.training
    mode = "min" if tcfg.monitor == "val_loss" else "max"
    return L.Trainer(
        max_epochs=tcfg.epochs, accelerator=tcfg.accelerator, devices=tcfg.devices, num_nodes=tcfg.num_nodes,
        strategy=tcfg.strategy, precision=tcfg.precision, gradient_clip_val=tcfg.gradient_clip or None,
        callbacks=[
            DatasetEpoch(),
            EpochSeed(tcfg.seed),
            JetThroughput(),
            History(out / "history.csv"),
            LearningRateMonitor(logging_interval="epoch"),
            ModelCheckpoint(dirpath=out / "checkpoints", filename="best", monitor=tcfg.monitor, mode=mode,
                            enable_version_counter=False),
            # last.ckpt after every epoch: Lightning's save_last writes it only when a monitored checkpoint is
            # saved (i.e. when the monitored metric improves), so --resume and "last" would restart from the best epoch
            ModelCheckpoint(dirpath=out / "checkpoints", filename="last", save_top_k=1, monitor=None,
                            enable_version_counter=False),
            EarlyStopping(monitor=tcfg.monitor, mode=mode, patience=tcfg.patience),
            *([Pruning(tcfg.prune)] if tcfg.prune is not None else []),
            *(callbacks or []),
        ],
        logger=CSVLogger(save_dir=out, name="logs"), log_every_n_steps=1, enable_progress_bar=progress,
        enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=out,
        # bit-reproducible on the CPU; some CUDA scatter kernels (max aggregation) have no deterministic version
        deterministic=True if tcfg.accelerator == "cpu" else "warn",
    )


def fit(cfg: TrainConfig, out: Path, module: L.LightningModule, data: JetDataModule, resume_from: Path | None,
        progress: bool, callbacks: list | None = None) -> FitResult | None:
    """Run the Lightning fit; on rank 0 returns the timing (wall time of the fit, including the earlier processes
    of a resumed run; train jets/s: mean over epochs), on other DDP ranks None. ``callbacks`` are added to the
    run's own."""
    clock = FitClock()
    trainer = make_trainer(cfg, out, progress, [clock, *(callbacks or [])])
    handler = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, datamodule=data, ckpt_path=str(resume_from) if resume_from else None)
    except SystemExit:  # Lightning turns Ctrl-C into a silent sys.exit(1) after its graceful shutdown
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT after a Ctrl-C
    if trainer.interrupted:  # a Ctrl-C that Lightning absorbed without exiting is still a Ctrl-C
        raise KeyboardInterrupt
    train_time = clock.elapsed_s  # a resumed run: with the earlier processes' time
    if not trainer.is_global_zero:
        return None
    history = read_history(out / "history.csv")
    jets_per_s = [row["train_jets_per_s"] for row in history if row.get("train_jets_per_s")]
    return FitResult(round(train_time, 2), float(np.mean(jets_per_s)) if jets_per_s else None, len(history),
                     int(sum(p.numel() for p in module.parameters() if p.requires_grad)))


def check_track_truth(cfg: TrainConfig, jets) -> None:
    """A multitask model with auxiliary losses needs the track truth branches in its training files."""
    weights = cfg.training.loss_weights
    if cfg.model.name == "vertexer" and (weights.origin > 0 or weights.vertex > 0):
        missing = [name for name in ("part_origin", "part_vtx_idx") if name not in jets]
        if missing:
            raise InputError(f"training files lack {', '.join(missing)}: the vertexer's origin and vertex losses "
                             "need track truth (part_origin, part_vtx_idx); train on flavour files or set "
                             "training.loss_weights.origin/vertex to 0")


def _fit_linear(cfg: TrainConfig, out: Path, data: JetDataModule) -> FitResult:
    """Fit a scikit-learn linear baseline: the same checkpoints and history.csv as a neural tagger."""
    from sklearn.metrics import log_loss, roc_auc_score

    split = data.split
    t0 = time.perf_counter()
    model = build_model(cfg.model).fit(split.train)
    train_time = time.perf_counter() - t0
    label_names = split.label_names
    state = {"hyper_parameters": {"config": cfg.to_dict(), "label_names": label_names, "spec": None,
                                  "input_ranges": training_ranges(split.train)},
             "linear_state": model.state_dict()}
    for name in ("best", "last"):
        with atomic_path(out / "checkpoints" / f"{name}.ckpt", suffix=".ckpt") as tmp:
            torch.save(state, tmp)
    labels = np.arange(len(label_names))
    val_probs = model.predict_proba(split.val)
    signal = split.val.labels == len(label_names) - 1
    history = [{"epoch": 0, "train_loss": log_loss(split.train.labels, model.predict_proba(split.train),
                                                   labels=labels),
                "val_loss": log_loss(split.val.labels, val_probs, labels=labels),
                "val_auc": roc_auc_score(signal, val_probs[:, -1]) if 0 < signal.sum() < len(signal) else None,
                "train_jets_per_s": len(split.train) / max(train_time, 1e-9), "lr": None}]
    write_history(out / "history.csv", history)
    return FitResult(round(train_time, 3), history[0]["train_jets_per_s"], 1, model.n_params(),
                     {"features": model.feature_names})


def fit_tagger(cfg: TrainConfig, out: Path, data: JetDataModule, resume_from: Path | None = None,
               progress: bool = True, callbacks: list | None = None) -> FitResult | None:
    """Fit the tagger of ``cfg`` on ``data`` into the run directory ``out`` (prepared by :func:`start_run`):
    writes config.yaml (the graph radius fixed, so that predictions build the same graphs), checkpoints and
    history.csv. Returns the fit's timing on DDP rank 0, None on the other ranks."""
    check_track_truth(cfg, data.split.train)
    cfg.data.graph.radius = data.graph_options()["radius"]
    spec = InputSpec.from_batch(data.example_batch()) if cfg.model.name != "linear" else None
    if resume_from is not None:
        check_resumable(resume_from, cfg, data.split.label_names, spec.to_dict() if spec is not None else None)
    write_yaml(out / "config.yaml", cfg.to_dict())
    if cfg.model.name == "linear":
        if cfg.data.streaming is not None:
            raise InputError("data.streaming trains the neural models; the linear baseline fits its jets in memory "
                             "(remove data.streaming)")
        return _fit_linear(cfg, out, data)
    model = build_model(cfg.model, spec, len(data.split.label_names))
    data.graph_overrides = unread_edge_options(model)  # (the recorded graph options stay as configured)
    data.setup()
    if cfg.model.encoder is not None:
        warm_start(model, cfg, spec.to_dict())
    module = TaggerModule(model, cfg, spec.to_dict(), data.split.label_names, steps_per_epoch=len(data.train_set),
                          input_ranges=training_ranges(data.split.train))
    return fit(cfg, out, module, data, resume_from, progress, callbacks)
