"""The ``jetgnn`` command line (SPEC §4).

Every failure on bad input is one line on stderr naming what is at fault, with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from jetgnn.errors import JetGNNError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line (no usage block) with exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _cmd_generate(args) -> int:
    from jetgnn.generation import generate

    report = generate(args.process, args.n_jets, args.out, seed=args.seed, workers=args.workers,
                      chunk_size=args.chunk_size, progress=not args.quiet, detector=args.detector,
                      compression=args.compression, chunks=args.chunks, scheduler=args.scheduler)
    print(report.summary(), file=sys.stderr)
    return 0


def _report_metrics(run_dir) -> None:
    """Print a training's metrics.json; under DDP only rank 0 does (the other ranks return before it exists)."""
    import os

    if int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) == 0:
        _print_metrics(run_dir / "metrics.json")


def _read_config_first(path) -> None:
    """A missing or unreadable config file (or bad YAML) fails before the training stack is imported (~8 s)."""
    from jetgnn.utils.config import read_yaml

    read_yaml(path, "config")


def _cmd_train(args) -> int:
    _read_config_first(args.config)
    from jetgnn.workflows import train

    run_dir = train(args.config, out=args.out, train=args.train, val=args.val, epochs=args.epochs, seed=args.seed,
                    resume=args.resume, overrides=args.overrides, progress=not args.quiet, mapping=args.mapping)
    _report_metrics(run_dir)
    return 0


def _cmd_pretrain(args) -> int:
    _read_config_first(args.config)
    from jetgnn.pretraining import pretrain

    run_dir = pretrain(args.config, out=args.out, data=args.data, epochs=args.epochs, seed=args.seed,
                       resume=args.resume, overrides=args.overrides, progress=not args.quiet)
    _report_metrics(run_dir)
    return 0


def _cmd_anomaly_train(args) -> int:
    _read_config_first(args.config)
    from jetgnn.anomaly import train_anomaly

    run_dir = train_anomaly(args.config, out=args.out, train=args.train, val=args.val, epochs=args.epochs,
                            seed=args.seed, resume=args.resume, overrides=args.overrides, progress=not args.quiet)
    _report_metrics(run_dir)
    return 0


def _cmd_anomaly_decorrelate(args) -> int:
    from pathlib import Path

    from jetgnn.anomaly import decorrelate_anomaly

    fitted = decorrelate_anomaly(args.run_dir, args.background, neighbours=args.neighbours, mapping=args.mapping)
    print(f"fitted the mass map of {args.run_dir} on {len(fitted.mass)} background jets (windows of "
          f"{fitted.neighbours}; mass {fitted.mass[0]:.1f}-{fitted.mass[-1]:.1f} GeV): "
          f"{Path(args.run_dir) / 'mass_decorrelation.json'}; its anomaly_score is now F(score | mass)")
    return 0


def _cmd_anomaly_evaluate(args) -> int:
    from pathlib import Path

    from jetgnn.anomaly import evaluate_anomaly

    evaluate_anomaly(args.run_dir, args.background, args.signal, out=args.out, mapping=args.mapping)
    _print_metrics(Path(args.out or Path(args.run_dir) / "evaluation") / "metrics.json")
    return 0


def _cmd_benchmark(args) -> int:
    _read_config_first(args.config)
    from jetgnn.benchmarking import run_benchmark

    out = run_benchmark(args.config, args.out, train=args.train, test=args.test, seeds=args.seeds, jobs=args.jobs,
                        log=lambda line: print(line, file=sys.stderr, flush=True))
    print((out / "results.md").read_text())
    return 0


def _print_metrics(path) -> None:
    import json

    metrics = json.loads(path.read_text())
    keys = ("auc", "sic_max", "signal_efficiency_at_bkg_1e-2", "signal_efficiency_at_bkg_1e-3",
            "mass_jsd_at_bkg_1e-2", "mass_jsd_floor_at_bkg_1e-2", "val_score_mean", "accuracy", "rejection_at_30",
            "rejection_at_50", "auc_b_vs_light", "auc_b_vs_c",
            "rejection_light_at_70", "rejection_c_at_70", "vertex_efficiency", "vertex_purity",
            "track_origin_accuracy", "val_loss", "alignment", "uniformity", "n_jets", "n_params", "n_nonzero_params",
            "weight_sparsity", "macs_per_jet", "bops_per_jet", "train_time_s", "train_jets_per_s",
            "inference_jets_per_s")
    if metrics.get("auc", 0) is None:  # jets of one class: score summaries instead of AUC
        keys = (*keys, *(k for k in metrics if k.startswith(("n_", "score_", "efficiency_")) and k not in keys))
    keys = (*keys[:1], *(k for k in metrics if k.endswith("_vs_rest")), *keys[1:])  # multiclass: every class
    print(f"{path}:")
    for key in keys:
        if metrics.get(key) is not None:
            value = metrics[key]
            print(f"  {key:29s} {value:.4g}" if isinstance(value, float) else f"  {key:29s} {value}")


