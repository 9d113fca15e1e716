"""``jetgnn anomaly decorrelate``: a mass-decorrelated score for an anomaly run.

Fits :class:`~jetgnn.transforms.mass_decorrelation.MassQuantileMap` on the run's scores of background jets (the
run's background classes of labelled files, every jet of unlabelled ones) and writes it to
``RUN_DIR/mass_decorrelation.json``. From then on ``load_tagger(run).anomaly_score``, ``jetgnn predict``,
``jetgnn anomaly evaluate`` and ``jetgnn export`` give F(score | mass), the background CDF of the model's score at
the jet's mass: a cut on it keeps the same background fraction at every mass (no mass sculpting, up to the
map's statistics), at the cost of the part of the score's power that came from the mass. Fit it on background
jets other than the ones you evaluate on (``anomaly_score(..., decorrelated=False)`` still gives the model's own
score). Deleting the file restores the plain score. ONNX exports carry the map in their metadata and
``OnnxTagger`` applies it after the network; an hls4ml firmware computes the network's own score (the map is a
look-up on the jet mass to be done downstream).
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak

from jetgnn.anomaly.evaluate import select_jets
from jetgnn.errors import InputError
from jetgnn.io.files import expand_paths
from jetgnn.io.reader import read_jets
from jetgnn.tagger import MASS_DECORRELATION_FILE, AnomalyTagger, load_tagger
from jetgnn.transforms.mass_decorrelation import MassQuantileMap
from jetgnn.utils.files import write_json


def decorrelate_anomaly(run_dir, background, neighbours: int = 1000, mapping=None) -> MassQuantileMap:
    """Fit the mass map of ``run_dir`` on the background jets of ``background`` (files or globs, read with
    ``mapping``, default the training one) with windows of ``neighbours`` jets; writes it into the run and
    returns it."""
    tagger = load_tagger(run_dir)
    if not isinstance(tagger, AnomalyTagger):
        raise InputError(f"{run_dir} is not a jetgnn anomaly run (train one with jetgnn anomaly train)")
    paths = expand_paths(background)
    jets = select_jets(read_jets(paths, mapping=tagger.mapping if mapping is None else mapping),
                       tagger.background, False, ", ".join(paths))
    if len(jets) < neighbours:
        raise InputError(f"{', '.join(paths)}: {len(jets)} background jets, fewer than the {neighbours} of one mass "
                         f"window (pass more jets or a smaller --neighbours)")
    score = tagger.anomaly_score(jets, decorrelated=False)
    fitted = MassQuantileMap.fit(score, ak.to_numpy(jets["jet_mass"]), neighbours)
    write_json(Path(run_dir) / MASS_DECORRELATION_FILE,
               {**fitted.to_dict(), "background_files": paths, "n_jets": len(jets)})
    return fitted
