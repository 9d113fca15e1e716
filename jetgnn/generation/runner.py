"""Run ``jetgnn generate``: plan chunks, run them on worker processes, merge atomically.

Chunks are written to ``<out>.parts/chunk_NNNNN.root`` (each atomically) and merged into ``<out>`` at the
end (temporary file, then rename); the parts folder is then removed. A killed run loses at most the chunks
that were in flight; running the same command again skips the chunks already on disk.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import uproot

from jetgnn.errors import InputError, MissingExtraError, RunInterrupted
from jetgnn.generation.chunk import ChunkTiming, generate_chunk
from jetgnn.generation.detector import DETECTORS
from jetgnn.generation.recipes import RECIPES
from jetgnn.io.files import GENERATION_METADATA_KEY, open_tree, read_arrays
from jetgnn.io.schema import TREE_NAME
from jetgnn.io.writer import BASKET_JETS, DEFAULT_CODEC, compression_of, rebasket, write_jets
from jetgnn.utils.cluster import dask_client, run_on_dask, task_range
from jetgnn.utils.files import (
    claim_parts_dir,
    output_file,
    parts_folder,
    read_parts_manifest,
    remove_stale_temporaries,
)
from jetgnn.version import __version__

MAX_CHUNK_SIZE = 1000
MIN_CHUNK_SIZE = 50


@dataclass
class GenerationReport:
    """What a generation run did. Times in seconds; shares are fractions of the summed worker time."""

    process: str
    n_jets: int
    out: str
    seed: int
    workers: int
    chunk_size: int
    n_chunks: int
    chunks_resumed: int
    wall_s: float
    jets_per_s: float
    timing: dict
    chunks_redone: int = 0  # damaged or incomplete chunks of an earlier run, deleted and generated again
    detector: str = "none"
    #: chunks [start, stop) of a job-array task (``--chunks``): written into the parts folder, not merged
    chunk_range: tuple[int, int] | None = None
    chunks_done: int | None = None  # of n_chunks, in the parts folder after a ``--chunks`` task

    @property
    def pythia_share(self) -> float:
        """Fraction of worker time spent inside Pythia (initialisation and event generation)."""
        t = self.timing
        return (t["pythia_init_s"] + t["pythia_next_s"]) / max(t["worker_total_s"], 1e-12)

    def summary(self) -> str:
        t = self.timing
        total = max(t["worker_total_s"], 1e-12)
        shares = ", ".join(
            f"{label} {100 * t[key] / total:.0f}%"
            for label, key in (("Pythia init", "pythia_init_s"), ("Pythia events", "pythia_next_s"),
                               ("SlowJet clustering", "clustering_s"), ("jet selection", "selection_s"),
                               ("detector", "detector_s"), ("post-processing", "postprocess_s"),
                               ("chunk writing", "write_s"))
            if key != "detector_s" or self.detector != "none"
        )
        level = "" if self.detector == "none" else f" (detector {self.detector})"
        if self.chunk_range is not None:
            start, stop = self.chunk_range
            return (f"wrote chunks {start}:{stop} of {self.n_chunks} ({self.n_jets} {self.process} jets{level}) in "
                    f"{self.wall_s:.1f} s; {self.chunks_done} of {self.n_chunks} chunks are done in "
                    f"{Path(self.out).name}.parts; when all are: jetgnn merge {self.out}")
        return (f"wrote {self.n_jets} {self.process} jets{level} to {self.out} in {self.wall_s:.1f} s "
                f"({self.jets_per_s:.1f} jets/s on {self.workers} workers, {t['events']} events); "
                f"worker time: {shares}; Pythia total {100 * self.pythia_share:.0f}%")


def default_chunk_size(n_jets: int) -> int:
    """Chunk size from the job size alone (never from --workers, so output does not depend on it)."""
    return int(min(MAX_CHUNK_SIZE, max(MIN_CHUNK_SIZE, math.ceil(n_jets / 4))))


def _check_extra() -> None:
    try:
        import fastjet  # noqa: F401
        import pythia8mc  # noqa: F401
    except ImportError as err:
        raise MissingExtraError("generate", "pythia8mc, fastjet", "jetgnn generate") from err


def validate_request(process: str, n_jets: int, out, seed: int, workers: int, chunk_size: int | None,
                     detector: str = "none") -> Path:
    if process not in RECIPES:
        raise InputError(f"unknown process {process!r}: choose one of {', '.join(RECIPES)}")
    if detector not in DETECTORS:
        raise InputError(f"unknown --detector {detector!r}: choose one of {', '.join(DETECTORS)}")
    for name, value in (("--n-jets", n_jets), ("--workers", workers)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise InputError(f"--chunk-size must be a positive integer, got {chunk_size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed!r}")
    out = output_file(out)
    if out.suffix != ".root":
        raise InputError(f"output file {out} must end in .root")
    return out


# -- worker side ----------------------------------------------------------------------------------
_progress_queue = None


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (prctl PR_SET_PDEATHSIG), so that a kill -9 of
    ``jetgnn generate`` leaves no orphans that finish their chunk and then wait forever; elsewhere a thread
    polls the parent's pid."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG = 1
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(queue, parent: int) -> None:
    global _progress_queue
    _die_with_parent(parent)
    _progress_queue = queue
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _report(n: int) -> None:
    if _progress_queue is not None:
        _progress_queue.put(n)


def _run_chunk(args):
    task, seed, index, chunk_size, n_total, path, detector = args
    columns, timing = generate_chunk(task, seed, index, chunk_size, n_total, report=_report, detector=detector)
    t0 = time.perf_counter()
    write_jets(path, [columns], compression=uproot.ZLIB(1))  # fast; the merge recompresses
    timing.write_s = time.perf_counter() - t0
    return index, asdict(timing)


# -- main side ------------------------------------------------------------------------------------
def _parts_dir(out: Path, manifest: dict) -> Path:
    """``<out>.parts/`` with the run's manifest (:func:`jetgnn.utils.files.claim_parts_dir`)."""
    parts = parts_folder(out)
    claim_parts_dir(parts, manifest, "chunk_*.root", "generation run")
    return parts


