"""Exceptions that the CLI turns into one clear line and exit status 2."""

from __future__ import annotations


class JetGNNError(Exception):
    """Base class of jetgnn's user-facing errors."""


class InputError(JetGNNError, ValueError):
    """Bad input from the user: a file, branch, key or value at fault.

    The message names the thing at fault; the CLI prints it on one line and exits with status 2.
    """


class OutputError(JetGNNError, OSError):
    """An output (file or folder) cannot be written: missing or read-only folder, a file in the way, full disk.

    The message names the path and the reason; the CLI prints it on one line and exits with status 2.
    """


class MissingExtraError(JetGNNError, ImportError):
    """An optional extra (e.g. ``jetgnn[generate]``) is needed but not installed."""

    def __init__(self, extra: str, packages: str, feature: str):
        super().__init__(
            f"{feature} needs the optional '{extra}' extra ({packages}): "
            f"pip install 'jetgnn[{extra}]'"
        )


class ExportMismatchError(JetGNNError, RuntimeError):
    """An exported model's outputs differ from the PyTorch model's beyond the tolerance."""


class TrainingDiverged(JetGNNError, RuntimeError):
    """Training stopped by a divergence guard (a NaN loss, a collapsed energy); the message says what to change."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during a long command. ``path`` is what it was writing; ``resumable`` says whether
    finished work was kept there (resume with ``--resume``, or for generate by rerunning the command)."""

    def __init__(self, path, resumable: bool, detail: str = ""):
        super().__init__(f"interrupted ({detail or path})")
        self.path, self.resumable, self.detail = path, resumable, detail
