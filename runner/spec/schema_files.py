"""The JSON Schemas dmpipe ships (``schemas/<name>.schema.json``), read from the package."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError

if TYPE_CHECKING:
    from importlib.abc import Traversable

_SUFFIX = ".schema.json"


def _folder() -> Traversable:
    # runner/schemas is a symlink to the repository's schemas/ folder, and a
    # real folder inside the wheel.  Read from the file system when the package is there
    # (importlib.resources, and the zipfile and tempfile it loads, cost a run's start
    # some milliseconds); through importlib.resources when it is not (a zip).
    folder = Path(__file__).parent.parent / "schemas"
    if folder.is_dir():
        return folder
    from importlib import resources

    return resources.files("runner") / "schemas"


def known_schemas() -> tuple[str, ...]:
    """The names of the shipped schemas, sorted: ``("pipeline", "report")``."""
    names = (entry.name for entry in _folder().iterdir())
    return tuple(sorted(name[: -len(_SUFFIX)] for name in names if name.endswith(_SUFFIX)))


def schema_text(name: str) -> str:
    """The text of schema ``name``; raises UsageError naming the known ones if there is none."""
    if name not in known_schemas():
        known = ", ".join(known_schemas())
        raise UsageError(f"no such schema {name!r}; known schemas: {known}")
    return (_folder() / f"{name}{_SUFFIX}").read_text(encoding="utf-8")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Schema ``name`` as a dict (read once per process)."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema
