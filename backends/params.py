"""Typed backend parameters: one frozen dataclass feeds the generated form, ``--param k=v`` on the
CLI, the result-cache key and the provenance record (STYLE.md pattern 5; Slicer's
``Annotated[float, WithinRange(lo, hi)]``, MONAI's ``config`` but typed, so a wrong key or value
fails at submit time with a message naming the parameter, never deep inside a run).

Declare::

    @dataclass(frozen=True)
    class VesselParams(Params):
        sigma_mm: Annotated[float, Range(0.3, 5.0), Help("vessel scale")] = 1.0
        method: Literal["frangi", "sato"] = "frangi"
        keep_largest: bool = True

Supported value types: ``float``, ``int``, ``bool``, ``str``, ``Literal[...]`` (or
``Annotated[str, Choices(...)]``). Every field needs a default. Subclassing :class:`Params` makes
the constructor itself validate (``VesselParams(sigma_mm=9)`` raises :class:`ParamError`).
"""
from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from app.data.types import LoupeError

VALUE_TYPES = (bool, int, float, str)


class ParamError(LoupeError, ValueError):
    """A parameter is unknown, of the wrong type or outside its range; the message says which."""


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; ``None`` leaves a side open."""

    lo: float | None = None
    hi: float | None = None

    def text(self) -> str:
        lo = "-inf" if self.lo is None else _fmt(self.lo)
        hi = "inf" if self.hi is None else _fmt(self.hi)
        return f"{lo}..{hi}"


@dataclass(frozen=True)
class Choices:
    values: tuple

    def __init__(self, *values) -> None:
        object.__setattr__(self, "values", tuple(values))


@dataclass(frozen=True)
class Help:
    text: str


def _fmt(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class ParamField:
    """What a form, a CLI parser or a remote client needs to know about one parameter."""

    name: str
    type: type
    default: Any
    range: Range | None = None
    choices: tuple | None = None
    help: str = ""

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.range is not None:
            return f"{self.type.__name__} within {self.range.text()}"
        return self.type.__name__

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.__name__, "default": self.default,
                "min": None if self.range is None else self.range.lo,
                "max": None if self.range is None else self.range.hi,
                "choices": None if self.choices is None else list(self.choices), "help": self.help}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> ParamField:
        types = {t.__name__: t for t in VALUE_TYPES}
        if d.get("type") not in types:
            raise ParamError(f"parameter {d.get('name')!r}: unsupported type {d.get('type')!r}")
        rng = None if d.get("min") is None and d.get("max") is None else Range(d.get("min"), d.get("max"))
        ch = None if d.get("choices") is None else tuple(d["choices"])
        return ParamField(str(d["name"]), types[d["type"]], d.get("default"), rng, ch, d.get("help", ""))

    # --- value checks ---
    def coerce(self, value: Any) -> Any:
        """Turn a CLI string or JSON value into this field's type, or raise ParamError."""
        t = self.type
        try:
            if isinstance(value, str) and t is not str:
                value = _parse_text(value, t)
            elif t is bool:
                if not isinstance(value, bool):
                    raise ValueError
            elif t is int:
                if isinstance(value, bool) or not float(value).is_integer():
                    raise ValueError
                value = int(value)
            elif t is float:
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
            elif t is str and not isinstance(value, str):
                raise ValueError
        except (TypeError, ValueError):
            raise ParamError(f"parameter {self.name!r}: {value!r} is not a valid {t.__name__}; "
                             f"allowed: {self.allowed()}") from None
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise ParamError(f"parameter {self.name!r}: {value!r} is not allowed; {self.allowed()}")
        if self.type in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                raise ParamError(f"parameter {self.name!r}: {value!r} is not finite; allowed: {self.allowed()}")
            r = self.range
            if r is not None and ((r.lo is not None and value < r.lo) or (r.hi is not None and value > r.hi)):
                raise ParamError(f"parameter {self.name!r} = {_fmt(value)} is outside the allowed range "
                                 f"{r.text()}")


def _parse_text(text: str, t: type) -> Any:
    s = text.strip()
    if t is bool:
        low = s.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(text)
    if t is int:
        f = float(s)
        if not f.is_integer():
            raise ValueError(text)
        return int(f)
    return float(s)


