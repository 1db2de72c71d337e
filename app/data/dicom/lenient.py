"""Read IS/DS/US attribute values the way a careful human would: leniently when the meaning is
unambiguous, and with a sentence naming the file and attribute when it is not.

Why: real files carry vendor oddities (``'1 '``, ``'12.0'`` in an IS, a DS stored as bytes under a
wrong VR, ``'1A'`` in Number of Frames). pydicom keeps such values as raw strings, and a bare
``int()`` on them raised a ``ValueError`` that blocked every file in the folder. Everything here
either returns a number or raises ``ReadError`` (a one-line reason the scanner uses to set the one
file aside), never a raw ``ValueError``.
"""
from __future__ import annotations

import math
from pathlib import Path

from app.data.types import ReadError

_MISSING = object()


def _tag_name(keyword: str) -> str:
    from pydicom.datadict import keyword_dict

    tag = keyword_dict.get(keyword)
    if tag is None:
        return f"'{keyword}'"
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}) '{keyword}'"


def _text(value) -> str | None:
    """The value as text, or None when it is not a single value (a list of several)."""
    if isinstance(value, (bytes, bytearray)):  # wrong VR (UN/OB) holding an IS/DS string
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        if len(value) != 1:
            return None
        value = value[0]
    return str(value).strip(" \x00\t\r\n")


def as_float(value) -> float | None:
    """A single finite number from an IS/DS-like value, or None when that is ambiguous."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return v if math.isfinite(v) else None
    s = _text(value)
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def as_int(value) -> int | None:
    """A whole number from an IS/US-like value ('12', ' 12 ', '+12', '12.0'); None when ambiguous
    ('1A', '1.5', '')."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    v = as_float(value)
    if v is None or not float(v).is_integer():
        return None
    return int(v)


def _raw(ds, keyword: str):
    try:
        return ds.get(keyword, _MISSING)
    except Exception as exc:  # pydicom may fail converting a value stored under a wrong VR
        return exc


def int_attr(ds, keyword: str, path: Path, default: int | None = None) -> int:
    """A required-or-defaulted whole-number attribute; ReadError naming the file when unusable."""
    raw = _raw(ds, keyword)
    if raw is _MISSING or raw is None or raw == "":
        if default is None:
            raise ReadError(f"{path.name}: {_tag_name(keyword)} is missing")
        return default
    if isinstance(raw, Exception):
        raise ReadError(f"{path.name}: {_tag_name(keyword)} cannot be read ({raw}); the file is set aside")
    v = as_int(raw)
    if v is None:
        raise ReadError(f"{path.name}: {_tag_name(keyword)} is {_show(raw)}, not a whole number; "
                        f"the file is set aside")
    return v


def float_attr(ds, keyword: str, path: Path, default: float) -> float:
    """A defaulted number that changes pixel values (rescale): ReadError when unusable."""
    raw = _raw(ds, keyword)
    if raw is _MISSING or raw is None or raw == "":
        return default
    if isinstance(raw, Exception):
        raise ReadError(f"{path.name}: {_tag_name(keyword)} cannot be read ({raw}); the file is set aside")
    v = as_float(raw)
    if v is None:
        raise ReadError(f"{path.name}: {_tag_name(keyword)} is {_show(raw)}, not a number; "
                        f"the file is set aside")
    return v


def opt_float(ds, keyword: str, notes: list[str] | None = None, path: Path | None = None) -> float | None:
    """A descriptive number (echo time, slice thickness): None when absent; when present but
    unusable, None plus a note saying so (the image still opens)."""
    raw = _raw(ds, keyword)
    if raw is _MISSING or raw is None or raw == "":
        return None
    v = None if isinstance(raw, Exception) else as_float(raw)
    if v is None and notes is not None:
        notes.append(f"{path.name + ': ' if path else ''}{_tag_name(keyword)} {_what(raw)}, not a number; ignored")
    return v


def opt_int(ds, keyword: str, notes: list[str] | None = None, path: Path | None = None) -> int | None:
    raw = _raw(ds, keyword)
    if raw is _MISSING or raw is None or raw == "":
        return None
    v = None if isinstance(raw, Exception) else as_int(raw)
    if v is None and notes is not None:
        notes.append(f"{path.name + ': ' if path else ''}{_tag_name(keyword)} {_what(raw)}, not a whole number; ignored")
    return v


def _what(raw) -> str:
    if isinstance(raw, Exception):
        return f"cannot be read ({raw})"
    return f"is {_show(raw)}"


def _show(raw) -> str:
    text = repr(raw if not isinstance(raw, Exception) else str(raw))
    return text if len(text) <= 40 else text[:37] + "...'"
