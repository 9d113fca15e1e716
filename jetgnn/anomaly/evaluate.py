"""``jetgnn anomaly evaluate``: an anomaly run's score on background against signal jets.

Background files give their jets of the run's background classes (every jet of unlabelled files or runs trained
without classes); signal files give their jets of *other* classes when they are labelled with one of the
background classes (so the QCD jets of a top sample are never counted as signal), else every jet. Writes
``metrics.json`` (:func:`jetgnn.evaluation.anomaly.anomaly_metrics`), ``roc.png``, ``sic.png``,
``mass_sculpting.png`` and ``dark_machines.csv`` (one row in the challenge layout) to ``out`` (default
``RUN_DIR/evaluation``). A run with a mass map (``jetgnn anomaly decorrelate``) is evaluated on its
mass-decorrelated score (``mass_decorrelated: true`` in metrics.json).
"""

from __future__ import annotations

import csv
from pathlib import Path

import awkward as ak

from jetgnn.datasets.anomaly import background_mask
from jetgnn.errors import InputError
from jetgnn.evaluation.anomaly import anomaly_metrics, anomaly_plots, dark_machines_row
from jetgnn.io.files import expand_paths
from jetgnn.io.jets import Jets
from jetgnn.io.reader import read_jets
from jetgnn.tagger import AnomalyTagger, load_tagger
from jetgnn.utils.files import atomic_path, output_dir, remove_created, write_json


def select_jets(jets: Jets, background: list[str] | None, signal: bool, where: str) -> Jets:
    """The background jets of ``jets`` (``signal=False``) or its signal jets (see the module docstring); one-line
    error naming ``where`` when none are left."""
    hint = f"the run was trained on {', '.join(background or [])} jets"
    is_background = background_mask(jets, background, where, hint, require=not signal)
    if is_background is None:
        selected = jets
    else:
        selected = jets[~is_background] if signal else jets[is_background]
    if not len(selected):
        classes = f" (background classes: {', '.join(background)})" if background else ""
        raise InputError(f"{where}: no {'signal' if signal else 'background'} jets{classes}")
    return selected


def evaluate_anomaly(run_dir, background, signal, out=None, mapping=None, signal_name: str | None = None) -> dict:
    """Metrics of the run's anomaly score, ``background`` vs ``signal`` files (paths or globs); see the module
    docstring. ``mapping`` reads both (default the training mapping)."""
    tagger = load_tagger(run_dir)
    if not isinstance(tagger, AnomalyTagger):
        raise InputError(f"{run_dir} is not a jetgnn anomaly run (train one with jetgnn anomaly train)")
    background_paths, signal_paths = expand_paths(background), expand_paths(signal)
    out, created = output_dir(Path(out) if out is not None else Path(run_dir) / "evaluation", "evaluation folder")
    try:
        mapping = tagger.mapping if mapping is None else mapping
        bkg = select_jets(read_jets(background_paths, mapping=mapping), tagger.background, False,
                      ", ".join(background_paths))
        sig = select_jets(read_jets(signal_paths, mapping=mapping), tagger.background, True, ", ".join(signal_paths))
        bkg_score, sig_score = tagger.anomaly_score(bkg), tagger.anomaly_score(sig)
        bkg_mass, sig_mass = ak.to_numpy(bkg["jet_mass"]), ak.to_numpy(sig["jet_mass"])
        metrics = anomaly_metrics(bkg_score, sig_score, bkg_mass)
        metrics["inference_jets_per_s"] = tagger.last_inference_jets_per_s
        name = signal_name or Path(signal_paths[0]).stem
        label = f"{tagger.name} ({tagger.model.score_name})"
        anomaly_plots(bkg_score, sig_score, bkg_mass, sig_mass, out, label=label)
        row = dark_machines_row(name, label, bkg_score, sig_score)
        with atomic_path(out / "dark_machines.csv", suffix=".csv") as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            writer.writeheader()
            writer.writerow(row)
        write_json(out / "metrics.json", {**metrics, "background_files": background_paths,
                                          "signal_files": signal_paths, "model": tagger.name,
                                          "score": tagger.model.score_name,
                                          "mass_decorrelated": tagger.mass_map is not None})
    except BaseException:
        if created:
            remove_created(out)
        raise
    return metrics
