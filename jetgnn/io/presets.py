"""Shipped branch mappings of real formats, selectable by name (``--mapping cms-pfnano``, ``mapping="delphes"``).

Each preset is a YAML mapping in ``jetgnn/io/presets/`` that states the format version it follows; ``jetclass``
is the no-mapping default.
"""

from __future__ import annotations

from pathlib import Path

_FOLDER = Path(__file__).resolve().parent / "presets"

#: preset name -> its YAML file (None: the jetclass schema, read without a mapping)
PRESETS: dict[str, Path | None] = {"jetclass": None, **{p.stem: p for p in sorted(_FOLDER.glob("*.yaml"))}}


def preset_path(name: str) -> Path | None:
    """The YAML file of preset ``name`` (None for jetclass); KeyError if there is no such preset."""
    return PRESETS[name]
