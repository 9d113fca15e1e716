"""``jetgnn pretrain`` / ``jetgnn.pretrain``: JetCLR contrastive pre-training of an encoder on unlabelled jets.

Run directory: ``config.yaml``, ``checkpoints/best.ckpt`` + ``last.ckpt`` (config, input spec, encoder and
projection weights; weights_only loadable), ``history.csv`` (train / val NT-Xent loss per epoch),
``metrics.json`` (final losses, alignment and uniformity of the representation, also for a randomly initialised
encoder as reference, size and speed) and ``loss.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from jetgnn.datasets.contrastive import ContrastivePairs
from jetgnn.errors import InputError
from jetgnn.evaluation.evaluate import write_json
from jetgnn.evaluation.plots import loss_plot
from jetgnn.graphs.builder import infer_jet_radius
from jetgnn.io.jets import Jets
from jetgnn.io.reader import read_jets
from jetgnn.models import InputSpec
from jetgnn.pretraining.losses import alignment, uniformity
from jetgnn.pretraining.module import ContrastiveModule, build_encoder
from jetgnn.tagger import load_checkpoint
from jetgnn.training.config import PRETRAIN_DEFAULTS
from jetgnn.training.history import read_history
from jetgnn.training.runner import _write_yaml, fit, resolve_config, split_train_val, start_run
from jetgnn.utils.files import atomic_path


def _read_unlabelled(files, cfg, what) -> Jets:
    if not files:
        raise InputError(f"no {what} files: pass --data or set data.{what} in the config")
    jets = read_jets(files, mapping=cfg["data"]["mapping"], entry_stop=cfg["data"]["max_jets"])
    fields = [f for f in jets.fields if f != "jet_label"]  # labels are never used
    return Jets(jets.arrays[fields])


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

    config : YAML path or dict (sections of ``PRETRAIN_DEFAULTS``); data : ROOT files or globs (``data.train``).
    """
    cfg = resolve_config(config, {"data.train": data, "training.epochs": epochs, "training.seed": seed}, overrides,
                         PRETRAIN_DEFAULTS)
    out = Path(out or Path("runs") / f"jetclr_{cfg['task'] or 'jets'}")
    last = start_run(cfg, out, resume)
    dcfg = cfg["data"]
    train_jets, val_jets = split_train_val(cfg, _read_unlabelled(dcfg["train"], cfg, "train"),
                                           lambda: _read_unlabelled(dcfg["val"], cfg, "val"))
    if dcfg["graph"]["radius"] is None:
        dcfg["graph"]["radius"] = infer_jet_radius(train_jets)
    _write_yaml(out / "config.yaml", cfg)

    seed_, augmentations = cfg["training"]["seed"], cfg["pretraining"]["augmentations"]
    batch_size = min(dcfg["batch_size"], len(train_jets))
    train_set = ContrastivePairs(train_jets, batch_size, augmentations, seed=seed_, **dcfg["graph"])
    val_set = ContrastivePairs(val_jets, min(dcfg["batch_size"], len(val_jets)), augmentations, shuffle=False,
                               seed=seed_ + 1, **dcfg["graph"])
    sample = train_set.views(train_jets[:8], np.random.default_rng(seed_))[0]
    spec = InputSpec.from_batch(sample).to_dict()
    encoder = build_encoder(cfg, spec).eval()
    with torch.no_grad():
        embed_dim = int(encoder.embed(sample).shape[1])
    module = ContrastiveModule(cfg, spec, embed_dim, steps_per_epoch=len(train_set))
    random_quality = representation_quality(module.encoder, val_set)  # the untrained encoder, for reference
    module.train()
    if not resume:  # the untrained encoder, for the random-encoder control (model.encoder_checkpoint: initial)
        with atomic_path(out / "checkpoints" / "initial.ckpt", suffix=".ckpt") as tmp:
            torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, tmp)
    fitted = fit(cfg, out, module, train_set, val_set, last if resume else None, progress)
    if fitted is None:
        return out

    history = read_history(out / "history.csv")
    best = ContrastiveModule(cfg, spec, embed_dim, steps_per_epoch=len(train_set))
    best.load_state_dict(load_checkpoint(out / "checkpoints" / "best.ckpt")["state_dict"])
    quality = representation_quality(best.encoder, val_set)
    write_json(out / "metrics.json", {
        "train_loss": history[-1]["train_loss"] if history else None,
        "val_loss": min((row["val_loss"] for row in history if row.get("val_loss") is not None), default=None),
        "first_val_loss": history[0]["val_loss"] if history else None,
        **quality,
        "alignment_random_encoder": random_quality["alignment"],
        "uniformity_random_encoder": random_quality["uniformity"],
        "n_jets": len(train_jets), "n_val_jets": len(val_jets), "embed_dim": embed_dim,
        "n_params": int(sum(p.numel() for p in best.encoder.parameters())),
        **fitted,
    })
    loss_plot(history, out / "loss.png")
    return out
