"""Reading scenario values the schema already accepted: choices in their canonical spelling,
duration ranges, and the uuid an artifact gets when the scenario gives none.

Durations are read by ``runner.spec.durations`` (the pipeline's own parser): one grammar
for both files.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from runner.spec.durations import parse_duration


def duration_range(value: Any) -> tuple[float, float]:
    """Seconds of a fixed duration (equal bounds), or of ``[min, max]``."""
    if isinstance(value, list):
        low, high = value
        return parse_duration(low), parse_duration(high)
    seconds = parse_duration(value)
    return seconds, seconds


def choice(value: Any, options: tuple[str, ...]) -> str:
    """One of ``options`` (case-insensitive; returned in the options' spelling)."""
    if isinstance(value, str):
        for option in options:
            if value.strip().upper() == option.upper():
                return option
    raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")


def derived_uuid(file_id: int) -> str:
    """The uuid an artifact gets when the scenario gives none: the same for the same id."""
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"dmpipe-emulator:file:{file_id}"))