# --- reading a params class ---

def fields_of(cls: type) -> list[ParamField]:
    """The parameters of a frozen params dataclass, in declaration order."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"params must be a dataclass type, got {cls!r}")
    hints = typing.get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:
            if f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise TypeError(f"{cls.__name__}.{f.name}: every backend parameter needs a default")
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = f.default
        out.append(_field_from_hint(cls, f.name, hints[f.name], default))
    return out


def _field_from_hint(cls: type, name: str, hint: Any, default: Any) -> ParamField:
    rng, choices, help_text = None, None, ""
    if get_origin(hint) is typing.Annotated:
        base, *extras = get_args(hint)
        for e in extras:
            if isinstance(e, Range):
                rng = e
            elif isinstance(e, Choices):
                choices = e.values
            elif isinstance(e, Help):
                help_text = e.text
            elif isinstance(e, str):
                help_text = e
        hint = base
    if get_origin(hint) is Literal:
        choices = tuple(get_args(hint))
        kinds = {type(c) for c in choices}
        if len(kinds) != 1 or next(iter(kinds)) not in VALUE_TYPES:
            raise TypeError(f"{cls.__name__}.{name}: Literal choices must share one of {VALUE_TYPES}")
        hint = next(iter(kinds))
    if hint not in VALUE_TYPES:
        raise TypeError(f"{cls.__name__}.{name}: unsupported parameter type {hint!r}; "
                        f"use float, int, bool, str or Literal")
    if hint is float and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)  # `= 1` on a float field: keep one spelling for cache keys
    pf = ParamField(name, hint, default, rng, choices, help_text)
    pf.check(default)  # a default outside its own range is a programming error
    return pf


def schema(cls: type) -> list[dict[str, Any]]:
    """JSON-able description (remote clients and the generated form use it)."""
    return [f.to_dict() for f in fields_of(cls)]


def validate(instance: Any) -> Any:
    for f in fields_of(type(instance)):
        f.check(getattr(instance, f.name))
    return instance


def to_dict(instance: Any) -> dict[str, Any]:
    """Plain values with canonical types (1 -> 1.0 for a float field): the provenance record and
    the cache key must not depend on how a caller spelled a number."""
    out = {}
    for f in fields_of(type(instance)):
        v = getattr(instance, f.name)
        if f.type is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        out[f.name] = v
    return out


def parse_items(items: Iterable[str] | None) -> dict[str, str]:
    """``["sigma=1.5", "method=sato"]`` -> dict; a missing '=' is a ParamError."""
    out: dict[str, str] = {}
    for item in items or ():
        if "=" not in item:
            raise ParamError(f"parameter {item!r} must be written as name=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def parse_with_fields(fields: list[ParamField], values: Mapping[str, Any] | Iterable[str] | None,
                      owner: str = "") -> dict[str, Any]:
    """Defaults overridden by ``values`` (a mapping or ``k=v`` strings), each checked."""
    given = dict(values) if isinstance(values, Mapping) else parse_items(values)
    known = {f.name: f for f in fields}
    unknown = [k for k in given if k not in known]
    if unknown:
        where = f" of {owner}" if owner else ""
        listed = ", ".join(f"{f.name} ({f.allowed()})" for f in fields) or "none"
        raise ParamError(f"unknown parameter {unknown[0]!r}{where}; known parameters: {listed}")
    return {f.name: (f.coerce(given[f.name]) if f.name in given else f.default) for f in fields}


def parse(cls: type, values: Mapping[str, Any] | Iterable[str] | None = None, owner: str = ""):
    """Build a params instance from CLI strings or JSON, naming the parameter on any error."""
    if isinstance(values, cls):
        return validate(values)
    return cls(**parse_with_fields(fields_of(cls), values, owner or cls.__name__))


@dataclass(frozen=True)
class Params:
    """Optional base: subclasses validate ranges and choices when constructed."""

    def __post_init__(self) -> None:
        validate(self)


@dataclass(frozen=True)
class NoParams(Params):
    """For backends without parameters."""
