"""Machine and version metadata recorded with every benchmark result."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jetgnn.utils.environment import machine

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, payload: dict) -> Path:
    """Write ``payload`` plus machine metadata to benchmarks/results/<name>.json atomically."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump({"machine": machine(), **payload}, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path
