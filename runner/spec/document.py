"""A parsed pipeline file: plain JSON-like values plus the line and column each was written at.

Values are addressed by their path from the root, e.g. ``("jobs", "load", "needs", 0)``.
``values`` holds where each value starts, ``keys`` where the key of each mapping entry
is; a path without an entry (a value inside an expanded alias, a ``--var`` override)
is located at its nearest recorded ancestor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from runner.errors import FileProblem

JsonPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Position(NamedTuple):
    """A 1-based line and column in the file (a NamedTuple: the loader makes one per value)."""

    line: int
    col: int


@dataclass(frozen=True)
class Document:
    """The values of one YAML document and where each of them was written."""

    filename: str
    value: Any
    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)

    def position(self, path: JsonPath, *, at_key: bool = False) -> Position:
        """Where ``path`` was written: its key when ``at_key`` and known, else its value."""
        if at_key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            if path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return self.values.get((), Position(1, 1))

    def problem(
        self, path: JsonPath, message: str, *, at_key: bool = False, severity: str = "error"
    ) -> FileProblem:
        """A FileProblem located at ``path``."""
        where = self.position(path, at_key=at_key)
        return FileProblem(
            self.filename, where.line, where.col, message, format_path(path), severity
        )


def format_path(path: JsonPath) -> str:
    """``("jobs", "load", "needs", 0)`` → ``$.jobs.load.needs[0]`` (JSONPath, as jsonschema)."""
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)
