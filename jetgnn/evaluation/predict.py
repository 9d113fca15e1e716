"""``jetgnn predict``: per-jet scores as a new ROOT file that also carries jet kinematics and labels."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from jetgnn.errors import InputError
from jetgnn.io.files import expand_paths
from jetgnn.io.jets import check_classes
from jetgnn.io.mapping import load_mapping
from jetgnn.io.reader import iter_event_chunks, iter_jets
from jetgnn.io.schema import ORIGIN_CLASSES
from jetgnn.io.writer import write_jets, write_tree
from jetgnn.tagger import load_tagger
from jetgnn.utils.cluster import dask_client, run_on_dask, task_range
from jetgnn.utils.files import atomic_path, claim_parts_dir, output_file, parts_folder, read_parts_manifest

#: per-jet fields copied next to the scores when the input has them
CARRIED = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_mass", "jet_nparticles", "jet_sdmass", "jet_label")


def _track_columns(jets, tracks: dict) -> dict:
    columns = {"part_pred_origin": tracks["origin"], "part_pred_vtx": tracks["vertex"]}
    for k, name in ORIGIN_CLASSES.items():
        columns[f"part_score_origin_{name}"] = tracks["origin_probs"][:, :, k]
    for field in ("part_origin", "part_vtx_idx"):
        if field in jets:
            columns[field] = jets[field]
    return columns


@dataclass
class PredictionReport:
    """What ``jetgnn predict`` wrote: entries (jets, or events of an event-level input), jets scored and how many
    of them lie outside the tagger's training ranges (``in_training_range`` 0)."""

    n_entries: int
    n_jets: int
    n_outside: int
    ranges: dict = dataclasses.field(default_factory=dict)

    def warning(self) -> str | None:
        if not self.n_outside:
            return None
        spans = ", ".join(f"{name} {low:.4g}-{high:.4g}" for name, (low, high) in self.ranges.items())
        return (f"{self.n_outside} of {self.n_jets} jets lie outside the training ranges (0.1-99.9% quantiles: "
                f"{spans}); their scores are flagged in_training_range = 0")


def predict_to_root(run_dir, data, out, step_size: int = 10_000, mapping=None) -> PredictionReport:
    """Score every jet of ``data`` with the run's best tagger and write ``out``; returns a PredictionReport.

    Every jet gets ``in_training_range`` (1 if its pT, mass, |η| and multiplicity lie inside the 0.1-99.9%
    quantiles of the training jets, recorded in the checkpoint).

    ``mapping`` reads ``data`` (preset name, YAML, dict; default the training mapping). Jet-level inputs give one
    entry per jet (tree ``tree``): ``score_<class>`` (probability of each class; ``anomaly_score`` for anomaly
    models), the CARRIED jet fields present
    in the input and the one-hot ``label_<class>`` branches when labels exist. For multitask taggers (the
    vertexer), also jagged per-track branches in the order of the input tracks: ``part_pred_origin`` (predicted
    origin class, SPEC §2), ``part_score_origin_<class>`` (its probabilities), ``part_pred_vtx`` (reconstructed
    vertex id: 0 primary group, 1, 2, ... others), next to the truth ``part_origin`` / ``part_vtx_idx`` when the
    input has them. Tracks beyond the training ``max_particles`` get -1 (and NaN scores).

    Event-level inputs (a mapping with ``jets.collection``, e.g. ``cms-pfnano``) give one entry per input event, a
    friend tree of the input (tree ``Friends``): ``event_index`` and, per jet of the collection ``C`` in its input
    order, ``C_score_<class>`` (NaN for jets outside ``jets.selection``), ``C_selected`` and ``C_jet_index``, with
    the counter ``nC``.
    """
    paths = expand_paths(data)
    out = output_file(out, "output file", inputs=paths)
    tagger = load_tagger(run_dir)
    names = tagger.label_names
    mapping = load_mapping(tagger.mapping if mapping is None else mapping)
    counts = {"jets": 0, "outside": 0}
    if mapping is not None and mapping.event_level:
        n = write_tree(Path(out), _event_payloads(tagger, paths, mapping, names, step_size, counts), FRIEND_TREE)
        return PredictionReport(n, counts["jets"], counts["outside"], tagger.input_ranges)

    def chunks():
        for path in paths:
            for jets in iter_jets(path, step_size=step_size, mapping=mapping):
                if names is not None:
                    check_classes(jets.label_names, names, path, "the tagger's training data")
                if len(jets):
                    columns = _columns(tagger, jets, names)
                    counts["jets"] += len(jets)
                    counts["outside"] += int((columns["in_training_range"] == 0).sum())
                    yield columns

    n = write_jets(Path(out), chunks())
    return PredictionReport(n, counts["jets"], counts["outside"], tagger.input_ranges)