def _finished_chunks(plan: list[tuple]) -> list[Path]:
    """Chunks of an earlier run that are complete; a damaged or short one is deleted (and redone), as are the
    temporary files that a killed run left."""
    redo = []
    for _index, size, path in plan:
        remove_stale_temporaries(path.parent, path.name)
        if not path.exists():
            continue
        try:
            tree = open_tree(str(path), TREE_NAME)
            read_arrays(tree, str(path), tree.keys(), library="np")
            ok = tree.num_entries == size
        except InputError:
            ok = False
        if not ok:
            path.unlink()
            redo.append(path)
    return redo


def _merge(paths: list[Path], out: Path, metadata: dict, compression) -> int:
    """Concatenate the chunk files into ``out``, in baskets of up to BASKET_JETS jets (fewer, larger baskets
    read faster: benchmarks/results/basket_codecs.json)."""
    def parts():
        for path in paths:
            tree = open_tree(str(path), TREE_NAME)
            names = [name for name in tree.keys() if name != "npart"]
            arrays = read_arrays(tree, str(path), names, how=dict)
            tree.file.close()
            yield arrays

    return write_jets(out, rebasket(parts(), BASKET_JETS), compression=compression, metadata=metadata)


def _run_chunks_dask(todo: list[tuple], scheduler: str, workers: int, on_progress) -> ChunkTiming:
    """Run chunk tasks on a Dask cluster (:mod:`jetgnn.utils.cluster`); progress per finished chunk."""
    total = ChunkTiming()
    if not todo:
        return total

    def done(task, result):
        _process, _seed, index, chunk_size, n_total, _path, _detector = task
        on_progress(min(chunk_size, n_total - index * chunk_size))
        total.add(ChunkTiming(**{k: v for k, v in result[1].items() if k != "extra"}))

    with dask_client(scheduler, workers, "jetgnn generate --scheduler") as client:
        run_on_dask(client, _run_chunk, todo, done, "jetgnn-generate")
    return total


