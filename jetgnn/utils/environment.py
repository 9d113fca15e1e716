"""The machine and package versions, recorded with benchmark results so that numbers can be compared."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path

from jetgnn.utils.malloc import malloc_setting, onednn_cache_setting

PACKAGES = ("jetgnn", "numpy", "awkward", "uproot", "vector", "torch", "torch-geometric", "lightning", "torchmetrics",
            "pydantic", "onnxruntime",
            "pythia8mc", "fastjet")


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
        "gpu": _gpu_name(),
        "versions": versions,
        "malloc": {"jetgnn": malloc_setting(), "onednn_primitive_cache": onednn_cache_setting(),
                   **{k: v for k, v in os.environ.items() if k.startswith("MALLOC_") and k.endswith("_")}},
    }


def _gpu_name() -> str | None:
    """The first CUDA device's name, or None without one (torch is imported only if already loaded)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)
