"""jetgnn next to weaver-core on the same ROOT files, matched settings, one run: train, predict, loader jets/s, AUC.

    python benchmarks/peers/compare.py --train TRAIN.root --test TEST.root --weaver VENV/bin/weaver
        [--models particlenet_lite particlenet] [--epochs 2] [--lr 1e-3] [--runs 1] [--work DIR]
        [--jetgnn-override KEY=VALUE ...] [--gpu [--amp]] [--finished-aucs]

(``bash benchmarks/peers/run.sh`` makes the weaver-core venv and the files, then calls this.)

Matched: the same files (weaver splits 80/20 with ``--train-val-split 0.8``, jetgnn with ``val_fraction 0.2``), the
ParticleNet blocks of the paper (weaver_particlenet.py; no fusion block, mean over real particles), the same 19 node
features with the same scaling (weaver_top.yaml), the 64 leading particles, batch 128, Adam without weight decay at
a constant learning rate, no gradient clipping, the same epochs, torch's default threads on the same cores. Each
side otherwise runs with the settings its user gets by default (weaver: one loader worker, ``--fetch-step 0.01``;
jetgnn: graphs built in memory once, batch 1024 in ``jetgnn predict``).

Recorded per model and side:
- train_loop_jets_per_s: training jets per second of the epoch loops (weaver's "avg. speed" line; jetgnn's
  ``train_jets_per_s`` of history.csv), mean over epochs; train_wall_jets_per_s: epochs x training jets over the
  wall time of the whole training command (start-up, reading, graph building, validation included);
- predict_loop_jets_per_s (weaver's test-loop speed; jetgnn's ``Tagger.last_inference_jets_per_s``: reading,
  graphs, forward) and predict_wall_jets_per_s: test jets over the wall time of the prediction command;
- loader_jets_per_s: from the files to training batches for one epoch (weaver's ``--io-test`` loop, timed
  exactly by a wrapper; jetgnn's JetDataModule: reading + graph building + iterating the training loader);
- test AUC of the prediction files (the same test jets).
With ``--runs N`` each side trains N times (jetgnn with seeds 0..N-1; weaver-core draws its own): every number is
the mean over the runs, ``test_auc_runs`` lists the AUCs and ``test_auc_std`` is their standard deviation.
Results: benchmarks/results/peers.json; ratios = jetgnn / weaver-core.

``--finished-aucs`` trains nothing: it reads the test AUCs of the finished runs in ``--work`` (each side's
``pred.root``, runs 0..N-1 of ``--runs N``) and writes only those (e.g. after stopping a long ``--runs`` harness
whose timings were disturbed by other work on the host).

``--gpu`` trains both on the first CUDA GPU (weaver ``--gpus 0``, jetgnn ``training.accelerator=gpu``; float32
unless ``--amp``: weaver's ``--use-amp`` and jetgnn's ``training.precision=16-mixed``, both float16 autocast with
a gradient scaler) and records the GPU's name; weaver-core then also predicts on the GPU, ``jetgnn predict`` on
the CPU (it has no GPU option), so only the training and loader ratios compare like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import uproot
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
from _meta import write_result  # noqa: E402

CONFIGS = {"particlenet_lite": ROOT / "configs" / "top_particlenet_lite.yaml",
           "particlenet": ROOT / "configs" / "top_particlenet.yaml"}
VARIANT = {"particlenet_lite": "lite", "particlenet": "full"}
BATCH = 128
N_PARTICLES = 64
SPEED = re.compile(r"Processed (\d+) entries in total \(avg\. speed ([\d.]+) entries/s\)")
PHASE = re.compile(r"Epoch #(\d+) (training|validating)|Running on test file group")


def _run(cmd: list[str], log: Path, env: dict | None = None) -> float:
    """Run ``cmd`` with its output in ``log``; the wall time in seconds (one line naming the log on failure)."""
    start = time.perf_counter()
    with log.open("w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent).returncode
    wall = time.perf_counter() - start
    if rc != 0:
        sys.exit(f"{cmd[0]} failed (exit {rc}); see {log}")
    return wall


def _speeds(log: Path) -> dict[str, list[float]]:
    """weaver's "avg. speed" lines by phase (train, val, test), in order."""
    speeds: dict[str, list[float]] = {"train": [], "val": [], "test": []}
    phase = None
    for line in log.read_text().splitlines():
        marker = PHASE.search(line)
        if marker:
            phase = {"training": "train", "validating": "val"}.get(marker.group(2), "test")
        match = SPEED.search(line)
        if match and phase:
            speeds[phase].append(float(match.group(2)))
    return speeds


