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

from jetgnn.errors import InputError, MissingExtraError, OutputError, RunInterrupted
from jetgnn.generation.chunk import ChunkTiming, generate_chunk
from jetgnn.generation.detector import DETECTORS
from jetgnn.generation.recipes import RECIPES
from jetgnn.io.files import GENERATION_METADATA_KEY, open_tree, read_arrays
from jetgnn.io.schema import TREE_NAME
from jetgnn.io.writer import write_jets
from jetgnn.utils.files import atomic_path, output_file, remove_stale_temporaries
from jetgnn.version import __version__

MAX_CHUNK_SIZE = 1000
MIN_CHUNK_SIZE = 50
_MANIFEST = "manifest.json"


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
    parts = out.with_name(out.name + ".parts")
    manifest_path = parts / _MANIFEST
    if parts.exists():
        try:
            existing = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            existing = None
        if existing != manifest:
            raise InputError(
                f"{parts} holds chunks of a different generation run (not {manifest}); "
                f"remove it or choose another --out"
            )
    else:
        try:
            parts.mkdir()
        except OSError as err:
            raise OutputError(f"cannot create the chunk folder {parts}: {err.strerror or err}") from None
        with atomic_path(manifest_path) as tmp:
            Path(tmp).write_text(json.dumps(manifest))
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


def _merge(paths: list[Path], out: Path, metadata: dict | None = None) -> int:
    def chunks():
        for path in paths:
            tree = open_tree(str(path), TREE_NAME)
            names = [name for name in tree.keys() if name != "npart"]
            arrays = read_arrays(tree, str(path), names, how=dict)
            tree.file.close()
            yield arrays

    return write_jets(out, chunks(), metadata=metadata)


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
) -> GenerationReport:
    """Generate ``n_jets`` jets of ``process`` (a name of ``RECIPES``) into the ROOT file ``out``.

    detector : "none" (hadron level, the default) or "simple" (:mod:`jetgnn.generation.detector`: jets are
    clustered from fast-detector energy-flow candidates). The setting and the detector card are recorded in the
    file (:func:`jetgnn.io.generation_metadata`).

    Runs chunks on ``workers`` processes (each chunk seeded from ``seed`` and its index), shows a progress
    bar with jets/s and ETA, and resumes from ``<out>.parts/`` if an earlier run of the same command was
    killed. Raises InputError for bad arguments and MissingExtraError without ``jetgnn[generate]``.
    """
    out = validate_request(process, n_jets, out, seed, workers, chunk_size, detector)
    _check_extra()
    chunk_size = chunk_size or default_chunk_size(n_jets)
    n_chunks = math.ceil(n_jets / chunk_size)
    manifest = {"process": process, "n_jets": n_jets, "seed": seed, "chunk_size": chunk_size, "format": 1}
    if detector != "none":  # (hadron-level manifests stay as they were, so older parts folders still resume)
        manifest["detector"] = detector
    remove_stale_temporaries(out.parent, out.name)  # of a merge that was killed
    parts = _parts_dir(out, manifest)
    plan = [(i, min(chunk_size, n_jets - i * chunk_size), parts / f"chunk_{i:05d}.root") for i in range(n_chunks)]
    redone = _finished_chunks(plan)
    todo = [(process, seed, i, chunk_size, n_jets, str(path), detector) for i, _size, path in plan
            if not path.exists()]
    resumed_jets = sum(size for i, size, path in plan if path.exists())

    from tqdm import tqdm

    t_start = time.perf_counter()
    bar = tqdm(total=n_jets, initial=resumed_jets, unit="jet", desc=f"generate {process}", disable=not progress,
               dynamic_ncols=True, smoothing=0.1, mininterval=0.5)
    try:
        total = _run_chunks(todo, workers, bar.update)
    except KeyboardInterrupt:
        raise RunInterrupted(parts, True, f"finished chunks are kept in {parts}") from None
    finally:
        if all(path.exists() for _, _, path in plan):
            bar.n = bar.total
        bar.close()
    t_merge = time.perf_counter()
    card = DETECTORS[detector]
    metadata = {"process": process, "n_jets": n_jets, "seed": seed, "detector": detector,
                "detector_card": None if card is None else card.describe(), "jetgnn_version": __version__}
    n_written = _merge([path for _, _, path in plan], out, {GENERATION_METADATA_KEY: json.dumps(metadata)})
    merge_s = time.perf_counter() - t_merge
    if n_written != n_jets:  # pragma: no cover - guarded by the quotas
        raise RuntimeError(f"wrote {n_written} jets, expected {n_jets}")
    shutil.rmtree(parts)
    wall = time.perf_counter() - t_start
    timing = asdict(total)
    timing.pop("extra")
    timing["worker_total_s"] = total.total_s
    timing["merge_s"] = merge_s
    generated = n_jets - resumed_jets
    return GenerationReport(
        process=process, n_jets=n_jets, out=str(out), seed=seed, workers=workers, chunk_size=chunk_size,
        n_chunks=n_chunks, chunks_resumed=n_chunks - len(todo), wall_s=wall, chunks_redone=len(redone),
        jets_per_s=generated / wall if wall > 0 else float("nan"), timing=timing, detector=detector,
    )
