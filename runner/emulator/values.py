"""Reading one scenario value: each function returns the typed value or raises ``ValueError``.

The messages say what was expected; ``runner.emulator.loading`` prefixes them with
the file and the key.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def duration(value: Any) -> float:
    """Seconds from ``20``, ``2.5``, ``"20s"``, ``"2m"``, ``"1h30m"`` or ``"500ms"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 20, '20s' or '2m', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _duration_text(value.strip())
    else:
        raise ValueError(f"expected a duration like 20, '20s' or '2m', got {value!r}")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return seconds


def _duration_text(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise ValueError(f"expected a duration like 20, '20s', '2m' or '1h30m', got {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def duration_range(value: Any) -> tuple[float, float]:
    """A fixed duration, or ``[min, max]`` from which each run draws its own (seeded)."""
    if isinstance(value, list):
        if len(value) != 2:
            raise ValueError(f"expected [min, max], got a list of {len(value)} items")
        low, high = duration(value[0]), duration(value[1])
        if low > high:
            raise ValueError(f"min {value[0]!r} is above max {value[1]!r}")
        return low, high
    seconds = duration(value)
    return seconds, seconds


def integer(value: Any, minimum: int = 0) -> int:
    """A whole number ``>= minimum`` (YAML ints, or text of digits)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected a whole number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"expected a number >= {minimum}, got {number}")
    return number


def number(value: Any, minimum: float = 0.0, maximum: float | None = None) -> float:
    """A real number within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(f"expected a number >= {minimum}{upper}, got {value!r}")
    return float(value)


def boolean(value: Any) -> bool:
    """``true`` or ``false`` (YAML booleans only: "yes" in quotes is a typo, not a bool)."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def text(value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def choice(value: Any, options: tuple[str, ...]) -> str:
    """One of ``options`` (case-insensitive; returned in the options' spelling)."""
    if isinstance(value, str):
        for option in options:
            if value.strip().upper() == option.upper():
                return option
    raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")


def uuid(value: Any) -> str:
    """A UUID, lower-cased."""
    candidate = text(value).strip().lower()
    if not _UUID.match(candidate):
        raise ValueError(
            f"expected a UUID like f8d450cd-f065-4abb-a232-27cd20c48c2b, got {value!r}"
        )
    return candidate


def derived_uuid(file_id: int) -> str:
    """The uuid an artifact gets when the scenario gives none: the same for the same id."""
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"dmpipe-emulator:file:{file_id}"))


def path(value: Any) -> str:
    """An artifact path: starts with ``/``, no empty segment."""
    candidate = text(value).strip()
    if not candidate.startswith("/"):
        raise ValueError(f"a path starts with '/': {value!r}")
    if "//" in candidate or candidate.endswith("/"):
        raise ValueError(f"a path has no empty segment: {value!r}")
    return candidate


def counters(value: Any) -> dict[str, int]:
    """A mapping of counter name → whole number."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of counter name to number, got {value!r}")
    result: dict[str, int] = {}
    for name, count in value.items():
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValueError(f"counter {name!r} must be a whole number, got {count!r}")
        result[str(name)] = count
    return result