def _run_chunks(todo: list[tuple], workers: int, on_progress) -> ChunkTiming:
    """Run chunk tasks on ``workers`` forked processes; ``on_progress(n_jets)`` is called from a thread.

    ProcessPoolExecutor (unlike multiprocessing.Pool) notices a worker that dies (OOM, kill) and raises
    BrokenProcessPool instead of waiting forever. The progress thread starts only after the workers have
    been forked, so no lock it holds is copied into a child.
    """
    total = ChunkTiming()
    if not todo:
        return total
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            try:
                n = queue.get(timeout=0.2)
            except Exception:  # queue.Empty
                continue
            on_progress(n)

    drainer = threading.Thread(target=drain, daemon=True)
    with ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx, initializer=_init_worker,
                             initargs=(queue, os.getpid())) as pool:
        futures = [pool.submit(_run_chunk, task) for task in todo]
        drainer.start()
        try:
            for future in as_completed(futures):
                _index, timing = future.result()
                total.add(ChunkTiming(**{k: v for k, v in timing.items() if k != "extra"}))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        finally:
            stop.set()
            drainer.join()
    return total


def generate(
    process: str,
    n_jets: int,
    out,
    seed: int = 0,
    workers: int = 1,
    chunk_size: int | None = None,
    progress: bool = True,
    detector: str = "none",
    compression: str | None = None,
    chunks: tuple[int, int] | None = None,
    scheduler: str | None = None,
) -> GenerationReport:
    """Generate ``n_jets`` jets of ``process`` (a name of ``RECIPES``) into the ROOT file ``out``.

    detector : "none" (hadron level, the default) or "simple" (:mod:`jetgnn.generation.detector`: jets are
    clustered from fast-detector energy-flow candidates). The setting and the detector card are recorded in the
    file (:func:`jetgnn.io.generation_metadata`). compression : the output's basket codec ("zstd", "lz4:4",
    "zlib:6", "lzma"; default :data:`jetgnn.io.writer.DEFAULT_CODEC`); the merged file has baskets of up to
    :data:`jetgnn.io.writer.BASKET_JETS` jets.

    chunks : (start, stop) — a job-array task: generate only chunks start..stop-1 (seeded as in a full run) into
    ``<out>.parts/`` and do not merge; :func:`merge` (``jetgnn merge OUT``) merges once every chunk is there.
    Give ``chunk_size`` explicitly then, so that every task plans the same chunks (the default depends only
    on ``n_jets``). scheduler : run the chunks on Dask — "local" (a LocalCluster of ``workers`` processes) or
    a scheduler address such as "tcp://host:8786" (the workers must see ``out``'s folder).

    Runs chunks on ``workers`` processes (each chunk seeded from ``seed`` and its index), shows a progress
    bar with jets/s and ETA, and resumes from ``<out>.parts/`` if an earlier run of the same command was
    killed. Raises InputError for bad arguments and MissingExtraError without ``jetgnn[generate]``.
    """
    out = validate_request(process, n_jets, out, seed, workers, chunk_size, detector)
    codec = compression or DEFAULT_CODEC
    compression_of(codec)  # a bad codec fails before any work
    _check_extra()
    chunk_size = chunk_size or default_chunk_size(n_jets)
    n_chunks = math.ceil(n_jets / chunk_size)
    manifest = {"process": process, "n_jets": n_jets, "seed": seed, "chunk_size": chunk_size, "format": 1}
    if detector != "none":  # (hadron-level manifests stay as they were, so older parts folders still resume)
        manifest["detector"] = detector
    remove_stale_temporaries(out.parent, out.name)  # of a merge that was killed
    chunk_range = None if chunks is None else task_range(
        chunks, n_chunks, "--chunks", f"run's {n_chunks} chunks", "; chunk i holds jets i*chunk_size onwards")
    parts = _parts_dir(out, manifest)
    plan = _plan(parts, n_jets, chunk_size)
    mine = plan if chunk_range is None else plan[chunk_range[0]:chunk_range[1]]
    redone = _finished_chunks(mine)  # (a job-array task touches only its own chunks' files)
    todo = [(process, seed, i, chunk_size, n_jets, str(path), detector) for i, _size, path in mine
            if not path.exists()]
    resumed_jets = sum(size for i, size, path in mine if path.exists())
    n_mine = sum(size for _i, size, _path in mine)

    from tqdm import tqdm

    t_start = time.perf_counter()
    bar = tqdm(total=n_mine, initial=resumed_jets, unit="jet", desc=f"generate {process}", disable=not progress,
               dynamic_ncols=True, smoothing=0.1, mininterval=0.5)
    try:
        if scheduler is None:
            total = _run_chunks(todo, workers, bar.update)
        else:
            total = _run_chunks_dask(todo, scheduler, workers, bar.update)
    except KeyboardInterrupt:
        raise RunInterrupted(parts, True, f"finished chunks are kept in {parts}") from None
    finally:
        if all(path.exists() for _, _, path in mine):
            bar.n = bar.total
        bar.close()
    merge_s = 0.0
    if chunk_range is None:
        t_merge = time.perf_counter()
        _merge_parts(manifest, parts, out, codec)
        merge_s = time.perf_counter() - t_merge
    wall = time.perf_counter() - t_start
    timing = asdict(total)
    timing.pop("extra")
    timing["worker_total_s"] = total.total_s
    timing["merge_s"] = merge_s
    generated = n_mine - resumed_jets
    return GenerationReport(
        process=process, n_jets=n_mine, out=str(out), seed=seed, workers=workers, chunk_size=chunk_size,
        n_chunks=n_chunks, chunks_resumed=len(mine) - len(todo), wall_s=wall, chunks_redone=len(redone),
        jets_per_s=generated / wall if wall > 0 else float("nan"), timing=timing, detector=detector,
        chunk_range=chunk_range,
        chunks_done=None if chunk_range is None else sum(path.exists() for _, _, path in plan),
    )


