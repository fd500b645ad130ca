"""Typing of substituted values: ``file_id: ${ID}`` with ID=42 is the number 42.

Environment variables are text.  Where the schema wants a number or a boolean,
a value that was written as an interpolation is converted after substitution,
the way the same text written plainly in YAML would be read; text that does not
convert is left alone for the schema to report.  Only interpolated values are
converted: ``file_id: "42"`` written in quotes stays a (wrong) string.
"""

from __future__ import annotations

from collections.abc import Callable

from runner.spec.document import JsonPath
from runner.spec.scalars import plain_value


def _integer(text: str) -> object:
    value = plain_value(text.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) else text


def _number(text: str) -> object:
    value = plain_value(text.strip())
    return value if isinstance(value, int | float) and not isinstance(value, bool) else text


def _boolean(text: str) -> object:
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered, text)


_RETRY = {"retries": _integer, "backoff": _number, "jitter": _boolean}
_RETRY.update(dict.fromkeys(("delay", "max_delay"), _number))
_JOB = {"file_id": _integer, "timeout": _number, "estimate": _number}

# Where a converter applies; "*" stands for any job name or counter name.
_CONVERTERS: dict[JsonPath, Callable[[str], object]] = {
    ("version",): _integer,
    ("server", "verify_tls"): _boolean,
    ("policies", "max_parallel"): _integer,
    ("defaults", "timeout"): _number,
    ("jobs", "*", "expect", "*"): _number,
    **{("policies", key): _number for key in ("timeout", "poll_interval", "max_poll_interval")},
    **{("defaults", "retry", key): convert for key, convert in _RETRY.items()},
    **{("jobs", "*", "retry", key): convert for key, convert in _RETRY.items()},
    **{("jobs", "*", key): convert for key, convert in _JOB.items()},
}


def coerce(path: JsonPath, text: str) -> object:
    """The substituted ``text`` at ``path``, typed if the schema wants a number or boolean there."""
    convert = _CONVERTERS.get(_shape(path))
    return text if convert is None else convert(text)


def _shape(path: JsonPath) -> JsonPath:
    """``("jobs", "load", "expect", "ROWS")`` → ``("jobs", "*", "expect", "*")``."""
    if len(path) < 2 or path[0] != "jobs":
        return path
    shape: JsonPath = ("jobs", "*", *path[2:])
    if len(shape) == 4 and shape[2] == "expect":
        shape = ("jobs", "*", "expect", "*")
    return shape