def _auc(path: Path, score: str, label: str) -> float:
    with uproot.open(path) as f:
        tree = f[[k for k, c in f.classnames().items() if c == "TTree"][0]]
        arrays = tree.arrays([score, label], library="np")
    return float(roc_auc_score(arrays[label].astype(int), arrays[score]))


def _folder(work: Path, tool: str, model: str, run: int, runs: int) -> Path:
    """The work folder of one run of ``tool`` ("weaver" or "jetgnn"); ``_run<i>`` only with several runs."""
    return work / f"{tool}_{model}{f'_run{run}' if runs > 1 else ''}"


#: (score, label) branches of each tool's prediction file
PRED_BRANCHES = {"weaver": ("score_label_Tbqq", "label_Tbqq"), "jetgnn": ("score_Tbqq", "label_Tbqq")}


def _entries(path: str) -> int:
    with uproot.open(path) as f:
        return int(f["tree"].num_entries)


# -- weaver-core -----------------------------------------------------------------------------------------------
def weaver_side(weaver: Path, model: str, train: str, test: str, epochs: int, lr: float, work: Path,
                reuse: bool = False, device: tuple[str, ...] = ("--gpus", "")) -> dict:
    if reuse and all((work / name).exists() for name in ("train.log", "predict.log", "iotest.log", "pred.root",
                                                          "walls.json")):
        return _weaver_results(work, epochs, _entries(train), _entries(test),
                               **json.loads((work / "walls.json").read_text()))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    common = ["--data-config", str(HERE / "weaver_top.yaml"), "--network-config", str(HERE / "weaver_particlenet.py"),
              "--network-option", "variant", repr(VARIANT[model]), *device, "--batch-size", str(BATCH)]
    n_train_file = _entries(train)
    train_cmd = [str(weaver), "--data-train", train, "--data-test", test, *common,
                 "--model-prefix", str(work / "net"), "--num-epochs", str(epochs), "--optimizer", "adam",
                 "--start-lr", str(lr), "--lr-scheduler", "none", "--train-val-split", "0.8",
                 "--predict-output", str(work / "pred_in_training.root")]
    train_wall = _run(train_cmd, work / "train.log")
    predict_cmd = [str(weaver), "--predict", "--data-test", test, *common,
                   "--model-prefix", str(work / "net_best_epoch_state.pt"), "--predict-output", str(work / "pred.root")]
    predict_wall = _run(predict_cmd, work / "predict.log")
    io_cmd = [str(weaver.parent / "python"), str(HERE / "weaver_iotest.py"), "--data-train", train, *common,
              "--model-prefix", str(work / "io"), "--train-val-split", "0.8"]
    _run(io_cmd, work / "iotest.log")
    (work / "walls.json").write_text(json.dumps({"train_wall": train_wall, "predict_wall": predict_wall}))
    return _weaver_results(work, epochs, n_train_file, _entries(test), train_wall, predict_wall)


def _weaver_results(work: Path, epochs: int, n_train_file: int, n_test: int, train_wall: float,
                    predict_wall: float) -> dict:
    """weaver's numbers from its logs and the timed walls (``--reuse-weaver`` reads a finished run's)."""
    speeds = _speeds(work / "train.log")
    io = json.loads([ln for ln in (work / "iotest.log").read_text().splitlines() if ln.startswith('{"io_jets"')][-1])
    return {
        "train_loop_jets_per_s": float(np.mean(speeds["train"])),
        "train_wall_jets_per_s": epochs * int(n_train_file * 0.8) / train_wall,
        "train_wall_s": round(train_wall, 1),
        "predict_loop_jets_per_s": _speeds(work / "predict.log")["test"][-1],
        "predict_wall_jets_per_s": n_test / predict_wall,
        "predict_batch_size": BATCH,
        "loader_jets_per_s": io["io_jets"] / io["io_seconds"],
        "test_auc": _auc(work / "pred.root", *PRED_BRANCHES["weaver"]),
    }


