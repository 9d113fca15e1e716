"""``jetgnn predict``: per-jet scores as a new ROOT file that also carries jet kinematics and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetgnn.io.files import expand_paths
from jetgnn.io.jets import check_classes
from jetgnn.io.reader import iter_jets
from jetgnn.io.schema import ORIGIN_CLASSES
from jetgnn.io.writer import write_jets
from jetgnn.tagger import load_tagger
from jetgnn.utils.files import output_file

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


def predict_to_root(run_dir, data, out, step_size: int = 10_000) -> int:
    """Score every jet of ``data`` with the run's best tagger and write ``out`` (tree ``tree``).

    Branches: ``score_<class>`` (probability of each class), the CARRIED jet fields present in the input and
    the one-hot ``label_<class>`` branches when labels exist. For multitask taggers (the vertexer), also jagged
    per-track branches in the order of the input tracks: ``part_pred_origin`` (predicted origin class, SPEC §2),
    ``part_score_origin_<class>`` (its probabilities), ``part_pred_vtx`` (reconstructed vertex id: 0 primary
    group, 1, 2, ... others), next to the truth ``part_origin`` / ``part_vtx_idx`` when the input has them.
    Tracks beyond the training ``max_particles`` get -1 (and NaN scores). Returns the number of jets written.
    """
    paths = expand_paths(data)
    out = output_file(out, "output file", inputs=paths)
    tagger = load_tagger(run_dir)
    names = tagger.label_names

    def chunks():
        for path in paths:
            for jets in iter_jets(path, step_size=step_size, mapping=tagger.config.data.mapping):
                check_classes(jets.label_names, names, path, "the tagger's training data")
                if len(jets):
                    yield _columns(tagger, jets, names)

    return write_jets(Path(out), chunks())


def _columns(tagger, jets, names: list[str]) -> dict:
    tracks = tagger.predict_tracks(jets) if tagger.is_multitask else None
    probs = tagger.predict_proba(jets) if tracks is None else tracks["jet_probs"]
    columns = {f"score_{name}": probs[:, k].astype(np.float32) for k, name in enumerate(names)}
    if tracks is not None:
        columns.update(_track_columns(jets, tracks))
    for field in CARRIED:
        if field in jets:
            columns[field] = np.asarray(jets[field].to_numpy())
    if jets.labels is not None:
        for k, name in enumerate(names):
            columns[f"label_{name}"] = (jets.labels == k).astype(np.int32)
    return columns
