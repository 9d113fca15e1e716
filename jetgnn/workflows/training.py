"""``jetgnn train`` / ``jetgnn.train``: config -> split -> fit -> metrics and plots, in one run directory (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

from jetgnn.datasets.datamodule import JetDataModule
from jetgnn.evaluation.evaluate import evaluate_tagger
from jetgnn.tagger import load_tagger
from jetgnn.training.config import resolve_config
from jetgnn.training.history import loss_plot, read_history
from jetgnn.training.runner import fit_tagger, start_run
from jetgnn.training.warm_start import adopt_encoder_config
from jetgnn.utils.files import write_json
from jetgnn.utils.malloc import tune_malloc

#: test jets on which a neural tagger's costs (MACs, BOPs per jet) are counted
COST_JETS = 512


def train(config, out=None, *, train=None, val=None, epochs=None, seed=None, resume: bool = False,
          overrides=None, progress: bool = True, callbacks: list | None = None, mapping=None) -> Path:
    """Train a tagger; returns the run directory (config.yaml, checkpoints/, history.csv, metrics.json, plots).

    config : YAML path, dict or TrainConfig; train / val : ROOT files or globs overriding ``data.train`` /
    ``data.val``; overrides : ``["training.lr=3e-4", ...]`` or a dict of dotted keys; resume : continue from
    ``checkpoints/last.ckpt`` of ``out`` without losing finished epochs. With ``model.encoder`` (a
    ``jetgnn pretrain`` run), the model starts from that encoder (and keeps it fixed with
    ``model.freeze_encoder``). callbacks : extra Lightning callbacks for the fit. mapping : how to read the files
    (preset name such as "cms-pfnano", mapping YAML or dict; overrides ``data.mapping``). Raises glibc's
    allocator thresholds for the process (:func:`jetgnn.utils.malloc.tune_malloc`; ``JETGNN_MALLOC=default``
    opts out).
    """
    tune_malloc()
    cfg = resolve_config(config, {"data.train": train, "data.val": val, "training.epochs": epochs,
                                  "training.seed": seed, "data.mapping": mapping}, overrides)
    if cfg.model.encoder is not None:
        cfg = adopt_encoder_config(cfg)
    out = Path(out or Path("runs") / f"{cfg.task or 'jets'}_{cfg.model.name}")
    run = start_run(cfg, out, resume)
    with run.guarded():  # nothing is left behind unless an epoch finished; Ctrl-C says how to resume
        return _train(cfg, out, run, progress, callbacks)


def _train(cfg, out: Path, run, progress: bool, callbacks) -> Path:
    data = JetDataModule(cfg.data, seed=cfg.training.seed, num_workers=cfg.training.num_workers,
                         pin_memory=cfg.training.pins_memory())
    fitted = fit_tagger(cfg, out, data, run.last if run.resume else None, progress, callbacks)
    if fitted is None:  # DDP ranks other than 0
        return out
    tagger = load_tagger(out)
    split = data.split
    metrics = evaluate_tagger(tagger, split.test, out)
    metrics.update({
        "n_params": tagger.n_params(),
        "n_train_jets": split.n_train_jets,
        "train_time_s": fitted.train_time_s,
        "train_jets_per_s": fitted.train_jets_per_s,
        "epochs": fitted.epochs,
        "label_names": split.label_names,
        "evaluated_on": "validation" if split.test_is_validation else "test",
        **fitted.extra,
    })
    if cfg.model.name != "linear":
        cost = tagger.cost(split.test[:COST_JETS])
        metrics.update({"n_nonzero_params": cost.nonzero_params, "weight_sparsity": cost.weight_sparsity,
                        "macs_per_jet": cost.macs_per_jet, "nonzero_macs_per_jet": cost.nonzero_macs_per_jet,
                        "bops_per_jet": cost.bops_per_jet})
    if cfg.model.encoder is not None:
        metrics.update({"encoder": str(cfg.model.encoder), "freeze_encoder": cfg.model.freeze_encoder,
                        "n_trainable_params": fitted.n_trainable_params})
    write_json(out / "metrics.json", metrics)
    loss_plot(read_history(out / "history.csv"), out / "loss.png", ylabel="cross-entropy loss")
    return out