#: tree of ``jetgnn predict`` on event-level inputs (a friend of the input's event tree)
FRIEND_TREE = "Friends"


def _event_payloads(tagger, paths, mapping, names: list[str], step_size: int, counts: dict):
    """Per-event payloads of every file: scores aligned with the input jet collection."""
    collection = mapping.jet_collection
    for path in paths:
        for start, jets, per_event in iter_event_chunks(path, step_size, mapping):
            stop = start + len(per_event)
            if names is not None:
                check_classes(jets.label_names, names, path, "the tagger's training data")
            total = int(per_event.sum())
            position = np.zeros(len(per_event), dtype=np.int64)
            position[1:] = np.cumsum(per_event)[:-1]
            at = position[ak.to_numpy(jets["event_index"]) - start] + ak.to_numpy(jets["jet_index"])
            record = {}
            outputs = tagger.output_columns(jets) if len(jets) else \
                {name: np.zeros(0, dtype=np.float32) for name in tagger.output_names}
            for name, values in outputs.items():
                score = np.full(total, np.nan, dtype=np.float32)
                score[at] = values
                record[name] = ak.unflatten(score, per_event)
            selected = np.zeros(total, dtype=np.int32)
            selected[at] = 1
            record["selected"] = ak.unflatten(selected, per_event)
            inside = np.zeros(total, dtype=np.int32)
            inside[at] = tagger.in_training_range(jets)
            record["in_training_range"] = ak.unflatten(inside, per_event)
            counts["jets"] += len(jets)
            counts["outside"] += int(len(jets) - inside[at].sum())
            record["jet_index"] = ak.unflatten((np.arange(total) - np.repeat(position, per_event)).astype(np.int32),
                                               per_event)
            yield {"event_index": np.arange(start, stop, dtype=np.int64), collection: ak.zip(record)}


def _columns(tagger, jets, names: list[str]) -> dict:
    if tagger.is_multitask:
        tracks = tagger.predict_tracks(jets)
        columns = {f"score_{name}": tracks["jet_probs"][:, k].astype(np.float32) for k, name in enumerate(names)}
        columns.update(_track_columns(jets, tracks))
    else:
        columns = tagger.output_columns(jets)
    for field in CARRIED:
        if field in jets:
            columns[field] = np.asarray(jets[field].to_numpy())
    if jets.labels is not None and names is not None:
        for k, name in enumerate(names):
            columns[f"label_{name}"] = (jets.labels == k).astype(np.int32)
    columns["in_training_range"] = tagger.in_training_range(jets).astype(np.int32)
    return columns


# -- scale-out: one part per input file, on Dask or as job-array tasks ------------------------------------------
PARTS_KIND = "predict"