def _combine(runs: list[dict]) -> dict:
    """One side's runs as one record: the first run's record when there is one run, else the mean of every number
    with the AUCs listed (``test_auc_runs``) and their standard deviation (``test_auc_std``)."""
    if len(runs) == 1:
        return runs[0]
    out = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
    return {**out, **_auc_spread([r["test_auc"] for r in runs])}


def _auc_spread(aucs: list[float]) -> dict:
    """The AUCs of the runs and their standard deviation (None for a single run)."""
    return {"test_auc_runs": aucs, "test_auc_std": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None}


# -- jetgnn ----------------------------------------------------------------------------------------------------
def jetgnn_side(model: str, train: str, test: str, epochs: int, lr: float, work: Path, seed: int = 0,
                extra: tuple[str, ...] = ()) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    jetgnn = str(Path(sys.executable).parent / "jetgnn")
    overrides = [f"training.lr={lr}", "training.schedule=constant", "training.warmup_epochs=0",
                 "training.weight_decay=0", "training.gradient_clip=0", "training.patience=1000",
                 f"data.batch_size={BATCH}", "data.val_fraction=0.2", f"data.graph.max_particles={N_PARTICLES}",
                 *extra]
    run = work / "run"
    train_cmd = [jetgnn, "train", str(CONFIGS[model]), "--train", train, "--out", str(run), "--epochs", str(epochs),
                 "--seed", str(seed), "-q", *overrides]
    train_wall = _run(train_cmd, work / "train.log")
    metrics = json.loads((run / "metrics.json").read_text())
    n_train = _entries(train) - int(round(0.2 * _entries(train)))
    predict_wall = _run([jetgnn, "predict", str(run), "--data", test, "--out", str(work / "pred.root")],
                        work / "predict.log")
    from jetgnn import load_tagger

    tagger = load_tagger(run)
    loader = _time_loader(tagger.config)
    scores = tagger.predict([test])
    predict_loop = tagger.last_inference_jets_per_s
    with uproot.open(test) as f:
        labels = f["tree"]["label_Tbqq"].array(library="np")
    return {
        "train_loop_jets_per_s": float(metrics["train_jets_per_s"]),
        "train_wall_jets_per_s": epochs * n_train / train_wall,
        "train_wall_s": round(train_wall, 1),
        "predict_loop_jets_per_s": predict_loop,
        "predict_wall_jets_per_s": _entries(test) / predict_wall,
        "predict_batch_size": 1024,
        "loader_jets_per_s": loader,
        "test_auc": float(roc_auc_score(labels.astype(int), scores if scores.ndim == 1 else scores[:, 1])),
    }


def _time_loader(config) -> float:
    """Jets per second from the training files to batches (the run's config): JetDataModule setup (reading,
    split, graph building) + one epoch of the training loader."""
    from jetgnn.datasets.datamodule import JetDataModule

    start = time.perf_counter()
    module = JetDataModule(config.data, seed=config.training.seed, num_workers=config.training.num_workers)
    module.setup()
    n = sum(batch.num_graphs for batch in module.train_dataloader())
    return n / (time.perf_counter() - start)


