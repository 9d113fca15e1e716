"""Typed configuration: pydantic models with one-line errors that name the dotted key at fault.

Every user-facing schema of jetgnn (training and pre-training configs, benchmark configs, branch mappings,
graph options, augmentations) is a :class:`ConfigModel`. :func:`validate` turns pydantic's ``ValidationError``
into one :class:`~jetgnn.errors.InputError` line such as

    config: unknown key 'training.epoch' (allowed: training.epochs, training.lr, ...); did you mean 'training.epochs'?
    config: 'training.schedule' must be one of cosine, one_cycle, constant, got 'linear'

Models are strict (an int is not a bool, a string is not a number), except that float fields take numeric strings,
because YAML 1.1 (PyYAML) reads ``3e-4`` as a string.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from jetgnn.errors import InputError


def _number_from_string(value):
    """'3e-4' -> 0.0003 (PyYAML reads exponents without a dot as strings); other input unchanged."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


#: a finite float field (NaN and inf are errors) that also takes numeric strings
Float = Annotated[float, BeforeValidator(_number_from_string), Field(allow_inf_nan=False)]
PositiveFloat = Annotated[Float, Field(gt=0.0)]
NonNegativeFloat = Annotated[Float, Field(ge=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class ConfigModel(BaseModel):
    """Base of jetgnn's typed configs: unknown keys are errors, values are checked when set.

    Sections also read like the plain dicts the configs used to be (``cfg["training"]["lr"]``, ``"lr" in cfg``,
    ``**cfg.data.graph``), so code and notebooks written against dict configs keep working.
    """

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)

    def __getitem__(self, key: str):
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def keys(self):
        return type(self).model_fields.keys()

    def get(self, key: str, default=None):
        return getattr(self, key) if key in self else default

    def to_dict(self) -> dict:
        """Plain dicts, lists and scalars (YAML / JSON / ``torch.save(weights_only)`` safe)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ErrorStyle:
    """How :func:`validate` words an error.

    where : prefix of the line ("config", a mapping file name, "" for none);
    quote : keys in quotes ('training.lr') or bare (k);
    sections : unknown keys named within their section ("particles: unknown key 'mass'") instead of dotted;
    unknown : the phrase for an unknown key ("unknown key", "unknown graph option", "unknown parameter").
    """

    where: str = "config"
    quote: bool = True
    sections: bool = False
    unknown: str = "unknown key"


def did_you_mean(word: str, choices) -> str:
    """'; did you mean 'x'?' for the closest of ``choices`` to a misspelt ``word``, else ''."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def validate(model: type[ConfigModel], data, style: ErrorStyle = ErrorStyle(), context: dict | None = None):
    """``model`` validated from ``data`` (a mapping or an instance); bad input is one InputError line.
    ``context`` reaches the validators (pydantic's validation context)."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise InputError(_join(style.where, f"must be a mapping (key: value), got {type(data).__name__}"))
    try:
        return model.model_validate(data, context=context)
    except ValidationError as err:
        errors = err.errors()
        # a misspelt key also leaves the right one missing: name the unknown key, which says both
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raise InputError(describe(model, first, style)) from None


def _join(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


def _inner(annotation):
    """The model class, or dict / list annotation, inside Annotated / Optional / Union wrappers."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            structured = [a for a in args if _inner(a) is not None]
            if not structured:
                return None
            annotation = structured[0]
        else:
            break
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (dict, list, tuple):
        return annotation
    return None


def _walk(model: type[BaseModel], loc: tuple) -> tuple[list[str], Any]:
    """(the field names along ``loc``, the type found at their end: a model class, a dict/list annotation or
    None); location parts that name no field (pydantic's union branches) end the walk."""
    names: list[str] = []
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = _inner(current.model_fields[part].annotation)
        elif typing.get_origin(current) is dict and isinstance(part, str):
            current = _inner(typing.get_args(current)[1]) if typing.get_args(current) else None
        elif typing.get_origin(current) in (list, tuple) and isinstance(part, int):
            args = typing.get_args(current)
            current = _inner(args[0]) if args else None
        else:
            break
        names.append(str(part))
    return names, current


def _choices(expected: str) -> list[str]:
    """["a", "b", "c"] from pydantic's "'a', 'b' or 'c'"."""
    return [p.strip().strip("'\"") for p in re.split(r", | or ", expected)]


def _unknown_key(model: type[BaseModel], loc: tuple, style: ErrorStyle) -> str:
    section, holder = _walk(model, loc[:-1])
    leaf = str(loc[-1])
    allowed = list(holder.model_fields) if isinstance(holder, type) and issubclass(holder, BaseModel) else []
    if style.sections:
        where = ": ".join(p for p in (style.where, ".".join(section)) if p)
        return _join(where, f"{style.unknown} {leaf!r} (allowed: {', '.join(allowed)}){did_you_mean(leaf, allowed)}")
    prefix = "".join(f"{s}." for s in section)
    allowed = [f"{prefix}{a}" for a in allowed]
    full = f"{prefix}{leaf}"
    return _join(style.where, f"{style.unknown} {full!r} (allowed: {', '.join(allowed)}){did_you_mean(full, allowed)}")


_KINDS = {"int": "int", "float": "float", "bool": "bool", "string": "str", "list": "list", "tuple": "list",
          "set": "list"}


def describe(model: type[BaseModel], error: dict, style: ErrorStyle = ErrorStyle()) -> str:
    """One line for one pydantic error of ``model``."""
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    names, _ = _walk(model, loc)
    dotted = ".".join(names)
    key = f"{dotted!r}" if style.quote else dotted
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key(model, loc, style)
    if kind in ("value_error", "assertion_error") and isinstance(ctx.get("error"), InputError):
        return str(ctx["error"])
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", error["msg"]))
        if style.sections:
            return _join(": ".join(p for p in (style.where, dotted) if p), message)
        return _join(style.where, f"{key} {message}" if dotted else message)
    if kind == "literal_error":
        choices = _choices(ctx.get("expected", ""))
        message = f"must be one of {', '.join(choices)}, got {value!r}{did_you_mean(value, choices)}"
    elif kind == "missing":
        message = "is required"
    elif kind == "greater_than" and ctx.get("gt") == 0:
        message = f"must be {'a positive integer' if isinstance(ctx['gt'], int) else 'positive'}, got {value!r}"
    elif kind == "greater_than_equal" and ctx.get("ge") == 0:
        message = f"must not be negative, got {value!r}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "above", "greater_than_equal": "at least", "less_than": "below",
                 "less_than_equal": "at most"}[kind]
        message = f"must be {bound} {next(iter(ctx.values()))}, got {value!r}"
    elif kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        message = f"must be a mapping (key: value), got {type(value).__name__}"
    elif kind.split("_")[0] in _KINDS:
        message = f"should be a {_KINDS[kind.split('_')[0]]}, got {value!r}"
    else:
        message = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {value!r}"
    return _join(style.where, f"{key} {message}" if dotted else message)


def _yaml_problem(err) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(err, "problem", None) or err.__class__.__name__
    return f"{problem}{where}"


def parse_yaml(text: str, where: str):
    """YAML text parsed; a syntax error is one InputError naming ``where`` and the line."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InputError(f"{where}: not valid YAML ({_yaml_problem(err)})") from None


def read_yaml(path, what: str = "config"):
    """A YAML file parsed; a missing file, a file that is not UTF-8 text and a syntax error are each one
    InputError naming the file."""
    import os
    from pathlib import Path

    path = Path(os.fspath(path))
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[:err.start].count(b"\n") + 1
        raise InputError(f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} on line {line}); save the "
                         f"{what} as UTF-8") from None
    except OSError as err:
        raise InputError(f"cannot read {what} file {path}: {err.strerror or err}") from None
    return parse_yaml(text, str(path))
