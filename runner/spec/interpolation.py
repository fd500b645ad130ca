"""Environment variables in strings, the docker-compose way.

``${VAR}`` (an error when unset), ``${VAR:-default}`` (unset or empty),
``${VAR-default}`` (unset), ``${VAR:+other}`` / ``${VAR+other}`` (set),
``${VAR:?message}`` / ``${VAR?message}`` (an error with your message), and
``$$`` for a literal ``$``.  Defaults may themselves use ``${...}``.  A ``$``
before anything else is kept as written, but ``$NAME`` is noted so that the
loader can warn that it was not interpolated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_EXPRESSION = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?", re.DOTALL)
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A ``${...}`` that cannot be substituted; the message is for the user."""


class UnsetVariableError(InterpolationError):
    """A plain ``${NAME}`` names a variable the environment does not have."""


class MalformedInterpolationError(InterpolationError):
    """A ``${`` that is not a valid expression; the message quotes it."""


@dataclass(frozen=True)
class Interpolated:
    """The text after substitution, whether it had any ``${...}``, and the bare ``$NAME``s."""

    text: str
    substituted: bool = False
    bare_names: tuple[str, ...] = ()


def interpolate(text: str, env: Mapping[str, str]) -> Interpolated:
    """Substitute every ``${...}`` of ``text`` from ``env``; raises InterpolationError."""
    parts: list[str] = []
    bare: list[str] = []
    substituted = False
    index = 0
    while (dollar := text.find("$", index)) >= 0:
        parts.append(text[index:dollar])
        follower = text[dollar + 1 : dollar + 2]
        if follower == "$":
            parts.append("$")
            index = dollar + 2
        elif follower == "{":
            value, index = _expression(text, dollar, env)
            parts.append(value)
            substituted = True
        else:
            if name := _BARE_NAME.match(text, dollar + 1):
                bare.append(name.group())
            parts.append("$")
            index = dollar + 1
    parts.append(text[index:])
    return Interpolated("".join(parts), substituted, tuple(bare))


def _expression(text: str, start: int, env: Mapping[str, str]) -> tuple[str, int]:
    """Substitute the ``${...}`` at ``start``; returns its value and the index after it."""
    end = _closing_brace(text, start + 2)
    if end < 0:
        raise MalformedInterpolationError("unclosed '${': write ${NAME}, or $$ for a literal $")
    body = text[start + 2 : end]
    match = _EXPRESSION.fullmatch(body)
    if match is None:
        raise MalformedInterpolationError(
            f"invalid interpolation '${{{body}}}': expected ${{NAME}}, "
            "${NAME:-default} or ${NAME:?message}"
        )
    name, operator, argument = match.groups()
    return _substitute(name, operator, argument, env), end + 1


def _closing_brace(text: str, index: int) -> int:
    """The index of the ``}`` closing a ``${`` whose body starts at ``index``, or -1."""
    depth = 1
    while index < len(text):
        if text.startswith("$$", index):
            index += 2
            continue
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _substitute(name: str, operator: str | None, argument: str, env: Mapping[str, str]) -> str:
    value = env.get(name)
    if operator is None:
        if value is None:
            raise UnsetVariableError(
                f"environment variable {name} is not set; set it, or give a default: "
                f"${{{name}:-default}}"
            )
        return value
    # "VAR:-x" treats an empty value as unset; "VAR-x" only an absent one.
    present = value is not None and (value != "" or not operator.startswith(":"))
    kind = operator[-1]
    if kind == "-":
        return value if present and value is not None else interpolate(argument, env).text
    if kind == "+":
        return interpolate(argument, env).text if present else ""
    if present and value is not None:
        return value
    state = "empty" if value == "" else "not set"
    detail = f": {argument}" if argument else ""
    raise InterpolationError(f"environment variable {name} is {state}{detail}")
