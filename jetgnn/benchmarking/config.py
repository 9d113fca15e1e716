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
# or several families at once, with their power-law fits and crossover points:
# size_scan: {models: [linear, mlp, pfn, particlenet_lite], sizes: [400, 800, 1600]}
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo, model_validator

from jetgnn.datasets.config import Files
from jetgnn.errors import InputError
from jetgnn.training.config import load_config
from jetgnn.utils.config import ConfigModel, ErrorStyle, PositiveInt, did_you_mean, validate

_STYLE = ErrorStyle(where="benchmark config")
_MODELS_SHAPE = "benchmark config: 'models' must map labels to {config: path, overrides: {...}}"
_SCAN_SHAPE = ("benchmark config: 'size_scan' must be {model: <one of models>, sizes: [jets, ...]} or "
               "{models: [<models>...], sizes: [jets, ...]}")


def _resolve_path(path: str, base: Path) -> str:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return str(candidate)
    return str(base / candidate)


def _config_file(label: str, entry: dict, base: Path) -> str:
    """The resolved path of a model's train config; InputError naming the model if it does not exist."""
    if not isinstance(entry.get("config"), str):
        raise InputError(_MODELS_SHAPE)
    path = _resolve_path(entry["config"], base)
    if not Path(path).is_file():
        raise InputError(f"benchmark config: models.{label}.config not found: {path}")
    return path


class BenchmarkModel(ConfigModel):
    """config : a ``jetgnn train`` config; overrides : dotted keys -> values for this model."""

    config: str
    overrides: dict[str, Any] = {}


class BenchmarkData(ConfigModel):
    train: Files = []
    test: Files = []
    max_jets: PositiveInt | None = None


class SizeScan(ConfigModel):
    """model : one model to scan, or models : several (each trained at every size, seed 0)."""

    model: str | None = None
    models: list[str] = []
    sizes: list[int]

    @property
    def labels(self) -> list[str]:
        return list(self.models) or [self.model]


class BenchmarkConfig(ConfigModel):
    """A validated benchmark config (see the module docstring)."""

    task: str | None = None
    models: dict[str, BenchmarkModel]
    reference: str | None = None
    data: BenchmarkData = BenchmarkData()
    seeds: PositiveInt = 3
    overrides: dict[str, Any] = {}
    size_scan: SizeScan | None = None

    @model_validator(mode="before")
    @classmethod
    def _shapes(cls, data, info: ValidationInfo):
        if not isinstance(data, dict):
            return data
        models = data.get("models")
        if not isinstance(models, dict) or not models or not all(isinstance(e, (dict, BenchmarkModel))
                                                                 for e in models.values()):
            raise InputError(_MODELS_SHAPE)
        base = (info.context or {}).get("base")
        if base is not None:  # model configs: relative to the working directory, else to the benchmark file
            models = {label: {**entry, "config": _config_file(label, entry, base)} if isinstance(entry, dict)
                      else entry for label, entry in models.items()}
        scan = data.get("size_scan")
        if isinstance(scan, SizeScan):
            scan = scan.model_dump()
        if scan is not None:
            labels = scan.get("models") or [scan.get("model")] if isinstance(scan, dict) else None
            if (not isinstance(labels, list) or not labels or not all(label in models for label in labels)
                    or (scan.get("model") is not None and scan.get("models")) or not scan.get("sizes")
                    or not all(isinstance(n, int) and not isinstance(n, bool) and n > 1 for n in scan["sizes"])):
                raise InputError(_SCAN_SHAPE)
        reference = data.get("reference") or next(iter(models))
        if reference not in models:
            raise InputError(f"benchmark config: 'reference' must be one of {', '.join(models)}, got "
                             f"{reference!r}{did_you_mean(reference, models)}")
        return {**data, "models": models, "reference": reference}




def load_benchmark_config(source, train=None, test=None, seeds=None) -> BenchmarkConfig:
    """A validated benchmark config; command-line values override the file. Paths in the file are relative to
    the working directory, else to the file."""
    base = Path(os.fspath(source)).resolve().parent if not isinstance(source, dict) else Path.cwd()
    raw = load_config(source)
    if seeds is not None:
        raw["seeds"] = seeds
    cfg = validate(BenchmarkConfig, raw, _STYLE, context={"base": base})
    cfg.data.train = list(train) if train else [_resolve_path(f, base) for f in cfg.data.train]
    cfg.data.test = list(test) if test else [_resolve_path(f, base) for f in cfg.data.test]
    if not cfg.data.train:
        raise InputError("benchmark config: no training files (data.train or --train)")
    return cfg
