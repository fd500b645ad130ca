"""Reading fields of a schema-valid pipeline value the same way in the checks and the model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from runner.spec.document import JsonPath

REFERENCE_KEYS = ("file_id", "uuid", "path")


def needs_of(job: Mapping[str, Any]) -> Iterator[tuple[str, JsonPath]]:
    """Each job name ``job`` needs, with its path below the job (``needs`` may be one string)."""
    needs = job.get("needs", [])
    if isinstance(needs, str):
        yield needs, ("needs",)
        return
    for index, need in enumerate(needs):
        yield need, ("needs", index)


def reference_key(job: Mapping[str, Any]) -> str:
    """Which of file_id, uuid, path names the job's artifact."""
    return next(key for key in REFERENCE_KEYS if key in job)


def beside_file(value: str, base_dir: str) -> str:
    """The absolute path of a file the pipeline names relative to its own folder."""
    return str(Path(base_dir, Path(value).expanduser()).absolute())
