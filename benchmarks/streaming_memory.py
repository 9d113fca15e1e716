"""Peak memory of training when the training data grows 10x: ``data.streaming`` vs jets held in memory.

    python benchmarks/streaming_memory.py [--file top.root] [--model pfn] [--growth 10] [--onednn-cache 1024]

Trains ``configs/top_<model>.yaml`` for one epoch on the training file listed once and listed ``--growth``
times (the same jets, so that the work per jet is identical), in a fresh process each, with validation on a
fixed 2,000-jet file, and records the peak RSS (VmHWM) of the training process and the training jets/s:
streaming (``data.streaming``: 10,000-entry units, shuffle buffers of 10,000 and 50,000 jets — memory is
bounded by the buffer, so the comparison is flat once the 1x data fill it) and, for contrast, the default
in-memory datasets at 1x and 3x. Both ways for jetgnn's memory default (jetgnn.utils.malloc): the streaming pair
with the first shuffle buffer is also run with oneDNN's primitive cache at ``--onednn-cache`` entries (1,024 is
oneDNN's own default; jetgnn switches the cache off). Writes benchmarks/results/streaming_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "benchmarks" / ".cache" / "peers" / "top_20k_seed41.root"
VAL = ROOT / "data" / "top_2k.root"
CHILD = """
import json, sys
import jetgnn
config, out, files, streaming = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
overrides = {"training.patience": 100}
if streaming:
    overrides["data.streaming"] = {"shuffle_buffer": int(sys.argv[6])}
run = jetgnn.train(config, out=out, train=files, val=[sys.argv[5]], epochs=1, progress=False, overrides=overrides)
metrics = json.loads((run / "metrics.json").read_text())
hwm = int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])
print(json.dumps({"peak_rss_mb": round(hwm / 1024), "train_jets_per_s": round(metrics["train_jets_per_s"]),
                  "n_train_jets": metrics["n_train_jets"]}))
"""


def _train(config: Path, files: list[str], streaming: bool, work: Path, buffer: int, onednn_cache: int | None = None,
           ) -> dict:
    out = work / f"{'stream' if streaming else 'memory'}_{len(files)}_{buffer}_{onednn_cache}"
    env = dict(os.environ)
    if onednn_cache is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(onednn_cache)
    done = subprocess.run([sys.executable, "-c", CHILD, str(config), str(out), json.dumps(files),
                           "1" if streaming else "0", str(VAL), str(buffer)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(DEFAULT_FILE))
    parser.add_argument("--model", default="pfn")
    parser.add_argument("--growth", type=int, default=10)
    parser.add_argument("--shuffle-buffers", type=int, nargs="+", default=[10_000, 50_000],
                        help="data.streaming.shuffle_buffer values (jets)")
    parser.add_argument("--onednn-cache", type=int, default=1024,
                        help="oneDNN primitive cache capacity of the comparison run (jetgnn's default: 0, off)")
    args = parser.parse_args()
    config = ROOT / "configs" / f"top_{args.model}.yaml"
    work = Path(tempfile.mkdtemp(prefix="jetgnn_stream_"))
    results, ratios = {}, {}
    for buffer in args.shuffle_buffers:
        for growth in (1, args.growth):
            label = f"streaming {growth}x, shuffle buffer {buffer}"
            results[label] = _train(config, [args.file] * growth, True, work, buffer)
            print(label, results[label], flush=True)
        ratios[f"shuffle buffer {buffer}"] = round(
            results[f"streaming {args.growth}x, shuffle buffer {buffer}"]["peak_rss_mb"]
            / results[f"streaming 1x, shuffle buffer {buffer}"]["peak_rss_mb"], 3)
    buffer = args.shuffle_buffers[0]
    for growth in (1, args.growth):
        label = f"streaming {growth}x, shuffle buffer {buffer}, oneDNN cache {args.onednn_cache}"
        results[label] = _train(config, [args.file] * growth, True, work, buffer, args.onednn_cache)
        print(label, results[label], flush=True)
    ratios[f"shuffle buffer {buffer}, oneDNN cache {args.onednn_cache}"] = round(
        results[f"streaming {args.growth}x, shuffle buffer {buffer}, oneDNN cache {args.onednn_cache}"]["peak_rss_mb"]
        / results[f"streaming 1x, shuffle buffer {buffer}, oneDNN cache {args.onednn_cache}"]["peak_rss_mb"], 3)
    for growth in (1, 3):
        results[f"in memory {growth}x"] = _train(config, [args.file] * growth, False, work, 0)
        print(f"in memory {growth}x", results[f"in memory {growth}x"], flush=True)
    write_result("streaming_memory", {"file": Path(args.file).name, "model": args.model, "growth": args.growth,
                                      "onednn_cache_comparison": args.onednn_cache,
                                      "results": results, "streaming_peak_rss_ratio": ratios})


if __name__ == "__main__":
    main()