def _cmd_export_hls4ml(args) -> int:
    from pathlib import Path

    import numpy as np

    from jetgnn.errors import InputError
    from jetgnn.export.hls4ml import export_hls4ml, firmware_inputs
    from jetgnn.io.files import expand_paths
    from jetgnn.io.reader import read_jets
    from jetgnn.tagger import load_tagger

    if args.out is None:
        raise InputError("--format hls4ml needs --out DIR (the new hls4ml project folder)")
    if args.quantize or args.calibration:
        raise InputError("--quantize / --calibration are for --format onnx (train with model.quantization for "
                         "quantised firmware)")
    tagger = load_tagger(args.run_dir)
    check_files = expand_paths(args.check) if args.check else None
    result = export_hls4ml(tagger, Path(args.out), precision=args.precision)
    kind = (("quantisation-aware" + (" (QONNX)" if (result.out / "model.qonnx").exists() else ""))
            if result.quantized else f"float, weights and activations {args.precision}")
    print(f"wrote the hls4ml project {result.out} ({kind}); C++ emulation "
          f"{'compiled' if result.compiled else 'not compiled (no g++ on the PATH)'}")
    if check_files and result.compiled:
        jets = read_jets(check_files, mapping=tagger.mapping if args.mapping is None else args.mapping,
                         entry_stop=args.check_jets)
        inputs = firmware_inputs(tagger, jets)
        if result.label_names is None:  # the anomaly model: its clipped-KL score (the network's, without a mass map)
            emulated, reference = result.anomaly_score(inputs), tagger.anomaly_score(jets, decorrelated=False)
            cut = np.quantile(reference, 0.99)
            same = float(np.mean((emulated > cut) == (reference > cut)))
            print(f"hls4ml emulation vs PyTorch on {len(jets)} jets: largest score difference "
                  f"{np.abs(emulated - reference).max():.3g}; same decision at the 1% threshold for {100 * same:.2f}%")
            return 0
        emulated, reference = result.predict_proba(inputs), tagger.predict_proba(jets)
        agreement = float(np.mean(emulated.argmax(1) == reference.argmax(1)))
        print(f"hls4ml emulation vs PyTorch on {len(jets)} jets: same class for {100 * agreement:.2f}%, largest "
              f"probability difference {np.abs(emulated - reference).max():.3g}")
    return 0


def _cmd_export(args) -> int:
    from pathlib import Path

    from jetgnn.errors import MissingExtraError

    if args.format == "hls4ml":
        return _cmd_export_hls4ml(args)

    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise MissingExtraError("export", "onnx, onnxscript, onnxruntime", "jetgnn export") from err
    from jetgnn.errors import InputError
    from jetgnn.export.onnx import OnnxTagger, check_onnx, compare_onnx, export_onnx, onnx_inputs
    from jetgnn.io.files import expand_paths
    from jetgnn.io.reader import read_jets
    from jetgnn.tagger import load_tagger
    from jetgnn.utils.files import output_file

    if args.calibration and args.quantize != "static":
        raise InputError("--calibration is for --quantize static")
    tagger = load_tagger(args.run_dir)
    default_name = "model.onnx" if args.quantize is None else f"model_int8_{args.quantize}.onnx"
    out = output_file(Path(args.out) if args.out else Path(args.run_dir) / default_name, "ONNX file")
    check_files = expand_paths(args.check) if args.check else None  # before anything is written
    mapping = tagger.mapping if args.mapping is None else args.mapping
    calibration = None  # export_onnx refuses --quantize static without it
    if args.calibration:
        calibration = read_jets(expand_paths(args.calibration), mapping=mapping, entry_stop=args.calibration_jets)
    export_onnx(tagger, out, quantize=args.quantize, calibration_jets=calibration)
    precision = "" if args.quantize is None else f", int8 {args.quantize}" + (
        f" calibrated on {len(calibration)} jets" if calibration is not None else "")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB{precision}); inputs {OnnxTagger(out).input_names}")
    if args.check and args.quantize is not None:
        jets = read_jets(check_files, mapping=mapping, entry_stop=args.check_jets)
        result = compare_onnx(tagger, out, jets)
        print(f"int8 ONNX Runtime vs fp32 PyTorch on {len(jets)} jets: largest probability difference "
              f"{result['max_abs_difference']:.3g}, same decision for {100 * result['decision_agreement']:.2f}% "
              f"of the jets")
    elif args.check:
        jets = read_jets(check_files, mapping=mapping, entry_stop=args.check_jets)
        worst = check_onnx(tagger, out, jets, atol=args.atol)
        padded = "" if tagger.label_names is None else \
            f" (padded to {onnx_inputs(tagger, jets)['mask'].shape[1]} particles)"
        relative = " relative to max(1, |score|)" if tagger.label_names is None else ""
        print(f"ONNX Runtime vs PyTorch on {len(jets)} jets{padded}: largest difference {worst:.2g}{relative} "
              f"(tolerance {args.atol:g})")
    return 0


