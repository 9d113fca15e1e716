"""Metrics and plots of anomaly scores (background = 0, signal = 1; higher score = more anomalous).

``auc``; ``sic_max``: the largest significance improvement ε_S/√ε_B, searched only where
ε_B ≥ max(1e-4, 20/N_bkg) (fewer background jets make the ratio a fluctuation); ``signal_efficiency_at_bkg_1e-2``
and ``_1e-3`` (ε_S at those ε_B, interpolated on the ROC; None below 1/N_bkg); ``rejection_at_30`` (1/ε_B at
ε_S = 30%); ``mass_jsd_at_bkg_1e-2``: the Jensen-Shannon divergence (base 2, in [0, 1]) between the background
jet-mass distributions before and after a cut keeping ε_B = 1e-2 (mass sculpting; 0 = no sculpting);
``mass_jsd_floor_at_bkg_1e-2``: the JSD that a cut *independent* of the mass gives on the same jets (the mean over
random cuts keeping as many jets; a finite-sample floor: ~0.10 with 5,000 background jets, ~0.01 with 50,000), so a
JSD is sculpting only where it is clearly above its floor.
:func:`dark_machines_row` gives the row of the Dark Machines anomaly-score challenge (Signal, Model, AUC, ε_S at
ε_B = 1e-2, 1e-3, 1e-4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score, roc_curve

from jetgnn.evaluation.metrics import background_rejection
from jetgnn.utils.plotting import EFFICIENCY_LABEL, REJECTION_LABEL, figure

#: background efficiencies of the reported signal efficiencies
BACKGROUND_EFFICIENCIES = (1e-2, 1e-3, 1e-4)
#: mass bins of the sculpting JSD (GeV)
MASS_BINS = np.linspace(0, 300, 31)


def _labels_scores(background: np.ndarray, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.concatenate([np.zeros(len(background)), np.ones(len(signal))]).astype(int)
    return y, np.concatenate([background, signal]).astype(np.float64)


def signal_efficiency_at(fpr: np.ndarray, tpr: np.ndarray, eps_b: float, n_background: int) -> float | None:
    """ε_S at background efficiency ``eps_b`` (linear interpolation on the ROC); None if eps_b < 1/N_bkg."""
    if eps_b < 1.0 / max(n_background, 1):
        return None
    return float(np.interp(eps_b, fpr, tpr))


def sic_curve(fpr: np.ndarray, tpr: np.ndarray, n_background: int) -> tuple[np.ndarray, np.ndarray]:
    """(ε_S, ε_S/√ε_B) where ε_B ≥ max(1e-4, 20/N_bkg)."""
    keep = fpr >= max(1e-4, 20.0 / max(n_background, 1))
    return tpr[keep], tpr[keep] / np.sqrt(fpr[keep])


def _mass_histogram(mass: np.ndarray) -> np.ndarray:
    """Counts in :data:`MASS_BINS` (overflow into the last bin, negative masses into the first)."""
    return np.histogram(np.clip(mass, MASS_BINS[0], MASS_BINS[-1] - 1e-6), MASS_BINS)[0]


def _jsd(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """JSD (base 2) between histograms ``before`` [bins] and ``after`` [..., bins] (counts, normalised here)."""
    before, after = before + 1e-12, after + 1e-12
    p = np.broadcast_to(before / before.sum(), after.shape)
    return jensenshannon(p, after / after.sum(axis=-1, keepdims=True), base=2, axis=-1) ** 2


def _passing(background_score: np.ndarray, eps_b: float) -> np.ndarray:
    return background_score > np.quantile(background_score, 1 - eps_b)


def mass_jsd(background_score: np.ndarray, background_mass: np.ndarray, eps_b: float = 1e-2) -> float | None:
    """JSD between the background mass distribution before and after the cut at ``eps_b`` (None: no jet passes)."""
    passing = background_mass[_passing(background_score, eps_b)]
    if not len(passing):
        return None
    return float(_jsd(_mass_histogram(background_mass), _mass_histogram(passing)))


def mass_jsd_floor(background_score: np.ndarray, background_mass: np.ndarray, eps_b: float = 1e-2,
                   draws: int = 200, seed: int = 0) -> float | None:
    """Mean JSD of random cuts keeping as many jets as the cut at ``eps_b``: what :func:`mass_jsd` gives for a
    score independent of the mass on these jets. Each draw's passing histogram is a multivariate hypergeometric
    sample of the background histogram (exact, no per-jet loop). None where no jet passes."""
    n_pass = int(_passing(background_score, eps_b).sum())
    if not n_pass:
        return None
    before = _mass_histogram(background_mass)
    after = np.random.default_rng(seed).multivariate_hypergeometric(before, n_pass, size=draws)
    return float(_jsd(before, after).mean())


def anomaly_metrics(background: np.ndarray, signal: np.ndarray, background_mass: np.ndarray | None = None) -> dict:
    """The metrics of the module docstring (plus ``n_background``, ``n_signal``)."""
    y, score = _labels_scores(background, signal)
    fpr, tpr, _ = roc_curve(y, score)
    n_bkg = len(background)
    _, sic = sic_curve(fpr, tpr, n_bkg)
    out = {"auc": float(roc_auc_score(y, score)), "sic_max": float(sic.max()) if len(sic) else None}
    for eps_b in BACKGROUND_EFFICIENCIES[:2]:
        out[f"signal_efficiency_at_bkg_{eps_b:.0e}".replace("e-0", "e-")] = signal_efficiency_at(fpr, tpr, eps_b,
                                                                                                  n_bkg)
    out.update(background_rejection(y, score, 0.3).entries("rejection_at_30"))
    has_mass = background_mass is not None
    out["mass_jsd_at_bkg_1e-2"] = mass_jsd(background, background_mass) if has_mass else None
    out["mass_jsd_floor_at_bkg_1e-2"] = mass_jsd_floor(background, background_mass) if has_mass else None
    out["n_background"], out["n_signal"] = int(n_bkg), int(len(signal))
    return out


def dark_machines_row(signal_name: str, model_name: str, background: np.ndarray, signal: np.ndarray) -> dict:
    """{"Signal", "Model", "AUC", "1e-2", "1e-3", "1e-4"}: AUC and ε_S at those ε_B (empty where ε_B < 1/N_bkg)."""
    y, score = _labels_scores(background, signal)
    fpr, tpr, _ = roc_curve(y, score)
    row = {"Signal": signal_name, "Model": model_name, "AUC": round(float(roc_auc_score(y, score)), 6)}
    for eps_b in BACKGROUND_EFFICIENCIES:
        value = signal_efficiency_at(fpr, tpr, eps_b, len(background))
        row[f"{eps_b:.0e}".replace("e-0", "e-")] = "" if value is None else round(value, 6)
    return row


def anomaly_plots(background: np.ndarray, signal: np.ndarray, background_mass: np.ndarray,
                  signal_mass: np.ndarray | None, out_dir: Path, label: str = "") -> None:
    """roc.png (1/ε_B vs ε_S), sic.png (ε_S/√ε_B vs ε_S) and mass_sculpting.png (background mass before and after
    the ε_B = 1e-2 and 1e-1 cuts, and the signal's)."""
    y, score = _labels_scores(background, signal)
    fpr, tpr, _ = roc_curve(y, score)
    keep = fpr > 0
    with figure(out_dir / "roc.png") as (_, ax):
        ax.plot(tpr[keep], 1 / fpr[keep], label=label or None)
        ax.plot(np.linspace(0.01, 1, 50), 1 / np.linspace(0.01, 1, 50), color="grey", ls=":", label="random")
        ax.set(xlabel=EFFICIENCY_LABEL, ylabel=REJECTION_LABEL, yscale="log", xlim=(0, 1))
        ax.legend()
    eff, sic = sic_curve(fpr, tpr, len(background))
    with figure(out_dir / "sic.png") as (_, ax):
        ax.plot(eff, sic, label=label or None)
        ax.axhline(1, color="grey", ls=":")
        ax.set(xlabel=EFFICIENCY_LABEL, ylabel="ε_S / √ε_B", xlim=(0, 1))
        ax.legend()
    with figure(out_dir / "mass_sculpting.png") as (_, ax):
        ax.hist(background_mass, MASS_BINS, histtype="step", density=True, lw=1.5, label="background")
        for eps_b in (1e-1, 1e-2):
            passing = background_mass[_passing(background, eps_b)]
            if len(passing):
                ax.hist(passing, MASS_BINS, histtype="step", density=True, lw=1.5,
                        label=f"background, $\\varepsilon_B$ = {eps_b:g}")
        if signal_mass is not None:
            ax.hist(signal_mass, MASS_BINS, histtype="stepfilled", alpha=0.25, density=True, label="signal")
        ax.set(xlabel="jet mass [GeV]", ylabel="density")
        ax.legend()
