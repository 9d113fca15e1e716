"""Mass-decorrelated scores by a mass-conditional CDF (the designed-decorrelated-tagger idea of Dolen, Harris,
Marzani, Rappoccio, Tran 2016, in its quantile form: a cut on the mapped score keeps the same background fraction
at every jet mass).

The map is fitted on background jets (their scores and masses, kept sorted by mass). A jet of mass m and score s is
mapped to F(s | m): the fraction of the ``neighbours`` fitted background jets nearest to m in mass (a window of
consecutive masses, shifted inwards at the ends of the mass range) whose score is below s, ties counted half.
Before counting, the window's local linear trend of the score with the mass (a least-squares slope b about the
window's mean mass m̄) is removed from the window's scores and from the query's: s_j − b (m_j − m̄) against
s − b (m − m̄). Centring the window on the jet's own mass and removing the trend (rather than tabulating quantiles
in fixed bins) matters where the score changes fast with the mass across a sparsely populated region: a fixed wide
bin at high mass has the quantile of a mixture, dominated by its heaviest jets, and a jet beyond the window's
masses (the ends of the range) is extrapolated along the trend. Above the window's highest score F approaches 1
with an exponential tail matched to its two highest scores (below the lowest, 0 the same way), so the map is
non-decreasing in s everywhere and jets beyond the fitted scores keep their order.

A cut ``F > 1 - ε`` then passes a fraction ε of the background at every mass, up to the fit's statistical
precision (ε·k background jets above the cut in a window of k). The price is the part of the score's power that
came from the mass itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetgnn.errors import InputError

_CHUNK = 4096  # jets per vectorised block of transform ([chunk, neighbours] comparisons)


@dataclass(frozen=True)
class MassQuantileMap:
    """A fitted map (see the module docstring).

    Args:
        mass: [n] masses of the fitted background jets (GeV), sorted increasing.
        score: [n] their scores, in the same order.
        neighbours: k, the jets of each mass window (≤ n).
    """

    mass: np.ndarray
    score: np.ndarray
    neighbours: int

    @classmethod
    def fit(cls, score: np.ndarray, mass: np.ndarray, neighbours: int = 1000) -> MassQuantileMap:
        """Fit on background scores [n] and jet masses [n] (GeV); windows of ``neighbours`` jets (at most n)."""
        score, mass = np.asarray(score, np.float64), np.asarray(mass, np.float64)
        if score.shape != mass.shape or score.ndim != 1:
            raise InputError(f"mass decorrelation: score {score.shape} and mass {mass.shape} must be 1-d and equal")
        if not (np.isfinite(score).all() and np.isfinite(mass).all()):
            raise InputError("mass decorrelation: the background scores and masses must be finite")
        if neighbours < 20 or len(score) < neighbours:
            raise InputError(f"mass decorrelation: {len(score)} background jets for windows of {neighbours} "
                             f"(need neighbours >= 20 and at least that many jets)")
        order = np.argsort(mass, kind="stable")
        return cls(mass[order], score[order], int(neighbours))

    def transform(self, score: np.ndarray, mass: np.ndarray) -> np.ndarray:
        """F(score | mass) in (0, 1) per jet: [n] scores and [n] masses (GeV) -> [n] float64."""
        score, mass = np.asarray(score, np.float64), np.asarray(mass, np.float64)
        if score.shape != mass.shape or score.ndim != 1:
            raise InputError(f"mass decorrelation: score {score.shape} and mass {mass.shape} must be 1-d and equal")
        return np.concatenate([self._transform(score[i:i + _CHUNK], mass[i:i + _CHUNK])
                               for i in range(0, len(score), _CHUNK)] or [np.zeros(0)])

    def _transform(self, score: np.ndarray, mass: np.ndarray) -> np.ndarray:
        k, n = self.neighbours, len(self.mass)
        start = np.clip(np.searchsorted(self.mass, mass) - k // 2, 0, n - k)
        index = start[:, None] + np.arange(k)
        window, window_mass = self.score[index], self.mass[index]  # [chunk, k]
        centre = window_mass.mean(axis=1)  # the local linear trend of the module docstring
        dm = window_mass - centre[:, None]
        slope = (dm * window).sum(axis=1) / np.maximum((dm * dm).sum(axis=1), 1e-12)
        window = window - slope[:, None] * dm
        score = score - slope * (mass - centre)
        below = (window < score[:, None]).sum(axis=1) + 0.5 * (window == score[:, None]).sum(axis=1)
        inside = np.clip(below / k, 0.5 / k, 1 - 0.5 / k)
        ends = np.partition(window, (0, 1, k - 2, k - 1), axis=1)
        low, low2, high2, high = ends[:, 0], ends[:, 1], ends[:, k - 2], ends[:, k - 1]
        with np.errstate(over="ignore"):
            upper = 1 - 0.5 / k * np.exp(-(score - high) / np.maximum(high - high2, 1e-12))
            lower = 0.5 / k * np.exp(-(low - score) / np.maximum(low2 - low, 1e-12))
        return np.where(score > high, upper, np.where(score < low, lower, inside))

    def transform_jets(self, score: np.ndarray, jets) -> np.ndarray:
        """:meth:`transform` at the ``jet_mass`` of ``jets`` (Jets of the scores), as float32 like the scores of
        the taggers."""
        return self.transform(score, ak.to_numpy(jets["jet_mass"])).astype(np.float32)

    def to_dict(self) -> dict:
        """JSON-ready lists (``from_dict`` reads them back)."""
        return {"mass": self.mass.tolist(), "score": self.score.tolist(), "neighbours": self.neighbours}

    @classmethod
    def from_dict(cls, data: dict) -> MassQuantileMap:
        """The map of :meth:`to_dict`, validated like a fit (shapes, finite values, window size)."""
        try:
            return cls.fit(np.asarray(data["score"], np.float64), np.asarray(data["mass"], np.float64),
                           int(data["neighbours"]))
        except (KeyError, TypeError) as err:
            raise InputError(f"mass decorrelation map: missing or malformed {err} (keys: {sorted(data)})") from None