def _cmd_evaluate(args) -> int:
    from pathlib import Path

    from jetgnn.evaluation.evaluate import default_evaluation_dir, evaluate_run

    metrics = evaluate_run(args.run_dir, args.data, out=args.out, mapping=args.mapping)
    _print_metrics(Path(args.out or default_evaluation_dir(args.run_dir)) / "metrics.json")
    if metrics.get("note"):
        print(f"note: {metrics['note']}", file=sys.stderr)
    return 0


def _cmd_predict(args) -> int:
    from jetgnn.evaluation.predict import predict_to_root

    if args.scheduler is None and args.files is None:
        report = predict_to_root(args.run_dir, args.data, args.out, mapping=args.mapping)
    else:
        from jetgnn.evaluation.predict import predict_parts

        report = predict_parts(args.run_dir, args.data, args.out, mapping=args.mapping, scheduler=args.scheduler,
                               workers=args.workers, files=args.files)
        if report is None:
            start, stop = args.files
            print(f"scored input files {start}:{stop} into {args.out}.parts; when all are: jetgnn merge {args.out}",
                  file=sys.stderr)
            return 0
    print(f"wrote scores of {report.n_jets} jets ({report.n_entries} entries) to {args.out}", file=sys.stderr)
    if report.warning():
        print(f"jetgnn predict: warning: {report.warning()}", file=sys.stderr)
    return 0


def _cmd_merge(args) -> int:
    from jetgnn.evaluation.predict import PARTS_KIND
    from jetgnn.utils.files import parts_folder, read_parts_manifest

    out = args.out
    manifest = read_parts_manifest(parts_folder(out)) or {}
    if manifest.get("kind") == PARTS_KIND:
        from jetgnn.evaluation.predict import merge_predictions

        report = merge_predictions(out)
        print(f"merged scores of {report.n_jets} jets ({report.n_entries} entries) into {out}", file=sys.stderr)
        return 0
    from jetgnn.generation import merge

    n = merge(out, compression=args.compression)
    print(f"merged {n} jets into {out}", file=sys.stderr)
    return 0


def _add_scheduler_option(parser, what: str) -> None:
    parser.add_argument("--scheduler", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help=f"run {what} on Dask: a scheduler address (tcp://host:8786), or a LocalCluster of "
                             f"--workers processes without one (needs jetgnn[scaleout])")


def _range(text: str) -> tuple[int, int]:
    """"i:j" -> (i, j) for --chunks / --files."""
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(stop)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected start:stop (e.g. 0:10), got {text!r}") from None


def _cmd_summary(args) -> int:
    from jetgnn.summary import summarize_files

    print(summarize_files(args.files))
    return 0


def _looks_like_override(text: str) -> bool:
    from pathlib import Path

    return "=" in text and not text.startswith("-") and not Path(text).exists()


def _add_run_options(parser, default_out: str, example: str) -> None:
    """Options shared by the commands that train (train, pretrain)."""
    parser.add_argument("--out", default=None, help=f"run directory (default {default_out})")
    parser.add_argument("--epochs", type=_positive_int, default=None)
    parser.add_argument("--seed", type=_non_negative_int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from checkpoints/last.ckpt")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", help=f"key=value overrides, e.g. {example}")


