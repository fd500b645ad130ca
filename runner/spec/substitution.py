"""Interpolate every string value of a document, collecting problems instead of stopping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import FileProblem
from runner.spec.coercion import coerce
from runner.spec.document import Document, JsonPath
from runner.spec.interpolation import (
    InterpolationError,
    MalformedInterpolationError,
    UnsetVariableError,
    interpolate,
)
from runner.spec.naming import is_secret

# A value that is dropped from its mapping, as if the file had not written it.
_LEFT_OUT = object()


@dataclass(frozen=True)
class Substituted:
    """The document's value after interpolation.

    ``interpolated`` holds the paths of values written with ``${...}``;
    ``failed`` those whose interpolation failed (left as written, and already
    reported, so the schema's complaints about them are noise).
    """

    value: Any
    problems: tuple[FileProblem, ...] = ()
    interpolated: frozenset[JsonPath] = frozenset()
    failed: frozenset[JsonPath] = frozenset()


@dataclass
class _Walk:
    document: Document
    env: Mapping[str, str]
    problems: list[FileProblem] = field(default_factory=list)
    interpolated: set[JsonPath] = field(default_factory=set)
    failed: set[JsonPath] = field(default_factory=set)

    def value(self, value: Any, path: JsonPath) -> Any:
        # Containers are rebuilt, never mutated: an alias shares them between paths.
        if isinstance(value, dict):
            children = {key: self.value(child, (*path, key)) for key, child in value.items()}
            return {key: child for key, child in children.items() if child is not _LEFT_OUT}
        if isinstance(value, list):
            return [self.value(child, (*path, index)) for index, child in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            return self.text(value, path)
        return value

    def text(self, text: str, path: JsonPath) -> Any:
        secret = is_secret(path)
        try:
            result = interpolate(text, self.env)
        except InterpolationError as error:
            if isinstance(error, UnsetVariableError) and _server_setting(path):
                # `url: ${DATAMEER_URL}`: the setting is left to --server and DATAMEER_*;
                # a run that gets it from nowhere says so when it connects.
                return _LEFT_OUT
            self.failed.add(path)
            message = str(error)
            if secret and isinstance(error, MalformedInterpolationError):
                message = "malformed ${...} in the password (value hidden)"
            self.problems.append(self.document.problem(path, message))
            return text
        # In a password, a "$word" is as likely a literal as a mistake: no warning.
        for name in () if secret else result.bare_names:
            message = f"'${name}' is not interpolated: write ${{{name}}} (or $${name} for a '$')"
            self.problems.append(self.document.problem(path, message, severity="warning"))
        if not result.substituted:
            return result.text
        self.interpolated.add(path)
        return coerce(path, result.text)


def _server_setting(path: JsonPath) -> bool:
    """True for a value directly under ``server:`` (url, user, ca_bundle, ...)."""
    return len(path) == 2 and path[0] == "server"


def substitute(document: Document, env: Mapping[str, str]) -> Substituted:
    """Interpolate ``document`` from ``env``; unset variables, malformed ``${`` become problems.

    A server setting written as a plain ``${NAME}`` whose variable is unset is left out
    instead: the command line or the ``DATAMEER_*`` variables may still give it, and a
    command that needs no server (``graph``, ``validate``, ``plan``) should not fail on it.
    ``${NAME:?why}`` keeps it required.
    """
    walk = _Walk(document, env)
    value = walk.value(document.value, ())
    return Substituted(
        value, tuple(walk.problems), frozenset(walk.interpolated), frozenset(walk.failed)
    )
