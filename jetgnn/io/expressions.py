"""Field expressions of branch mappings: ``pt: AnalysisJetsAuxDyn.pt / 1000``, ``d0val: where(d0 == -1, 0, d0)``.

An expression is Python syntax over the input's column names (branches, HDF5 datasets, parquet fields; names
with dots such as ``ReconstructedParticles.momentum.x`` included, other names in backticks), with numpy's
element-wise functions, ``ak`` (awkward), ``pdg_mass(pid)`` and ``pdg_charge(pid)`` available; members of object
columns read as attributes (``jet_p4.fE``, ``jet_p4.fP.fX`` of a ``std::vector<TLorentzVector>``). A plain column
name is the column itself. Expressions
are evaluated on whole chunks (columnar); the names they read are known before reading
(:func:`columns_of`), so only those columns are read.

As in weaver-core's ``new_variables``, a mapping is trusted code of its user: expressions run with Python's
``eval`` on a namespace of numpy/awkward functions and the chunk's columns, without builtins.
"""

from __future__ import annotations

import re
from functools import lru_cache

import awkward as ak
import numpy as np

from jetgnn.errors import InputError
from jetgnn.io.schema import pid_charge_mass

#: functions an expression may call (element-wise on numpy and awkward arrays)
FUNCTIONS = {
    name: getattr(np, name)
    for name in ("abs", "sqrt", "exp", "log", "log10", "log1p", "sin", "cos", "tan", "arctan2", "arcsin", "arccos",
                 "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "hypot", "where", "minimum",
                 "maximum", "clip", "sign", "isfinite", "isnan", "floor", "ceil", "round")
}
FUNCTIONS.update({"np": np, "ak": ak, "pi": np.pi, "True": True, "False": False,
                  "pdg_mass": lambda pid: pid_charge_mass(pid)[1], "pdg_charge": lambda pid: pid_charge_mass(pid)[0]})

_NAME = re.compile(r"`([^`]+)`|(?<![0-9A-Za-z_.])[A-Za-z_][A-Za-z0-9_.#]*")
_KEYWORDS = {"and", "or", "not", "if", "else", "in", "is", "None"}


@lru_cache(maxsize=4096)
def _compile(expression: str, keys: frozenset) -> tuple[object, tuple[str, ...]]:
    """(code, the column names it reads, in placeholder order)."""
    names: list[str] = []

    def substitute(match: re.Match) -> str:
        token = match.group(1) if match.group(1) is not None else match.group(0)
        if match.group(1) is not None and token not in keys:
            raise InputError(f"expression {expression!r}: no column {token!r}")
        if token in keys:
            if token not in names:
                names.append(token)
            return f"_c{names.index(token)}"
        if token in FUNCTIONS or token in _KEYWORDS or token.split(".")[0] in ("np", "ak"):
            return token
        head = column_prefix(token, keys)
        if head is not None:  # a member of an object column, e.g. p4.fE or links.m_persIndex
            if head not in names:
                names.append(head)
            return f"_c{names.index(head)}{token[len(head):]}"
        # a dotted name whose head is a column (e.g. a method call) is not supported: name the closest column
        raise InputError(f"expression {expression!r}: {token!r} is neither a column nor a function "
                         f"({_suggest(token, keys)})")

    text = expression if expression not in keys else f"`{expression}`"
    translated = _NAME.sub(substitute, text)
    try:
        code = compile(translated, f"<expression {expression}>", "eval")
    except SyntaxError as err:
        raise InputError(f"expression {expression!r} is not valid Python syntax ({err.msg})") from None
    return code, tuple(names)


def column_prefix(token: str, keys) -> str | None:
    """The longest column name that ``token`` starts with, followed by ``.member`` (None if there is none)."""
    parts = token.split(".")
    for n in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:n])
        if head in keys:
            return head
    return None


def _suggest(token: str, keys) -> str:
    import difflib

    close = difflib.get_close_matches(token, list(keys), n=3)
    return f"did you mean {', '.join(close)}?" if close else "check the column names with `jetgnn summary`-like tools"


def columns_of(expression: str, keys) -> tuple[str, ...]:
    """The column names ``expression`` reads (InputError for an unknown name or bad syntax)."""
    return _compile(expression, frozenset(keys))[1]


def evaluate(expression: str, columns: dict, where: str):
    """The value of ``expression`` on a chunk's ``columns`` (name -> array); errors name ``where``."""
    code, names = _compile(expression, frozenset(columns))
    namespace = {"__builtins__": {}, **FUNCTIONS, **{f"_c{k}": columns[name] for k, name in enumerate(names)}}
    try:
        return eval(code, namespace)  # noqa: S307 - a user's own mapping (module docstring)
    except InputError:
        raise
    except Exception as err:
        raise InputError(f"{where}: expression {expression!r} failed ({err.__class__.__name__}: "
                         f"{' '.join(str(err).split())[:120]})") from None
