"""``jetgnn benchmark`` configs: which models to compare, on which data, with how many seeds.

```yaml
task: top
models:                      # label -> a jetgnn train config (path relative to this file or the working
  pfn: {config: configs/top_pfn.yaml}                      # directory) and optional key=value overrides
  particlenet_lite: {config: configs/top_particlenet_lite.yaml, overrides: {model.init: orthogonal}}
reference: particlenet_lite  # the ROC ratio panel divides by this model (default: the first)
data: {train: [data/top_2k.root], test: []}   # no test files: a fixed validation split is the test set
seeds: 3
overrides: {training.epochs: 5}               # applied to every model
size_scan: {model: pfn, sizes: [400, 800, 1600]}   # optional: AUC vs number of training jets
```
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from jetgnn.errors import InputError
from jetgnn.training.config import load_config

DEFAULTS = {"task": None, "models": None, "reference": None, "data": {"train": [], "test": [], "max_jets": None},
            "seeds": 3, "overrides": {}, "size_scan": None}


def _resolve_path(path: str, base: Path) -> str:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return str(candidate)
    return str(base / candidate)


def load_benchmark_config(source, train=None, test=None, seeds=None) -> dict:
    """A validated benchmark config (see the module docstring); command-line values override the file."""
    base = Path(os.fspath(source)).resolve().parent if not isinstance(source, dict) else Path.cwd()
    raw = load_config(source)
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise InputError(f"benchmark config: unknown key {unknown[0]!r} (allowed: {', '.join(DEFAULTS)})")
    cfg = {**copy.deepcopy(DEFAULTS), **raw}
    data = {**DEFAULTS["data"], **(cfg["data"] or {})}
    unknown = sorted(set(data) - set(DEFAULTS["data"]))
    if unknown:
        raise InputError(f"benchmark config: unknown key 'data.{unknown[0]}' (allowed: train, test, max_jets)")
    for key, value in (("train", train), ("test", test)):
        if value:
            data[key] = list(value)
        else:  # paths in the file: relative to the working directory, else to the file
            files = [data[key]] if isinstance(data[key], str) else list(data[key] or [])
            data[key] = [_resolve_path(f, base) for f in files]
    cfg["data"] = data
    if seeds is not None:
        cfg["seeds"] = seeds
    if isinstance(cfg["seeds"], bool) or not isinstance(cfg["seeds"], int) or cfg["seeds"] < 1:
        raise InputError(f"benchmark config: 'seeds' must be a positive integer, got {cfg['seeds']!r}")
    models = cfg["models"]
    if not isinstance(models, dict) or not models:
        raise InputError("benchmark config: 'models' must map labels to {config: path, overrides: {...}}")
    for label, entry in models.items():
        if not isinstance(entry, dict) or "config" not in entry or set(entry) - {"config", "overrides"}:
            raise InputError(f"benchmark config: models.{label} must be {{config: path, overrides: {{...}}}}")
        entry["config"] = _resolve_path(entry["config"], base)
        if not Path(entry["config"]).is_file():
            raise InputError(f"benchmark config: models.{label}.config not found: {entry['config']}")
        entry.setdefault("overrides", {})
    cfg["reference"] = cfg["reference"] or next(iter(models))
    if cfg["reference"] not in models:
        raise InputError(f"benchmark config: 'reference' must be one of {', '.join(models)}, got {cfg['reference']!r}")
    if not isinstance(cfg["overrides"], dict):
        raise InputError("benchmark config: 'overrides' must be a mapping of dotted keys to values")
    scan = cfg["size_scan"]
    if scan is not None:
        if not isinstance(scan, dict) or scan.get("model") not in models or not scan.get("sizes") or not all(
                isinstance(n, int) and n > 1 for n in scan["sizes"]):
            raise InputError("benchmark config: 'size_scan' must be {model: <one of models>, sizes: [jets, ...]}")
    if not cfg["data"]["train"]:
        raise InputError("benchmark config: no training files (data.train or --train)")
    return cfg