def merge(out, compression: str | None = None) -> int:
    """Merge the chunks that ``generate(..., chunks=...)`` tasks wrote into ``<out>.parts/`` into ``out``
    (``jetgnn merge OUT``); returns the jets written. One InputError names the missing chunks (as ``--chunks``
    ranges to resubmit) or a parts folder that is not there."""
    out = output_file(out)
    parts = parts_folder(out)
    manifest = read_parts_manifest(parts)
    if manifest is None:
        raise InputError(f"nothing to merge for {out}: {parts} does not hold the chunks of a jetgnn generate run "
                         f"(run `jetgnn generate ... --chunks i:j --out {out}` first)")
    codec = compression or DEFAULT_CODEC
    compression_of(codec)
    return _merge_parts(manifest, parts, out, codec)


def _plan(parts: Path, n_jets: int, chunk_size: int) -> list[tuple[int, int, Path]]:
    """(index, jets, file) of every chunk."""
    return [(i, min(chunk_size, n_jets - i * chunk_size), parts / f"chunk_{i:05d}.root")
            for i in range(math.ceil(n_jets / chunk_size))]


def _merge_parts(manifest: dict, parts: Path, out: Path, codec: str) -> int:
    """Check that every chunk of ``manifest`` is complete, merge them into ``out`` with the generation metadata,
    remove the parts folder."""
    plan = _plan(parts, manifest["n_jets"], manifest["chunk_size"])
    _finished_chunks(plan)
    missing = [i for i, _size, path in plan if not path.exists()]
    if missing:
        ranges = ", ".join(f"{a}:{b + 1}" for a, b in _runs(missing))
        raise InputError(f"cannot merge {out}: {len(missing)} of {len(plan)} chunks are missing or damaged in "
                         f"{parts} (run them with --chunks {ranges})")
    detector = manifest.get("detector", "none")
    card = DETECTORS[detector]
    metadata = {"process": manifest["process"], "n_jets": manifest["n_jets"], "seed": manifest["seed"],
                "detector": detector, "detector_card": None if card is None else card.describe(),
                "compression": codec, "jetgnn_version": __version__}
    n_written = _merge([path for _, _, path in plan], out, {GENERATION_METADATA_KEY: json.dumps(metadata)},
                       compression_of(codec))
    if n_written != manifest["n_jets"]:  # pragma: no cover - guarded by the quotas
        raise RuntimeError(f"wrote {n_written} jets, expected {manifest['n_jets']}")
    shutil.rmtree(parts)
    return n_written


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """[0, 1, 2, 5, 7, 8] -> [(0, 2), (5, 5), (7, 8)]."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(a, b) for a, b in runs]
