"""The building blocks every settings section is made of: strict types, rules, error messages.

Settings are frozen pydantic dataclasses (so ``dataclasses.replace``, ``fields`` and ``asdict``
keep working, and ``replace`` re-validates) that reject unknown keys. Pydantic does the
checking; this module turns its errors into one line that names the full dotted key
(``params: `synth.harm.beta.drug` must be a number, got 'x'``), raised as :class:`ParamsError`.

Scalar types are strict (``true`` is not an integer, ``"3"`` is not a number); dates are
``YYYY-MM-DD``; mappings are read-only once loaded. Range constraints (:data:`Prob`,
:data:`NonNeg`, :data:`Pos`) sit beside the field they govern and appear in the JSON schema.
Cross-field rules are ``@model_validator(mode="after")`` methods that raise :func:`rule`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import annotated_types
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Strict,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic import ValidationError as _PydanticError
from pydantic_core import PydanticCustomError

from secondlook.errors import ParamsError

__all__ = [
    "CONFIG",
    "ParamsError",
    "Int",
    "Float",
    "Bool",
    "Str",
    "Date",
    "Prob",
    "NonNeg",
    "Pos",
    "FrozenMap",
    "one_of",
    "enum_schema",
    "rule",
    "from_mapping",
]

#: the pydantic configuration of every settings class: unknown keys are an error
CONFIG = ConfigDict(extra="forbid")


@dataclasses.dataclass(frozen=True)
class Meaning:
    """What a constrained type means, in the words an error message uses."""

    text: str


def _date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    message = f"must be a date YYYY-MM-DD, got {value!r}"
    raise PydanticCustomError("iso_date", "{message}", {"message": message})


#: an integer (``true`` and ``3.0`` are not)
Int = Annotated[int, Strict()]
#: a number (integer or float, not ``true``)
Float = Annotated[float, Strict()]
#: ``true`` or ``false``
Bool = Annotated[bool, Strict()]
#: a string
Str = Annotated[str, Strict()]
#: a date, written ``YYYY-MM-DD`` (YAML reads it as a date; a quoted string is parsed)
Date = Annotated[dt.date, BeforeValidator(_date)]
#: a probability in [0, 1]
Prob = Annotated[
    float, Strict(), annotated_types.Interval(ge=0, le=1), Meaning("a probability in [0, 1]")
]
#: a number >= 0
NonNeg = Annotated[float, Strict(), annotated_types.Ge(0), Meaning("a number >= 0")]
#: an integer > 0
Pos = Annotated[int, Strict(), annotated_types.Gt(0), Meaning("an integer > 0")]

K = TypeVar("K")
V = TypeVar("V")
#: a read-only mapping (a ``types.MappingProxyType`` once loaded)
FrozenMap = Annotated[Mapping[K, V], AfterValidator(types.MappingProxyType)]

T = TypeVar("T")


def one_of(allowed: tuple[str, ...]) -> AfterValidator:
    """A validator that a string is one of ``allowed``.

    Use as ``Annotated[str, Strict(), one_of(names), enum_schema(names)]``: unlike
    ``Literal[...]`` the value stays typed ``str``, so code keyed by it needs no casts.
    """

    def check(value: str) -> str:
        if value not in allowed:
            message = f"must be one of {', '.join(allowed)}; got {value!r}"
            raise PydanticCustomError("one_of", "{message}", {"message": message})
        return value

    return AfterValidator(check)


def enum_schema(allowed: tuple[str, ...]) -> WithJsonSchema:
    """The JSON schema of a string that is one of ``allowed``."""
    return WithJsonSchema({"enum": list(allowed), "type": "string"})


def rule(key: str, message: str) -> PydanticCustomError:
    """The error a cross-field rule raises.

    Parameters
    ----------
    key
        The dotted key, relative to the class whose rule it is, that the message names
        (``"valid.start"``).
    message
        What is wrong, starting with a verb (``"must be after train.end (2019-12-31)"``).

    Returns
    -------
    pydantic_core.PydanticCustomError
        To be raised from a ``model_validator``; :func:`from_mapping` places it at the key.
    """
    return PydanticCustomError("rule", "{message}", {"key": key, "message": message})


def _strip(hint: Any) -> tuple[Any, list[Any]]:
    """The bare type under ``Annotated``/``X | None``, and the ``Annotated`` extras."""
    extras: list[Any] = []
    while True:
        if get_origin(hint) is Annotated:
            hint, *more = get_args(hint)
            extras += more
        elif get_origin(hint) in (types.UnionType, typing.Union):
            inner = [a for a in get_args(hint) if a is not type(None)]
            hint = inner[0]
        else:
            return hint, extras


def _hint_at(cls: Any, loc: tuple[Any, ...]) -> Any:
    """The annotation at ``loc`` inside settings class ``cls`` (None where it cannot tell)."""
    hint: Any = cls
    for part in loc:
        bare, _ = _strip(hint)
        if dataclasses.is_dataclass(bare) and isinstance(bare, type):
            hints = typing.get_type_hints(bare, include_extras=True)
            if part not in hints:
                return None
            hint = hints[part]
        elif get_origin(bare) is tuple:
            args = get_args(bare)
            if len(args) == 2 and args[1] is Ellipsis:
                hint = args[0]
            elif isinstance(part, int) and part < len(args):
                hint = args[part]
            else:
                return None
        elif get_origin(bare) in (Mapping, dict, typing.Mapping):
            hint = get_args(bare)[1]
        else:
            return None
    return hint


def _dotted(path: str, loc: tuple[Any, ...]) -> str:
    out = path
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_KINDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_MAPPINGS = {"dict_type", "mapping_type", "dataclass_type", "dataclass_exact_type", "model_type"}


def _message(cls: type, error: Any, path: str) -> str:
    """One pydantic error as ``params: `dotted.key` message``."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "rule":
        key = ctx["key"]
        return f"params: `{_dotted(path, loc)}.{key}` {ctx['message']}"
    where = f"params: `{_dotted(path, loc)}`"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        owner, _ = _strip(_hint_at(cls, loc[:-1]))
        known = sorted(f.name for f in dataclasses.fields(owner)) if owner else []
        return f"{where} is not a known key (known: {', '.join(known)})"
    if kind == "missing":
        return f"{where} is missing"
    if kind in _KINDS:
        return f"{where} must be {_KINDS[kind]}, got {value!r}"
    if kind in _MAPPINGS:
        return f"{where} must be a mapping, got {type(value).__name__}"
    if kind in ("too_short", "too_long"):
        bare, _ = _strip(_hint_at(cls, loc))
        return f"{where} must be a list of {len(get_args(bare))} values, got {value!r}"
    if kind == "literal_error":
        bare, _ = _strip(_hint_at(cls, loc))
        allowed = get_args(bare) if get_origin(bare) is Literal else (ctx.get("expected"),)
        return f"{where} must be one of {', '.join(map(str, allowed))}; got {value!r}"
    if kind in _BOUNDS:
        _, extras = _strip(_hint_at(cls, loc))
        meaning = [e.text for e in extras if isinstance(e, Meaning)]
        bound = next(iter(ctx.values()), "")
        text = meaning[0] if meaning else f"a number {_BOUNDS[kind]} {bound}"
        return f"{where} must be {text}, got {value!r}"
    return f"{where} {error['msg']}"


def from_mapping(cls: type[T], data: Any, path: str) -> T:
    """Build the settings class ``cls`` from ``data``.

    Parameters
    ----------
    cls
        A settings class (a pydantic dataclass built with :data:`CONFIG`).
    data
        The parsed YAML mapping.
    path
        Dotted name of the section, used in error messages (``"synth"``).

    Returns
    -------
    T
        The validated, frozen settings.

    Raises
    ------
    ParamsError
        On an unknown, missing, mistyped or out-of-range key, or a broken cross-field rule;
        the message names the first such key (unknown keys first).
    """
    if not isinstance(data, Mapping):
        raise ParamsError(f"params: `{path}` must be a mapping, got {type(data).__name__}")
    try:
        return TypeAdapter(cls).validate_python(dict(data))
    except _PydanticError as exc:
        errors = exc.errors()
        unknown = [
            e for e in errors if e["type"] in ("unexpected_keyword_argument", "extra_forbidden")
        ]
        raise ParamsError(_message(cls, (unknown or errors)[0], path)) from None
