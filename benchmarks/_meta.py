"""Machine and version metadata recorded with every benchmark result."""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("jetgnn", "numpy", "awkward", "uproot", "vector", "torch", "torch-geometric", "pythia8mc", "fastjet")


def machine() -> dict:
    """CPU model, core count, memory and package versions of this machine."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        mem_gib = None
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


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