def _add_mapping_option(parser, default: str, what: str = "the input files") -> None:
    from jetgnn.io.presets import PRESETS

    parser.add_argument("--mapping", default=None, metavar="NAME_OR_YAML",
                        help=f"how to read {what}: a preset ({', '.join(PRESETS)}) or a mapping YAML "
                             f"(default: {default})")


def build_parser() -> argparse.ArgumentParser:
    from jetgnn.version import __version__

    parser = _Parser(prog="jetgnn", description="Graph-neural-network jet tagging on ROOT files.")
    parser.add_argument("--version", action="version", version=f"jetgnn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.required = True

    gen = sub.add_parser("generate", help="generate jets with Pythia8 + FastJet into a ROOT file (jetclass schema)",
                         description="Generate jets with Pythia8 + FastJet (SPEC §3) into a jetclass-schema ROOT file.")
    gen.add_argument("process", metavar="{qg,top,flavour,darkjet,multiclass}",
                     help="qg: quark/gluon (R=0.4, 500-550 GeV); top: top vs QCD (R=0.8, 550-650 GeV); "
                          "flavour: b/c/light tracks with vertex truth (R=0.4, 20-250 GeV); darkjet: semi-visible "
                          "dark-shower jets vs QCD (Hidden Valley, R=0.8, 550-650 GeV); multiclass: g/q/W/Z/t jets "
                          "at ~1 TeV (hls4ml/JetNet-like, R=0.8, with the 16 hls4ml jet features)")
    gen.add_argument("--n-jets", type=int, required=True, help="number of jets to write (classes balanced)")
    gen.add_argument("--out", required=True, help="output .root file (written atomically)")
    gen.add_argument("--seed", type=_non_negative_int, default=0, help="base random seed (default 0)")
    gen.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    gen.add_argument("--chunk-size", type=_positive_int, default=None,
                     help="jets per chunk (default: n_jets/4 within [50, 1000]); a killed run resumes per chunk")
    gen.add_argument("--detector", choices=("none", "simple"), default="none",
                     help="none: hadron level (default); simple: a parametrised fast detector (tracker, ECAL/HCAL "
                          "towers, energy flow; jetgnn.generation.detector) applied before jet clustering")
    gen.add_argument("--compression", default=None, metavar="CODEC[:LEVEL]",
                     help="basket compression of the output: zstd, lz4, zlib or lzma, optionally with a level "
                          "(default: jetgnn.io.writer.DEFAULT_CODEC; see benchmarks/results/basket_codecs.json)")
    gen.add_argument("--chunks", type=_range, default=None, metavar="START:STOP",
                     help="job-array task: generate only chunks START..STOP-1 into OUT.parts/ (no merge; give "
                          "--chunk-size), then `jetgnn merge OUT`")
    _add_scheduler_option(gen, "the chunks")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(func=_cmd_generate)

    mg = sub.add_parser("merge", help="merge the parts of `generate --chunks` or `predict --files` tasks",
                        description="Merge OUT.parts/ (written by job-array tasks of jetgnn generate --chunks or "
                                    "jetgnn predict --files) into OUT, atomically, once every part is there.")
    mg.add_argument("out", help="the --out of the tasks")
    mg.add_argument("--compression", default=None, metavar="CODEC[:LEVEL]",
                    help="generated files: basket compression (default as jetgnn generate)")
    mg.set_defaults(func=_cmd_merge)

    tr = sub.add_parser("train", help="train a tagger from a YAML config (SPEC §4, §5)")
    tr.add_argument("config", help="YAML config (see configs/)")
    tr.add_argument("--train", nargs="+", default=None, help="training ROOT files or globs (overrides data.train)")
    tr.add_argument("--val", nargs="+", default=None, help="validation files (default: a split of --train)")
    _add_mapping_option(tr, "data.mapping")
    _add_run_options(tr, "runs/<task>_<model>", "training.lr=3e-4 model.params.k=8")
    tr.set_defaults(func=_cmd_train)

    pt = sub.add_parser("pretrain", help="JetCLR contrastive pre-training of an encoder on unlabelled jets",
                        description="JetCLR: train an encoder with NT-Xent on augmented views of unlabelled jets. "
                                    "Use the run as model.encoder in a jetgnn train config.")
    pt.add_argument("config", help="YAML config (see configs/jetclr_*.yaml)")
    pt.add_argument("--data", nargs="+", default=None, help="ROOT files or globs (overrides data.train)")
    _add_run_options(pt, "runs/jetclr_<task>", "pretraining.temperature=0.2")
    pt.set_defaults(func=_cmd_pretrain)

    an = sub.add_parser("anomaly", help="unsupervised anomaly detection: train on background, evaluate vs signal",
                        description="Anomaly models (ae, vae, nae, graph_ae; configs/anomaly_*.yaml) trained on "
                                    "background jets only.")
    an_sub = an.add_subparsers(dest="anomaly_command", parser_class=_Parser, metavar="COMMAND")
    an_sub.required = True
    at = an_sub.add_parser("train", help="train an anomaly model on background jets")
    at.add_argument("config", help="YAML config (see configs/anomaly_*.yaml)")
    at.add_argument("--train", nargs="+", default=None,
                    help="background ROOT files or globs (overrides data.train; labelled files give their "
                         "anomaly.background jets)")
    at.add_argument("--val", nargs="+", default=None, help="validation files (default: a split of --train)")
    _add_run_options(at, "runs/anomaly_<model>", "model.params.latent=16 anomaly.background=[QCD]")
    at.set_defaults(func=_cmd_anomaly_train)
    ae = an_sub.add_parser("evaluate", help="AUC, SIC, signal efficiencies and mass sculpting of an anomaly run")
    ae.add_argument("run_dir")
    ae.add_argument("--background", nargs="+", required=True, help="background ROOT files or globs")
    ae.add_argument("--signal", nargs="+", required=True,
                    help="signal files (labelled files give their jets of other classes than the background)")
    ae.add_argument("--out", default=None, help="folder for metrics.json and plots (default: RUN_DIR/evaluation)")
    _add_mapping_option(ae, "the training mapping")
    ae.set_defaults(func=_cmd_anomaly_evaluate)
    ad = an_sub.add_parser("decorrelate", help="fit a mass-decorrelated score (the score's background CDF at the "
                                               "jet's mass) into an anomaly run",
                           description="Fit the mass map of RUN_DIR on background jets (use other jets than the "
                                       "ones you evaluate on): afterwards anomaly_score, predict, anomaly evaluate "
                                       "and export give F(score | mass). Delete RUN_DIR/mass_decorrelation.json "
                                       "to undo.")
    ad.add_argument("run_dir")
    ad.add_argument("--background", nargs="+", required=True, help="background ROOT files or globs")
    ad.add_argument("--neighbours", type=int, default=1000,
                    help="background jets in each mass window (default 1000; more: smoother, less local)")
    _add_mapping_option(ad, "the training mapping")
    ad.set_defaults(func=_cmd_anomaly_decorrelate)

    be = sub.add_parser("benchmark", help="train several taggers with several seeds on one split and compare them",
                        description="Train the models of a benchmark config (see configs/benchmark_*.yaml) with "
                                    "--seeds seeds each on one split; write results.json, results.md and plots.")
    be.add_argument("config", help="benchmark YAML (models, data, seeds, overrides, size_scan)")
    be.add_argument("--train", nargs="+", default=None, help="training files (overrides data.train)")
    be.add_argument("--test", nargs="+", default=None, help="test files (default: the common validation split)")
    be.add_argument("--seeds", type=_positive_int, default=None, help="trainings per model (overrides seeds)")
    be.add_argument("--out", required=True, help="output folder (runs/, results.json, results.md, plots)")
    be.add_argument("--jobs", type=_positive_int, default=1,
                    help="trainings run at once in separate processes, sharing the cores (and GPU) (default 1)")
    be.set_defaults(func=_cmd_benchmark)

    ev = sub.add_parser("evaluate", help="metrics and plots of a trained tagger on any data")
    ev.add_argument("run_dir")
    ev.add_argument("--data", nargs="+", required=True, help="ROOT files or globs")
    ev.add_argument("--out", default=None,
                    help="folder for metrics.json and plots (default: RUN_DIR/evaluation; the training "
                         "metrics.json stays)")
    _add_mapping_option(ev, "the training mapping")
    ev.set_defaults(func=_cmd_evaluate)

    pr = sub.add_parser("predict", help="write per-jet scores, kinematics and labels to a ROOT file")
    pr.add_argument("run_dir")
    pr.add_argument("--data", nargs="+", required=True, help="ROOT files or globs")
    pr.add_argument("--out", required=True, help="output .root file")
    _add_mapping_option(pr, "the training mapping")
    pr.add_argument("--files", type=_range, default=None, metavar="START:STOP",
                    help="job-array task: score only input files START..STOP-1 into OUT.parts/, then "
                         "`jetgnn merge OUT`")
    _add_scheduler_option(pr, "the input files (one task per file)")
    pr.add_argument("--workers", type=_positive_int, default=2, help="LocalCluster workers (default 2)")
    pr.set_defaults(func=_cmd_predict)

    ex = sub.add_parser("export", help="export a trained neural tagger to ONNX (dynamic jet and particle axes)")
    ex.add_argument("run_dir")
    ex.add_argument("--format", choices=["onnx", "hls4ml"], default="onnx",
                    help="onnx, or hls4ml: the FPGA project of an mlp trigger tagger, a pfn on its max_particles "
                         "slots, or a feature_vae anomaly model, with its C++ emulation")
    ex.add_argument("--precision", default="fixed<16,6>",
                    help="hls4ml: fixed-point type of a float network's weights and activations (post-training; "
                         "a quantisation-aware one keeps its own)")
    ex.add_argument("--out", default=None, help="output .onnx file (default: RUN_DIR/model.onnx)")
    ex.add_argument("--check", nargs="+", default=None,
                    help="ROOT files: compare ONNX Runtime with PyTorch on their jets (error above --atol)")
    ex.add_argument("--check-jets", type=_positive_int, default=1000, help="jets read for --check (default 1000)")
    ex.add_argument("--atol", type=float, default=1e-5,
                    help="largest allowed difference for --check (1e-5; for anomaly scores relative to "
                         "max(1, |score|))")
    ex.add_argument("--quantize", choices=("dynamic", "static"), default=None,
                    help="write an int8 model: dynamic (int8 weights) or static (int8 weights and activations, QDQ, "
                         "calibrated on --calibration jets); --check then reports the differences")
    ex.add_argument("--calibration", nargs="+", default=None, help="ROOT files of jets for --quantize static")
    ex.add_argument("--calibration-jets", type=_positive_int, default=2000,
                    help="jets read for the calibration (default 2000)")
    _add_mapping_option(ex, "the training mapping", "the --check files")
    ex.set_defaults(func=_cmd_export)

    summ = sub.add_parser("summary", help="print a summary table of jetclass ROOT files")
    summ.add_argument("files", nargs="+", help="ROOT files or globs")
    summ.set_defaults(func=_cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command in ("train", "pretrain") or getattr(args, "anomaly_command", None) == "train":
        # key=value overrides may come after the options too
        args.overrides = [*args.overrides, *(e for e in extra if "=" in e and not e.startswith("-"))]
        extra = [e for e in extra if not ("=" in e and not e.startswith("-"))]
        for option in ("train", "val", "data"):  # ... or right after a file list (--train a.root key=value)
            values = getattr(args, option, None)
            if values:
                overrides = [v for v in values if _looks_like_override(v)]
                setattr(args, option, [v for v in values if not _looks_like_override(v)] or None)
                args.overrides = [*args.overrides, *overrides]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from jetgnn.utils.malloc import tune_malloc

    tune_malloc()  # glibc keeps freed tensors for reuse (faster training); JETGNN_MALLOC=default opts out
    try:
        return args.func(args)
    except JetGNNError as err:
        print(f"jetgnn {_command(args)}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # the file system refused (full disk, read-only, permissions) past the early checks
        from jetgnn.utils.files import describe_os_error

        print(f"jetgnn {_command(args)}: error: {describe_os_error(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as err:
        print(f"jetgnn {_command(args)}: {_interrupted(args, err)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _command(args) -> str:
    """The command's name in messages ("train", "anomaly train")."""
    sub = getattr(args, "anomaly_command", None)
    return f"{args.command} {sub}" if sub else args.command


def _interrupted(args, err: KeyboardInterrupt) -> str:
    """What Ctrl-C left behind and the command that continues."""
    from jetgnn.errors import RunInterrupted

    if not isinstance(err, RunInterrupted):
        return "interrupted"
    if not err.resumable:
        return f"interrupted {err.detail}"
    if args.command in ("train", "pretrain") or getattr(args, "anomaly_command", None) == "train":
        files = [part for option in ("train", "val", "data") if getattr(args, option, None)
                 for part in (f"--{option}", *getattr(args, option))]
        again = " ".join(["jetgnn", _command(args), args.config, *files, "--out", str(err.path), "--resume",
                          *(["--epochs", str(args.epochs)] if args.epochs else []),
                          *(["--seed", str(args.seed)] if args.seed is not None else []), *args.overrides])
        return f"interrupted; {err.detail}; resume with: {again}"
    return f"interrupted; {err.detail}; rerun the same command to resume"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
