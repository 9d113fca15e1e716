"""Figures in the field's style (mplhep), written atomically, without pyplot.

The package's plots never switch or use the caller's matplotlib backend (inline plots in a notebook keep working)
and leave no open figures behind: they draw on a ``matplotlib.figure.Figure`` inside the mplhep ROOT style.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from jetgnn.utils.files import atomic_path

#: axis labels of ROC plots (SPEC §7)
EFFICIENCY_LABEL = r"signal efficiency $\varepsilon_S$"
REJECTION_LABEL = r"background rejection $1/\varepsilon_B$"


def style() -> dict:
    """The rcParams of every jetgnn plot: mplhep's experiment-neutral ROOT style."""
    import mplhep

    return dict(mplhep.style.ROOT)


@contextlib.contextmanager
def figure(path, *args, figsize: tuple[float, float] = (8.0, 6.5), **subplots):
    """Yield ``(fig, axes)`` (arguments as for ``Figure.subplots``) in the jetgnn style; on leaving the block the
    figure is laid out and written to ``path`` (png) atomically."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(style()):
        fig = Figure(figsize=figsize)
        yield fig, fig.subplots(*args, **subplots)
        fig.tight_layout()
        with atomic_path(Path(path), suffix=".png") as tmp:
            fig.savefig(tmp, dpi=72)
