"""Single-jet latency and batched throughput of every neural tagger: PyTorch vs ONNX Runtime on the CPU.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \\
    python benchmarks/onnx_latency.py [--runs-dir benchmarks/.cache/runs] [--batch 512] [--threads 2]

Uses the trained runs ``<runs-dir>/top_20k_<model>`` and ``flavour_50k_vertexer`` where they exist (made by
benchmarks/compare_models.py and benchmarks/vertexing.py); otherwise trains the config's model for one epoch on
the bundled sample (weights do not change the timing). Each model is exported with ``jetgnn.export_onnx`` and
checked against PyTorch (largest difference recorded). Timed on ready model inputs (graph building excluded,
measured in benchmarks/graph_building.py):

* latency: one jet, median of repeated calls (ms), PyTorch eager on the graph Batch, and ONNX Runtime;
* throughput: ``--batch`` jets per call (jets/s), PyTorch on the graph Batch and ONNX Runtime on padded arrays
  (padded to the largest jet, and bucketed as ``OnnxTagger.predict`` runs them: sorted by multiplicity, buckets
  of ``BUCKET_JETS`` jets each padded to its own largest jet);
* end to end: ``Tagger.predict`` vs ``OnnxTagger.predict`` on 2,000 jets (graph building included).

Both use ``--threads`` intra-op threads. Writes benchmarks/results/onnx_latency.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.export.onnx import (  # noqa: E402
    BUCKET_JETS,
    OnnxTagger,
    check_onnx,
    export_onnx,
    onnx_inputs,
    padded_arrays,
)
from jetgnn.graphs.builder import build_graphs  # noqa: E402
from jetgnn.io.reader import read_jets  # noqa: E402
from jetgnn.utils.malloc import tune_malloc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mlp", "pfn", "efn", "particlenet_lite", "particlenet", "mpnn", "transformer", "vertexer")


def _run_dir(runs: Path, name: str, scratch: Path) -> tuple[Path, str]:
    trained = runs / ("flavour_50k_vertexer" if name == "vertexer" else f"top_20k_{name}")
    if (trained / "metrics.json").exists():
        return trained, str(trained.resolve().relative_to(ROOT)) if trained.resolve().is_relative_to(ROOT) \
            else str(trained)
    config = ROOT / "configs" / ("flavour_vertexer.yaml" if name == "vertexer" else f"top_{name}.yaml")
    data = ROOT / "data" / ("flavour_2k.root" if name == "vertexer" else "top_2k.root")
    run = jetgnn.train(config, out=scratch / name, train=[str(data)], epochs=1, progress=False,
                       overrides={"data.max_jets": 500})
    return run, f"{config.name} (1 epoch on the bundled sample)"


def median_ms(call, repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def jets_per_s(call, n_jets: int, repeats: int) -> float:
    call()
    t0 = time.perf_counter()
    for _ in range(repeats):
        call()
    return n_jets * repeats / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default=str(ROOT / "benchmarks" / ".cache" / "runs"))
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=100, help="single-jet calls per timing")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tune_malloc()  # as the CLI does
    samples = {"top": read_jets([ROOT / "data" / "top_2k.root"]),
               "flavour": read_jets([ROOT / "data" / "flavour_2k.root"])}
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for name in args.models:
            run, source = _run_dir(Path(args.runs_dir), name, scratch)
            tagger = jetgnn.load_tagger(run)
            jets = samples["flavour" if name == "vertexer" else "top"]
            t0 = time.perf_counter()
            path = export_onnx(tagger, scratch / f"{name}.onnx")
            export_s = time.perf_counter() - t0
            # kNN models can pick a different neighbour where two distances tie to float32 rounding: record how
            # many jets differ by more than 1e-5 rather than stop
            worst = check_onnx(tagger, path, jets[:500], atol=1e-2)
            session = OnnxTagger(path, threads=args.threads)
            diff = np.abs(session.predict(jets[:500]) - tagger.predict(jets[:500]))
            diff = diff.reshape(len(diff), -1).max(1)
            entry = {"run": source, "export_s": round(export_s, 1), "onnx_mb": round(path.stat().st_size / 1e6, 2),
                     "max_abs_diff_vs_pytorch": worst, "jets_checked": 500,
                     "jets_differing_above_1e-5": int((diff > 1e-5).sum())}
            for label, n, repeats in (("single_jet", 1, args.repeats), ("batch", args.batch, 5)):
                chunk = jets[:n]
                batch = build_graphs(chunk, **tagger.graph_options)
                arrays = onnx_inputs(tagger, chunk)
                timing = median_ms if n == 1 else (lambda call, r, n=n: jets_per_s(call, n, r))
                entry[label] = {"pytorch": timing(lambda b=batch, t=tagger: t.probabilities(b), repeats),
                                "onnxruntime": timing(lambda a=arrays, s=session: s.run(a), repeats),
                                "particles_axis": int(arrays["mask"].shape[1])}
            # bucketed (OnnxTagger.predict): the batch sorted by multiplicity, run in buckets of BUCKET_JETS jets
            # each padded to its own largest jet; ready inputs, as above
            chunk = jets[:args.batch]
            order = np.argsort(chunk.n_particles, kind="stable")
            wrapper_names = session.input_names
            chunk_batch = build_graphs(chunk, **tagger.graph_options)
            buckets = [padded_arrays(chunk_batch, wrapper_names, session.min_particles, order[i:i + BUCKET_JETS])
                       for i in range(0, len(order), BUCKET_JETS)]
            entry["batch"]["onnxruntime_bucketed"] = jets_per_s(lambda s=session, bs=buckets: [s.run(b) for b in bs],
                                                                args.batch, 5)
            # end to end, as a user scores jets: Tagger.predict vs OnnxTagger.predict (graph building included)
            entry["predict_2000_jets_per_s"] = {
                "pytorch": jets_per_s(lambda t=tagger, j=jets[:2000]: t.predict(j), 2000, 2),
                "onnxruntime": jets_per_s(lambda s=session, j=jets[:2000]: s.predict(j), 2000, 2)}
            single, batched = entry["single_jet"], entry["batch"]
            print(f"{name:18s} export {export_s:5.1f} s, |ORT-PT| {worst:.1e} "
                  f"({entry['jets_differing_above_1e-5']}/500 jets > 1e-5); one jet: PyTorch "
                  f"{single['pytorch']:.2f} ms, ORT {single['onnxruntime']:.2f} ms; {args.batch} jets: PyTorch "
                  f"{batched['pytorch']:,.0f} jets/s, ORT {batched['onnxruntime']:,.0f} jets/s (bucketed "
                  f"{batched['onnxruntime_bucketed']:,.0f}); predict 2000 jets: PyTorch "
                  f"{entry['predict_2000_jets_per_s']['pytorch']:,.0f}, ORT "
                  f"{entry['predict_2000_jets_per_s']['onnxruntime']:,.0f} jets/s", flush=True)
            results[name] = entry
    write_result("onnx_latency", {"command": "python benchmarks/onnx_latency.py " + " ".join(sys.argv[1:]),
                                  "threads": args.threads, "batch": args.batch,
                                  "units": {"single_jet": "ms (median)", "batch": "jets/s"}, "results": results})


if __name__ == "__main__":
    main()
