"""Typed values of YAML scalars, by the YAML 1.2 core schema.

YAML 1.1 (PyYAML's default) reads ``NO``, ``on`` and ``yes`` as booleans and
``2026-11-28`` as a date: a workbook variable ``region: NO`` would be sent as
``false``.  The core schema keeps all of them as text; only ``true``/``false``,
``null``/``~``, and plain numbers get a type.  One departure: ``.inf`` and
``.nan`` stay text too, since a pipeline value must be JSON (a report, a plan)
and JSON has no such numbers.
"""

from __future__ import annotations

import math
import re
from typing import Any

_YAML = "tag:yaml.org,2002:"
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
# Every number starts with one of these; most scalars of a pipeline (names,
# paths, durations such as "30s" aside) are text and skip the number regexes.
_NUMBER_START = frozenset("0123456789+-.")
# Python refuses to convert (and print) integers of more than 4300 digits; no value of a
# pipeline needs a hundredth of that.  Longer digit strings stay text, so the schema
# reports them at their line and column ("expected an integer").
_MAX_NUMBER_LENGTH = 1000


class TagError(ValueError):
    """A scalar or collection carries a tag this loader does not accept."""


def plain_value(text: str) -> Any:
    """The value of an untagged plain scalar: None, bool, int, float or the text itself."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[0] not in _NUMBER_START:
        return text
    return _number(text, default=text)


def tagged_value(text: str, tag: str) -> Any:
    """The value of a scalar written with an explicit tag such as ``!!str`` or ``!!int``."""
    if tag in ("!", _YAML + "str"):
        return text
    if tag == _YAML + "null" and text in _NULL:
        return None
    if tag == _YAML + "bool" and text in _BOOL:
        return _BOOL[text]
    number = _number(text)
    if tag == _YAML + "int" and isinstance(number, int):
        return number
    if tag == _YAML + "float" and number is not None:
        return float(number)
    if tag in (_YAML + "null", _YAML + "bool", _YAML + "int", _YAML + "float"):
        raise TagError(f"{text!r} is not a valid {short_tag(tag)}")
    raise TagError(f"unsupported YAML tag {short_tag(tag)}")


def check_collection_tag(tag: str | None) -> None:
    """Accept an untagged mapping or list, or one tagged ``!!map`` / ``!!seq``."""
    if tag not in (None, "!", _YAML + "map", _YAML + "seq"):
        raise TagError(f"unsupported YAML tag {short_tag(tag)}")


def short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:binary`` → ``!!binary``."""
    return "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag


def _number(text: str, default: Any = None) -> Any:
    if len(text) > _MAX_NUMBER_LENGTH:
        return default
    if text.isascii() and text.isdigit():
        return int(text)
    if _INT.fullmatch(text):
        return int(text)
    if _OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text) and math.isfinite(number := float(text)):
        return number  # "1e999" overflows to infinity: not a JSON number either
    return default