def predict_parts(run_dir, data, out, step_size: int = 10_000, mapping=None, *, scheduler: str | None = None,
                  workers: int = 2, files: tuple[int, int] | None = None) -> PredictionReport | None:
    """:func:`predict_to_root` file by file: input file k is scored into ``<out>.parts/part_k.root`` (atomically;
    a part already there is kept, so a killed run resumes), then the parts are merged into ``out`` in input
    order. scheduler : run the files on Dask ("local" or a scheduler address, :mod:`jetgnn.utils.cluster`);
    files : (start, stop) — a job-array task scores only input files start..stop-1 and does not merge
    (returns None); :func:`merge_predictions` (``jetgnn merge OUT``) merges when all are there."""
    paths = [str(Path(p).resolve()) for p in expand_paths(data)]
    out = output_file(out, "output file", inputs=paths)
    start, stop = (0, len(paths)) if files is None else task_range(files, len(paths), "--files",
                                                                    f"{len(paths)} input files")
    parts = parts_folder(out)
    mapping_key = mapping if mapping is None or isinstance(mapping, str) else json.dumps(mapping, sort_keys=True)
    manifest = {"kind": PARTS_KIND, "run": str(Path(run_dir).resolve()), "files": paths, "mapping": mapping_key,
                "step_size": step_size}
    claim_parts_dir(parts, manifest, "part_*", "prediction (run, files or mapping differ)")
    tasks = [(manifest["run"], paths[k], str(_part(parts, k)), step_size, mapping) for k in range(start, stop)
             if not _part(parts, k).with_suffix(".json").exists()]
    if scheduler is None:
        for task in tasks:
            _predict_part(task)
    else:
        with dask_client(scheduler, workers, "jetgnn predict --scheduler") as client:
            run_on_dask(client, _predict_part, tasks, lambda task, result: None, "jetgnn-predict")
    if files is not None:
        return None
    return merge_predictions(out)


def merge_predictions(out) -> PredictionReport:
    """Merge the parts of :func:`predict_parts` into ``out`` (one InputError names the files still missing, as
    ``--files`` ranges)."""
    out = output_file(out)
    parts = parts_folder(out)
    manifest = read_parts_manifest(parts)
    if manifest is None:
        raise InputError(f"nothing to merge for {out}: {parts} holds no jetgnn predict parts")
    n = len(manifest["files"])
    missing = [k for k in range(n) if not _part(parts, k).with_suffix(".json").exists()]
    if missing:
        raise InputError(f"cannot merge {out}: {len(missing)} of {n} input files are not scored yet in {parts} "
                         f"(e.g. --files {missing[0]}:{missing[0] + 1})")
    reports = [json.loads(_part(parts, k).with_suffix(".json").read_text()) for k in range(n)]
    tree = reports[0]["tree"]

    def payloads():
        for k in range(n):
            with uproot.open(_part(parts, k)) as f:
                yield _payload(f[tree])

    entries = write_tree(out, payloads(), tree)
    shutil.rmtree(parts)
    tagger_ranges = reports[0]["ranges"]
    return PredictionReport(entries, sum(r["n_jets"] for r in reports), sum(r["n_outside"] for r in reports),
                            tagger_ranges)


def _part(parts: Path, k: int) -> Path:
    return parts / f"part_{k:05d}.root"


def _predict_part(task) -> dict:
    """Score one input file into its part (and the part's report beside it, written last)."""
    run_dir, path, part, step_size, mapping = task
    report = predict_to_root(run_dir, [path], part, step_size, mapping)
    with uproot.open(part) as f:
        tree = FRIEND_TREE if FRIEND_TREE in f else "tree"
    result = {"n_entries": report.n_entries, "n_jets": report.n_jets, "n_outside": report.n_outside,
              "ranges": report.ranges, "tree": tree}
    with atomic_path(Path(part).with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(result))
    return result


def _payload(tree) -> dict:
    """A part's branches as write_tree payload: flat numpy arrays, and the jagged branches ``X_*`` counted by
    ``nX`` zipped back into one record ``X`` (so the merged file has the part's branch names and counters)."""
    names = list(tree.keys())
    counters = {name[1:] for name in names if name.startswith("n") and name[1:] and
                any(other.startswith(name[1:] + "_") for other in names)}
    arrays = tree.arrays(names, library="ak", how=dict)
    payload, records = {}, {}
    for name in names:
        prefix = next((c for c in counters if name.startswith(c + "_")), None)
        if prefix is not None:
            records.setdefault(prefix, {})[name[len(prefix) + 1:]] = arrays[name]
        elif name[1:] not in counters:
            payload[name] = ak.to_numpy(arrays[name])
    payload.update({prefix: ak.zip(fields) for prefix, fields in records.items()})
    return payload
