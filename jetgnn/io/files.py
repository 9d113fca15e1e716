"""Finding and opening ROOT files, with one clear error per problem."""

from __future__ import annotations

import glob
import os

import uproot

from jetgnn.errors import InputError
from jetgnn.io.schema import TREE_NAME


def expand_paths(patterns) -> list[str]:
    """Expand file names and globs (in order); raise InputError naming a pattern that matches nothing."""
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    paths: list[str] = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"no file matches {pattern!r}")
        for path in matches:
            if not os.path.isfile(path):
                raise InputError(f"file not found: {path}")
        paths.extend(matches)
    if not paths:
        raise InputError("no input files given")
    return paths


def open_tree(path: str, tree_name: str | None = None):
    """Open the TTree ``tree_name`` of a ROOT file (default ``tree``, else the file's only TTree)."""
    try:
        fin = uproot.open(path)
    except Exception as err:  # uproot raises several types for non-ROOT input
        detail = " ".join(str(err).split())[:160]  # uproot's messages span several lines
        raise InputError(f"{path} is not a readable ROOT file ({err.__class__.__name__}: {detail})") from None
    trees = [k.split(";")[0] for k, cls in fin.classnames().items() if cls in ("TTree", "ROOT::RNTuple")]
    name = tree_name
    if name is None:
        name = TREE_NAME if TREE_NAME in trees or len(trees) != 1 else trees[0]
    if name not in trees:
        raise InputError(f"{path} has no TTree named {name!r} (trees: {', '.join(trees) or 'none'})")
    return fin[name]
