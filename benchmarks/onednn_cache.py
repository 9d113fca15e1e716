"""oneDNN's primitive cache both ways: GELU forward + backward on tensors of varying shape, as jets give.

    python benchmarks/onednn_cache.py [--shapes 300] [--capacity 1024]

PyTorch runs GELU on large CPU tensors through oneDNN, which compiles one kernel per shape and caches it.
jetgnn switches the cache off (``jetgnn.utils.malloc.tune_malloc``); this measures, in a fresh process per
setting (jetgnn's default, then ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=--capacity``), the time per forward + backward
on [15,000 + 37 i, 100] float32 tensors (i < --shapes; first pass over the shapes and a second pass, where a
cache could hit) and glibc's heap size and the bytes in use after it. Writes benchmarks/results/onednn_cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

CHILD = """
import json, sys, time
import torch
from jetgnn.utils.malloc import tune_malloc, _libc, _MallInfo2
tune_malloc()
info = _libc().mallinfo2
info.restype = _MallInfo2
shapes = [(15000 + 37 * i, 100) for i in range(int(sys.argv[1]))]
times = []
for _ in range(2):
    start = time.perf_counter()
    for shape in shapes:
        x = torch.randn(*shape, requires_grad=True)
        torch.nn.functional.gelu(x).sum().backward()
        del x
    times.append((time.perf_counter() - start) / len(shapes) * 1e3)
heap = info()
print(json.dumps({"ms_per_fwd_bwd_first_pass": round(times[0], 3), "ms_per_fwd_bwd_second_pass": round(times[1], 3),
                  "heap_mb": heap.arena >> 20, "heap_in_use_mb": heap.uordblks >> 20}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=300)
    parser.add_argument("--capacity", type=int, default=1024, help="cache capacity of the comparison (oneDNN's own)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if "PRIMITIVE_CACHE" not in k and k != "JETGNN_MALLOC"}
    results = {}
    for label, extra in (("jetgnn default (cache off)", {}),
                         (f"cache of {args.capacity}", {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": str(args.capacity)})):
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.shapes)], env={**env, **extra},
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr[-3000:])
        results[label] = json.loads(done.stdout.splitlines()[-1])
        print(label, results[label], flush=True)
    write_result("onednn_cache", {"shapes": args.shapes, "capacity": args.capacity, "results": results})


if __name__ == "__main__":
    main()
