"""Reading speed per compression codec and basket size: which default ``jetgnn generate`` writes.

    python benchmarks/basket_codecs.py [FILE] [--repeats 3]

Rewrites the jets of FILE (default: a 20k-jet generated top file, made if missing) with ZLIB, LZ4, ZSTD and LZMA
at jetgnn's levels, in baskets of 1,000 jets (one generation chunk, as before) and 10,000 jets, and measures the
file size, the writing time and ``jetgnn.read_jets`` (all branches, decompression threads as shipped) — best of
``--repeats``, each read in a fresh process so that the page cache is warm but no Python object is reused.
Writes benchmarks/results/basket_codecs.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

from jetgnn.io import writer  # noqa: E402
from jetgnn.io.reader import read_jets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "benchmarks" / ".cache" / "top_20k_seed7.root"
CODECS = ("zlib:1", "zlib:6", "lz4:4", "zstd:5", "lzma:6")
BASKETS = (1000, 10000)
READ = ("import sys, time; from jetgnn.io.reader import read_jets; t = time.perf_counter(); "
        "n = len(read_jets(sys.argv[1])); print(n / (time.perf_counter() - t))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT_FILE))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source = Path(args.file)
    if not source.exists():
        subprocess.run([str(Path(sys.executable).parent / "jetgnn"), "generate", "top", "--n-jets", "20000",
                        "--seed", "7", "--workers", "2", "--out", str(source)], check=True)
    columns = read_jets(str(source)).columns()
    n = len(next(iter(columns.values())))
    work = Path(tempfile.mkdtemp(prefix="jetgnn_codecs_"))
    results = {}
    for codec in CODECS:
        for basket in BASKETS:
            path = work / f"{codec.replace(':', '')}_{basket}.root"
            chunks = ({k: v[i:i + basket] for k, v in columns.items()} for i in range(0, n, basket))
            start = time.perf_counter()
            writer.write_jets(path, chunks, compression=writer.compression_of(codec))
            write_s = time.perf_counter() - start
            speeds = [float(subprocess.run([sys.executable, "-c", READ, str(path)], capture_output=True, text=True,
                                           check=True).stdout.split()[-1]) for _ in range(args.repeats)]
            results[f"{codec}, baskets of {basket}"] = {
                "codec": codec, "basket_jets": basket, "file_MB": round(path.stat().st_size / 1e6, 2),
                "write_s": round(write_s, 2), "read_jets_per_s": round(max(speeds))}
            print(f"{codec:8s} {basket:6d}  {results[f'{codec}, baskets of {basket}']}", flush=True)
    write_result("basket_codecs", {"file": source.name, "n_jets": n, "repeats": args.repeats, "results": results})


if __name__ == "__main__":
    main()
