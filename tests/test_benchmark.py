"""``jetgnn benchmark``: several models and seeds on one split, ensembles, plots, size scan, config errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jetgnn.benchmarking.config import load_benchmark_config
from jetgnn.errors import InputError

from .conftest import BUNDLED, SMALL_MODEL_PARAMS, run_cli

ROOT = Path(__file__).resolve().parent.parent


def _config(tmp_path, **changes) -> Path:
    small = {"model.params": SMALL_MODEL_PARAMS["pfn"]}
    cfg = {
        "task": "top",
        "models": {"linear": {"config": str(ROOT / "configs" / "top_linear.yaml")},
                   "pfn": {"config": str(ROOT / "configs" / "top_pfn.yaml"), "overrides": small},
                   "pfn_orthogonal": {"config": str(ROOT / "configs" / "top_pfn.yaml"),
                                      "overrides": {**small, "model.init": "orthogonal"}}},
        "reference": "pfn",
        "data": {"train": [str(BUNDLED["top"])], "max_jets": 600},
        "seeds": 2,
        "overrides": {"training.epochs": 2},
        "size_scan": {"models": ["pfn", "linear"], "sizes": [120, 480]},
        **changes,
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_benchmark_through_the_cli(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "jetgnn", "benchmark", str(_config(tmp_path)), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "| pfn (ensemble of 2) |" in proc.stdout
    for name in ("results.json", "results.md", "roc.png", "scores.png", "training.png", "size_scan.png",
                 "benchmark.yaml", "runs/pfn_seed0/metrics.json", "runs/pfn_orthogonal_seed1/metrics.json"):
        assert (out / name).is_file(), name
    result = json.loads((out / "results.json").read_text())
    assert result["n_test_jets"] == 120 and result["n_train_jets"] == 480
    pfn = result["models"]["pfn"]
    assert len(pfn["per_seed"]) == 2 and pfn["per_seed"][0]["auc"] != pfn["per_seed"][1]["auc"]
    assert pfn["std"]["auc"] > 0 and 0.5 < pfn["mean"]["auc"] <= 1
    for key in ("auc", "accuracy", "rejection_at_30", "rejection_at_50", "n_params", "train_time_s",
                "train_jets_per_s", "inference_jets_per_s"):
        assert key in pfn["mean"], key
    assert set(pfn["ensemble"]) >= {"auc", "rejection_at_30"}
    scan = result["size_scan"]
    assert [p["n_train_jets"] for p in scan["points"]] == [120, 480] and scan["fit"]["b"] is not None
    assert scan["model"] == "pfn" and set(result["size_scans"]) == {"pfn", "linear"}
    assert [c["models"] for c in result["size_scan_crossovers"]] in ([["pfn", "linear"]], [])
    assert "Data-size scan (AUC" in (out / "results.md").read_text()
    # every run was evaluated on the same jets
    assert {json.loads((out / "runs" / f"{m}_seed0" / "metrics.json").read_text())["n_jets"]
            for m in ("linear", "pfn", "pfn_orthogonal")} == {120}
    # a second call reuses the finished runs
    stamp = (out / "runs" / "pfn_seed0" / "metrics.json").stat().st_mtime
    proc = run_cli("benchmark", _config(tmp_path), "--out", out, "--seeds", "1")  # (in this process)
    assert proc.returncode == 0, proc.stderr
    assert (out / "runs" / "pfn_seed0" / "metrics.json").stat().st_mtime == stamp


@pytest.mark.parametrize("changes,message", [
    ({"models": {}}, "'models' must map"),
    ({"reference": "bdt"}, "'reference' must be one of"),
    ({"seeds": 0}, "'seeds' must be a positive integer"),
    ({"size_scan": {"model": "bdt", "sizes": [10]}}, "'size_scan' must be"),
    ({"size_scan": {"models": ["pfn", "bdt"], "sizes": [10]}}, "'size_scan' must be"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"models": {"x": {"config": "nowhere.yaml"}}, "reference": None}, "models.x.config not found"),
])
def test_benchmark_config_errors(tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        load_benchmark_config(_config(tmp_path, **changes))


def test_crossovers_of_power_law_fits():
    from jetgnn.benchmarking.runner import crossovers

    def scan(a, b, sizes=(100, 10_000)):
        return {"fit": {"a": a, "b": b}, "points": [{"n_train_jets": n} for n in sizes]}

    # linear: flat 0.02 N^-0.05; gnn: 1.0 N^-0.5; they meet at N = 50^(1/0.45) = 5,990
    out = crossovers({"linear": scan(0.02, -0.05), "gnn": scan(1.0, -0.5)})
    assert len(out) == 1 and out[0]["n_train_jets"] == pytest.approx(50 ** (1 / 0.45))
    assert out[0]["better_below"] == "linear" and out[0]["better_above"] == "gnn"
    assert out[0]["within_scanned_range"]
    assert not crossovers({"a": scan(0.02, -0.05, (10, 20)), "b": scan(1.0, -0.5, (10, 20))})[0]["within_scanned_range"]
