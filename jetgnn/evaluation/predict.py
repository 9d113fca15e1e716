"""``jetgnn predict``: per-jet scores as a new ROOT file that also carries jet kinematics and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetgnn.io.reader import iter_jets
from jetgnn.io.writer import check_writable, write_jets

#: per-jet fields copied next to the scores when the input has them
CARRIED = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_mass", "jet_nparticles", "jet_sdmass", "jet_label")


def predict_to_root(run_dir, data, out, step_size: int = 10_000) -> int:
    """Score every jet of ``data`` with the run's best tagger and write ``out`` (tree ``tree``).

    Branches: ``score_<class>`` (probability of each class), the CARRIED jet fields present in the input and
    the one-hot ``label_<class>`` branches when labels exist. Returns the number of jets written.
    """
    from jetgnn.tagger import load_tagger

    out = check_writable(out)
    tagger = load_tagger(run_dir)
    names = tagger.label_names
    def chunks():
        for jets in iter_jets(data, step_size=step_size, mapping=tagger.config["data"]["mapping"]):
            if not len(jets):
                continue
            probs = tagger.predict_proba(jets)
            columns = {f"score_{name}": probs[:, k].astype(np.float32) for k, name in enumerate(names)}
            for field in CARRIED:
                if field in jets:
                    columns[field] = np.asarray(jets[field].to_numpy())
            if jets.labels is not None:
                for k, name in enumerate(names):
                    columns[f"label_{name}"] = (jets.labels == k).astype(np.int32)
            yield columns

    return write_jets(Path(out), chunks())
