"""The geometry of jet data: the eigenvalue spectrum of the jet-image covariance and a correlation dimension.

    python benchmarks/data_geometry.py [--files FILE ...] [--n-jets 3000]

For each file (default: the bundled hadron-level and detector-level top jets) and each class: 40 x 40 jet images
(``jetgnn.transforms.images``: centred, rotated, flipped, unit sum), the eigenvalues of their 1600 x 1600
covariance, sorted, and a power-law fit lambda_k = c k^-alpha over ranks 2-200 with its R^2 in log-log ("power law
or not": R^2 near 1 over two decades); and the Grassberger-Procaccia correlation dimension of the images (Euclidean
distance): the slope of log C(r) vs log r, C(r) = the fraction of jet pairs closer than r, fitted between the 1%
and 10% quantiles of the pair distances. Writes benchmarks/results/data_geometry.{json,png}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import RESULTS, write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.transforms.images import jet_images  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RANKS = (2, 200)


def spectrum(images: np.ndarray) -> np.ndarray:
    """Eigenvalues (descending) of the covariance of flattened images [n, P]."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    return np.clip(np.linalg.eigvalsh(np.cov(flat, rowvar=False))[::-1], 0, None)


def power_law(eigenvalues: np.ndarray, ranks=RANKS) -> dict:
    k = np.arange(1, len(eigenvalues) + 1)
    sel = (k >= ranks[0]) & (k <= ranks[1]) & (eigenvalues > 0)
    x, y = np.log(k[sel]), np.log(eigenvalues[sel])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    return {"alpha": float(-slope), "c": float(np.exp(intercept)),
            "r2": float(1 - residual.var() / y.var()), "ranks": list(ranks)}


def correlation_dimension(images: np.ndarray, quantiles=(0.01, 0.10)) -> dict:
    distances = pdist(images.reshape(len(images), -1).astype(np.float64))
    distances = np.sort(distances[distances > 0])
    r = np.geomspace(*np.quantile(distances, quantiles), 20)
    c = np.searchsorted(distances, r) / len(distances)
    slope, _ = np.polyfit(np.log(r), np.log(c), 1)
    return {"dimension": float(slope), "quantiles": list(quantiles), "n_pairs": int(len(distances)),
            "r": r.tolist(), "c": c.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", type=Path,
                        default=[ROOT / "data" / "top_2k.root", ROOT / "data" / "top_detector_1k.root"])
    parser.add_argument("--n-jets", type=int, default=3000, help="jets per class at most")
    args = parser.parse_args()
    results, curves = {}, {}
    for path in args.files:
        jets = jetgnn.read_jets(path)
        for k, name in enumerate(jets.label_names):
            selected = jets[np.flatnonzero(jets.labels == k)[:args.n_jets]]
            images = jet_images(selected)
            eigenvalues = spectrum(images)
            key = f"{path.name}: {name}"
            results[key] = {"n_jets": len(selected), "power_law": power_law(eigenvalues),
                            "correlation_dimension": correlation_dimension(images),
                            "top_eigenvalues": eigenvalues[:10].tolist()}
            curves[key] = (eigenvalues, results[key]["correlation_dimension"])
            fit = results[key]["power_law"]
            print(f"{key:32s} {len(selected)} jets: eigenvalues ~ k^-{fit['alpha']:.2f} (R^2 {fit['r2']:.3f}, "
                  f"ranks {RANKS[0]}-{RANKS[1]}), correlation dimension "
                  f"{results[key]['correlation_dimension']['dimension']:.2f}")
    path = write_result("data_geometry", {"command": "python benchmarks/data_geometry.py " + " ".join(sys.argv[1:]),
                                          "results": results})
    _plot(curves, RESULTS / "data_geometry.png")
    print(f"wrote {path}")


def _plot(curves: dict, path: Path) -> None:
    from jetgnn.utils.plotting import figure

    with figure(path, ncols=2, figsize=(15, 5.5)) as (_, (left, right)):
        for key, (eigenvalues, dimension) in curves.items():
            k = np.arange(1, len(eigenvalues) + 1)
            left.plot(k, eigenvalues / eigenvalues[0], label=key)
            right.plot(dimension["r"], dimension["c"], "o-", ms=3, label=f"{key}: D = {dimension['dimension']:.1f}")
        left.set(xscale="log", yscale="log", xlabel="rank k", ylabel="eigenvalue / largest",
                 title="image covariance spectrum", ylim=(1e-8, 1.5))
        left.axvspan(*RANKS, color="0.9", zorder=0)
        right.set(xscale="log", yscale="log", xlabel="image distance r", ylabel="C(r): pairs closer than r",
                  title="correlation dimension")
        for ax in (left, right):
            ax.legend(fontsize=9)


if __name__ == "__main__":
    main()
