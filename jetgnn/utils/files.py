"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix: str = ".tmp"):
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path``, on error it is removed.

    Readers never see a half-written file. The temporary file gets the usual permissions (mkstemp makes 0600).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, payload: dict) -> None:
    """``payload`` as indented JSON, written atomically (numpy scalars and other numbers as floats)."""
    import json

    with atomic_path(path, suffix=".json") as tmp, open(tmp, "w") as f:
        json.dump(payload, f, indent=2, default=float)
        f.write("\n")


def write_yaml(path, payload: dict) -> None:
    """``payload`` as YAML (keys in their order), written atomically."""
    import yaml

    with atomic_path(path, suffix=".yaml") as tmp, open(tmp, "w") as f:
        yaml.safe_dump(payload, f, sort_keys=False)


def write_text(path, text: str, suffix: str = ".txt") -> None:
    """``text`` written atomically."""
    with atomic_path(path, suffix=suffix) as tmp:
        Path(tmp).write_text(text)
