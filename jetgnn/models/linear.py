"""Linear baselines (scikit-learn): logistic regression and Fisher's linear discriminant on engineered jet
features, with the same fit / predict / evaluate interface as the neural taggers.

Features (all per jet, computed on whole chunks):

==============  ===================================================================================
jet_mass        jet mass (GeV)
jet_sdmass      soft-drop mass (GeV), if the file has it
tau21, tau32    N-subjettiness ratios, if the file has tau1..3
multiplicity    number of constituents
width           pT-weighted width (girth) sum_i pT_i dR_i / sum_i pT_i
ecf2_b05/1/2    energy-flow polynomials of the two-particle graph, sum_ij z_i z_j dR_ij^beta
                (beta = 0.5, 1, 2) with z_i = pT_i / pT_jet (``efps=True``)
==============  ===================================================================================
"""

from __future__ import annotations

import awkward as ak
import numpy as np
import torch
import vector

from jetgnn.errors import InputError
from jetgnn.io.jets import Jets
from jetgnn.kinematics import delta_r
from jetgnn.observables import TAU_RATIOS, tau_ratio
from jetgnn.utils.arrays import safe_ratio

vector.register_awkward()

METHODS = ("logistic", "fisher")
EFP_BETAS = (0.5, 1.0, 2.0)


def jet_features(jets: Jets, efps: bool = True, max_particles: int = 64) -> tuple[np.ndarray, list[str]]:
    """[n_jets, F] float64 engineered features and their names (see the module docstring)."""
    columns: dict[str, np.ndarray] = {"jet_mass": jets.jet_mass.to_numpy()}
    if "jet_sdmass" in jets:
        columns["jet_sdmass"] = jets.jet_sdmass.to_numpy()
    if all(f"jet_tau{n}" in jets for n in (1, 2, 3)):
        columns.update({name: tau_ratio(jets, name) for name in TAU_RATIOS})
    columns["multiplicity"] = jets.jet_nparticles.to_numpy().astype(np.float64)
    pt = np.hypot(jets.part_px, jets.part_py)
    dr = delta_r(jets.part_deta, jets.part_dphi)
    columns["width"] = safe_ratio(ak.to_numpy(ak.sum(pt * dr, axis=1)), ak.to_numpy(ak.sum(pt, axis=1)))
    if efps:  # the hardest max_particles constituents carry the energy flow; pairs via awkward combinations
        particles = ak.zip({"rho": pt / jets.jet_pt, "eta": jets.part_deta, "phi": jets.part_dphi},
                           with_name="Momentum3D")[:, :max_particles]
        pairs = ak.combinations(particles, 2)
        d = pairs["0"].deltaR(pairs["1"])
        weight = pairs["0"].rho * pairs["1"].rho
        for beta in EFP_BETAS:
            name = f"ecf2_b{str(beta).replace('.', '').rstrip('0') or '0'}"
            columns[name] = 2 * ak.to_numpy(ak.sum(weight * d**beta, axis=1))
    names = list(columns)
    return np.stack([np.asarray(columns[n], dtype=np.float64) for n in names], axis=1), names


class LinearJetTagger:
    """A linear tagger: StandardScaler + LogisticRegression ("logistic") or Fisher LDA ("fisher").

    ``fit(jets)`` then ``predict(jets)`` (signal-class probability for two classes, class probabilities
    otherwise). ``state_dict()`` / ``from_state`` store it as plain tensors and lists, so checkpoints load with
    ``torch.load(weights_only=True)``. It scores Jets like a trained graph tagger (``predict_proba``,
    ``n_params``: the :class:`~jetgnn.models.base.JetScorer` protocol); graph batches it cannot score.
    """

    multitask = False

    def __init__(self, method: str = "logistic", efps: bool = True, C: float = 1.0, max_iter: int = 1000):
        if method not in METHODS:
            raise InputError(f"linear: method must be one of {', '.join(METHODS)}, got {method!r}")
        if not C > 0:
            raise InputError(f"linear: C must be positive, got {C!r}")
        self.method, self.efps, self.C, self.max_iter = method, efps, C, max_iter
        self.feature_names: list[str] | None = None
        self.mean = self.scale = self.coef = self.intercept = None

    def fit(self, jets: Jets) -> LinearJetTagger:
        if jets.labels is None:
            raise InputError("linear: fitting needs labelled jets")
        # scikit-learn is imported here, not at module level: scoring (any tagger) loads this module, and
        # importing sklearn took ~0.6 s of every `jetgnn predict`
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        x, self.feature_names = jet_features(jets, self.efps)
        scaler = StandardScaler().fit(x)
        xs = scaler.transform(x)
        if self.method == "logistic":
            model = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(xs, jets.labels)
        else:
            model = LinearDiscriminantAnalysis().fit(xs, jets.labels)
        self.mean, self.scale = scaler.mean_, scaler.scale_
        self.coef, self.intercept = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
        return self

    def decision(self, jets: Jets) -> np.ndarray:
        if self.coef is None:
            raise InputError("linear: the tagger is not fitted")
        x, names = jet_features(jets, self.efps)
        if names != self.feature_names:
            raise InputError(f"linear: jets give features {names}, the tagger was fitted on {self.feature_names}")
        return ((x - self.mean) / self.scale) @ self.coef.T + self.intercept

    def predict_proba(self, jets: Jets) -> np.ndarray:
        """[n_jets, n_classes] probabilities (sigmoid for two classes, softmax otherwise, as scikit-learn)."""
        d = self.decision(jets)
        if d.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-d[:, 0]))
            return np.stack([1 - p, p], axis=1)
        d = d - d.max(axis=1, keepdims=True)
        e = np.exp(d)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, jets: Jets) -> np.ndarray:
        probs = self.predict_proba(jets)
        return probs[:, 1] if probs.shape[1] == 2 else probs

    def probabilities(self, batch) -> np.ndarray:
        raise InputError("a linear tagger scores Jets (engineered features), not graph batches")

    def n_params(self) -> int:
        return int(self.coef.size + self.intercept.size)

    def state_dict(self) -> dict:
        return {"method": self.method, "efps": self.efps, "C": self.C, "feature_names": self.feature_names,
                **{k: torch.from_numpy(np.asarray(getattr(self, k), dtype=np.float64))
                   for k in ("mean", "scale", "coef", "intercept")}}

    @classmethod
    def from_state(cls, state: dict) -> LinearJetTagger:
        tagger = cls(state["method"], state["efps"], state["C"])
        tagger.feature_names = list(state["feature_names"])
        for key in ("mean", "scale", "coef", "intercept"):
            setattr(tagger, key, state[key].numpy())
        return tagger
