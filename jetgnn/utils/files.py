"""Atomic file output (write to a temporary file beside the target, then rename) and output checks.

Outputs are checked before any work starts (:func:`output_file`, :func:`output_dir`): a folder that cannot be
created, is read-only, is full or is a file, and an output that is one of the inputs, are one
:class:`~jetgnn.errors.OutputError` naming the path. The checks create a probe file, since permission bits lie
for root and for read-only or special file systems (``/proc``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from jetgnn.errors import OutputError

#: Prefix of the temporary files of :func:`atomic_path` (``.NAME.jetgnn-tmp.<random><suffix>``).
TEMP_MARK = "jetgnn-tmp"


def describe_os_error(err: OSError) -> str:
    """One line for an OSError: the reason and the path(s) it names."""
    reason = err.strerror or (errno.errorcode.get(err.errno, "") if err.errno else "") or str(err)
    names = [os.fspath(n) for n in (err.filename, err.filename2) if n is not None]
    return f"{reason}: {' -> '.join(names)}" if names else reason


def _probe(folder: Path, what: str, path: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{TEMP_MARK}-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write {what} {path}: {err.strerror or err}") from None


def _same_as_inputs(path: Path, inputs: Iterable | None, what: str) -> None:
    for other in inputs or ():
        other = Path(other)
        try:
            same = path.exists() and other.exists() and os.path.samefile(path, other)
        except OSError:
            same = False
        if same:
            raise OutputError(f"{what} {path} is one of the inputs; choose another output")


def output_file(path, what: str = "output file", inputs: Iterable | None = None) -> Path:
    """Check that ``path`` can be written (its folder exists and takes files; it is not a folder nor one of
    ``inputs``); return it as a Path. Raises OutputError naming the path."""
    if path is None or isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"{what} must be a file path, got {path!r}")
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a directory, expected a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {what} {path}: folder {folder} does not exist")
    _same_as_inputs(path, inputs, what)
    _probe(folder, what, path)
    return path


def output_dir(path, what: str = "output folder") -> tuple[Path, bool]:
    """Create the folder ``path`` (with parents) if needed and check that it takes files.

    Returns (path, created): ``created`` is True if this call made it (so a failure can remove it with
    :func:`remove_created`). Raises OutputError naming the path (a file in the way, read-only, ...).
    """
    if path is None or isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"{what} must be a folder path, got {path!r}")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} is an existing file, expected a folder")
    created = not path.exists()
    if created:
        top = path
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        try:
            path.mkdir(parents=True)
        except OSError as err:
            raise OutputError(f"cannot create {what} {path}: {err.strerror or err}") from None
        try:
            _probe(path, what, path)
        except OutputError:
            shutil.rmtree(top, ignore_errors=True)
            raise
        return path, True
    _probe(path, what, path)
    return path, False


def remove_created(path) -> None:
    """Remove a folder that :func:`output_dir` created, after a failure (nothing is left behind)."""
    shutil.rmtree(path, ignore_errors=True)


def remove_stale_temporaries(folder, name: str) -> list[Path]:
    """Remove the temporary files that a killed :func:`atomic_path` left for the target ``folder/name``."""
    removed = []
    for stale in Path(folder).glob(f".{name}.{TEMP_MARK}*"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


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
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TEMP_MARK}.", suffix=suffix, dir=path.parent)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, OutputError) and err.errno in _OUTPUT_ERRNOS:
            raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
        raise


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


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


#: file of a parts folder that says which run its parts belong to
PARTS_MANIFEST = "manifest.json"


def parts_folder(out) -> Path:
    """``<out>.parts/``: where the resumable parts of ``out`` (generation chunks, prediction parts) are written."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def read_parts_manifest(parts: Path) -> dict | None:
    """The manifest of a parts folder, or None when there is none (or it cannot be read)."""
    import json

    try:
        return json.loads((parts / PARTS_MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def claim_parts_dir(parts: Path, manifest: dict, pattern: str, what: str) -> None:
    """Create (or join) a folder of resumable parts, ``<out>.parts/``, holding its manifest.

    Job-array tasks of one run may create it at the same time (each writes the same manifest atomically); a folder
    whose manifest differs — or that holds parts (``pattern``) without one — belongs to another run: one
    InputError saying so (``what`` names the run, e.g. "generation run").
    """
    import json

    from jetgnn.errors import InputError

    try:
        parts.mkdir(exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create the parts folder {parts}: {err.strerror or err}") from None
    path = parts / PARTS_MANIFEST
    try:
        existing = json.loads(path.read_text())
    except FileNotFoundError:
        existing = None
    except (OSError, ValueError):
        existing = "unreadable"
    if existing is None and not any(parts.glob(pattern)):
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(manifest))
    elif existing != manifest:
        raise InputError(f"{parts} holds the parts of a different {what} (not {manifest}); remove it or choose "
                         f"another --out")