def finished_aucs(work: Path, models: list[str], runs: int) -> dict:
    """Test AUCs of the finished runs in ``work`` per model and side: the list, mean and standard deviation."""
    results = {}
    for model in models:
        sides = {}
        for side, tool in (("weaver-core", "weaver"), ("jetgnn", "jetgnn")):
            folders = [_folder(work, tool, model, run, runs) for run in range(runs)]
            missing = [str(f / "pred.root") for f in folders if not (f / "pred.root").is_file()]
            if missing:
                sys.exit(f"--finished-aucs: no finished run at {', '.join(missing)}")
            aucs = [_auc(f / "pred.root", *PRED_BRANCHES[tool]) for f in folders]
            sides[side] = {"test_auc": float(np.mean(aucs)), **_auc_spread(aucs)}
        results[model] = {**sides, "auc_difference": sides["jetgnn"]["test_auc"] - sides["weaver-core"]["test_auc"]}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--weaver", type=Path, required=True, help="the weaver executable of its own venv")
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--runs", type=int, default=1, help="trainings per side (means and AUC spread reported)")
    parser.add_argument("--jetgnn-override", action="append", default=[], metavar="KEY=VALUE",
                        help="a further jetgnn config override, e.g. training.monitor=val_auc (repeatable)")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".cache" / "peers" / "work")
    parser.add_argument("--result", default="peers", help="name of the result file in benchmarks/results/")
    parser.add_argument("--gpu", action="store_true", help="train both on the first CUDA GPU")
    parser.add_argument("--amp", action="store_true", help="with --gpu: float16 autocast on both sides")
    parser.add_argument("--finished-aucs", action="store_true",
                        help="only read the test AUCs of the finished runs in --work (no training)")
    parser.add_argument("--reuse-weaver", action="store_true",
                        help="take weaver-core's numbers from a finished run in --work (same files and settings)")
    args = parser.parse_args()
    if args.amp and not args.gpu:
        parser.error("--amp needs --gpu")
    weaver_device = ("--gpus", "0", *(["--use-amp"] if args.amp else [])) if args.gpu else ("--gpus", "")
    jetgnn_device = ["training.accelerator=gpu", *(["training.precision=16-mixed"] if args.amp else [])] \
        if args.gpu else []
    args.train, args.test = str(Path(args.train).resolve()), str(Path(args.test).resolve())
    args.work = args.work.resolve()  # (weaver runs in its work folder)
    if args.finished_aucs:
        results = finished_aucs(args.work, args.models, args.runs)
        print(json.dumps(results, indent=1))
        settings = {"epochs": args.epochs, "runs": args.runs, "jetgnn_overrides": args.jetgnn_override,
                    "test_file": Path(args.test).name, "n_test": _entries(args.test), "source": "finished runs"}
        print(f"wrote {write_result(args.result, {'settings': settings, 'results': results})}")
        return
    import torch

    from jetgnn.utils.malloc import tune_malloc

    tune_malloc()  # as the jetgnn CLI does at start-up (the loader and Tagger.predict timings run in this process)

    weaver_version = subprocess.run([str(args.weaver.parent / "python"), "-c",
                                     "import importlib.metadata as m; print(m.version('weaver-core'))"],
                                    capture_output=True, text=True, check=True).stdout.strip()
    results = {}
    for model in args.models:
        peers, ours = [], []
        for run in range(args.runs):
            peers.append(weaver_side(args.weaver.resolve(), model, args.train, args.test, args.epochs, args.lr,
                                     _folder(args.work, "weaver", model, run, args.runs), args.reuse_weaver,
                                     weaver_device))
            ours.append(jetgnn_side(model, args.train, args.test, args.epochs, args.lr,
                                    _folder(args.work, "jetgnn", model, run, args.runs), seed=run,
                                    extra=(*jetgnn_device, *args.jetgnn_override)))
        peer, our = _combine(peers), _combine(ours)
        ratios = {key: our[key] / peer[key] for key in our if key.endswith("jets_per_s")}
        results[model] = {"weaver-core": peer, "jetgnn": our, "ratio_jetgnn_over_weaver": ratios,
                          "auc_difference": our["test_auc"] - peer["test_auc"]}
        print(model, json.dumps(results[model], indent=1), flush=True)
    settings = {"epochs": args.epochs, "runs": args.runs, "jetgnn_overrides": args.jetgnn_override, "lr": args.lr,
                "batch_size": BATCH, "max_particles": N_PARTICLES,
                "optimizer": "Adam, no weight decay, constant LR, no gradient clipping",
                "train_file": Path(args.train).name, "n_train_file": _entries(args.train),
                "test_file": Path(args.test).name, "n_test": _entries(args.test),
                "torch_threads": torch.get_num_threads(), "weaver_core": weaver_version,
                "device": torch.cuda.get_device_name(0) if args.gpu else "cpu", "amp_float16": args.amp,
                "malloc_env": {k: os.environ[k] for k in os.environ if k.startswith("MALLOC_")}}
    path = write_result(args.result, {"settings": settings, "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
