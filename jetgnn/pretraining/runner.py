"""``jetgnn pretrain`` / ``jetgnn.pretrain``: JetCLR contrastive pre-training of an encoder on unlabelled jets.

Run directory: ``config.yaml``, ``checkpoints/best.ckpt`` + ``last.ckpt`` (config, input spec, encoder and
projection weights; weights_only loadable), ``history.csv`` (train / val NT-Xent loss per epoch),
``metrics.json`` (final losses, alignment and uniformity of the representation, also for a randomly initialised
encoder as reference, size and speed) and ``loss.png``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from jetgnn.datasets.contrastive import ContrastivePairs
from jetgnn.datasets.datamodule import ContrastiveDataModule
from jetgnn.models import InputSpec, load_checkpoint
from jetgnn.pretraining.config import PretrainConfig
from jetgnn.pretraining.losses import alignment, uniformity
from jetgnn.pretraining.module import ContrastiveModule, build_encoder
from jetgnn.training.config import resolve_config
from jetgnn.training.history import loss_plot, read_history
from jetgnn.training.runner import fit, start_run
from jetgnn.utils.files import atomic_path, write_json, write_yaml


@torch.no_grad()
def representation_quality(encoder, dataset: ContrastivePairs, max_batches: int = 8) -> dict[str, float]:
    """Alignment and uniformity of the normalised representations of validation views (Wang & Isola)."""
    encoder.eval()
    h1, h2 = [], []
    for k, (view_1, view_2) in enumerate(dataset):
        if k == max_batches:
            break
        h1.append(encoder.embed(view_1))
        h2.append(encoder.embed(view_2))
    h1, h2 = torch.cat(h1), torch.cat(h2)
    return {"alignment": float(alignment(h1, h2)), "uniformity": float(uniformity(h1[:2048]))}


def pretrain(config, out=None, *, data=None, epochs=None, seed=None, resume: bool = False, overrides=None,
             progress: bool = True) -> Path:
    """Contrastive pre-training (NT-Xent on two augmented views per jet); returns the run directory.

    config : YAML path, dict or PretrainConfig; data : ROOT files or globs (``data.train``).
    """
    cfg = resolve_config(config, {"data.train": data, "training.epochs": epochs, "training.seed": seed}, overrides,
                         PretrainConfig)
    out = Path(out or Path("runs") / f"jetclr_{cfg.task or 'jets'}")
    run = start_run(cfg, out, resume)
    with run.guarded():  # nothing is left behind unless an epoch finished; Ctrl-C says how to resume
        return _pretrain(cfg, out, run, progress)


def _pretrain(cfg: PretrainConfig, out: Path, run, progress: bool) -> Path:
    resume, last = run.resume, run.last
    datamodule = ContrastiveDataModule(cfg.data, seed=cfg.training.seed, num_workers=cfg.training.num_workers,
                                       augmentations=cfg.pretraining.augmentations,
                                       pin_memory=cfg.training.pins_memory())
    cfg.data.graph.radius = datamodule.graph_options()["radius"]
    write_yaml(out / "config.yaml", cfg.to_dict())
    datamodule.setup()
    sample = datamodule.example_batch()
    spec = InputSpec.from_batch(sample)
    encoder = build_encoder(cfg, spec).eval()
    with torch.no_grad():
        embed_dim = int(encoder.embed(sample).shape[1])
    module = ContrastiveModule(encoder, cfg, spec.to_dict(), embed_dim, steps_per_epoch=len(datamodule.train_set))
    random_quality = representation_quality(module.encoder, datamodule.val_set)  # the untrained encoder
    module.train()
    if not resume:  # the untrained encoder, for the random-encoder control (model.encoder_checkpoint: initial)
        with atomic_path(out / "checkpoints" / "initial.ckpt", suffix=".ckpt") as tmp:
            torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, tmp)
    fitted = fit(cfg, out, module, datamodule, last if resume else None, progress)
    if fitted is None:
        return out

    history = read_history(out / "history.csv")
    best = ContrastiveModule(build_encoder(cfg, spec), cfg, spec.to_dict(), embed_dim,
                             steps_per_epoch=len(datamodule.train_set))
    best.load_state_dict(load_checkpoint(out / "checkpoints" / "best.ckpt")["state_dict"])
    quality = representation_quality(best.encoder, datamodule.val_set)
    split = datamodule.split
    write_json(out / "metrics.json", {
        "train_loss": history[-1]["train_loss"] if history else None,
        "val_loss": min((row["val_loss"] for row in history if row.get("val_loss") is not None), default=None),
        "first_val_loss": history[0]["val_loss"] if history else None,
        **quality,
        "alignment_random_encoder": random_quality["alignment"],
        "uniformity_random_encoder": random_quality["uniformity"],
        "n_jets": len(split.train), "n_val_jets": len(split.val), "embed_dim": embed_dim,
        "n_params": int(sum(p.numel() for p in best.encoder.parameters())),
        "train_time_s": fitted.train_time_s, "train_jets_per_s": fitted.train_jets_per_s, "epochs": fitted.epochs,
    })
    loss_plot(history, out / "loss.png", ylabel="NT-Xent loss")
    return out
