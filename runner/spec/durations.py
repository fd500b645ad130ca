"""Durations as pipeline files write them: seconds, or ``500ms``, ``30s``, ``1h30m``, ``1.5h``.

The grammar is the schema's ``$defs/duration`` pattern; this module turns a
value the schema accepted into seconds, and prints seconds back in two styles,
the only duration texts dmpipe shows:

- ``format_duration``: a configured duration (timeouts, delays, estimates) exactly,
  the way a pipeline file would write it (``1d``, ``1h30m``, ``500ms``);
- ``format_elapsed``: a measured time, rounded for reading (``12.3s``, ``2m 05s``,
  ``1h 02m``, ``1d 00h``).
"""

from __future__ import annotations

import functools
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SINGLE = re.compile(r"([0-9]+\.[0-9]+)(ms|s|m|h|d)")
_COMPOUND = re.compile(
    r"(?=[0-9])(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?"
)
_COMPOUND_UNITS = ("d", "h", "m", "s", "ms")


# A big pipeline repeats a few durations thousands of times; typed: 1 is cached, True is not.
@functools.lru_cache(maxsize=1024, typed=True)
def parse_duration(value: float | str) -> float:
    """Seconds in ``value`` (a number of seconds or a duration text); ValueError if neither."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    if match := _SINGLE.fullmatch(value):
        return float(match.group(1)) * _UNITS[match.group(2)]
    if match := _COMPOUND.fullmatch(value):
        return sum(
            int(amount) * _UNITS[unit]
            for amount, unit in zip(match.groups(), _COMPOUND_UNITS, strict=True)
            if amount is not None
        )
    raise ValueError(f"not a duration: {value!r}")


def format_duration(seconds: float) -> str:
    """``5400`` → ``1h30m``, ``0.5`` → ``500ms``, ``0`` → ``0s``: short text that parses back."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, whole = divmod(whole, int(_UNITS[unit]))
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def format_elapsed(seconds: float | None) -> str:
    """``0.4s``, ``12.3s``, ``2m 05s``, ``1h 02m``, ``1d 03h``; an em dash when unknown.

    The two largest units, the second zero-padded so that columns line up.
    """
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


# A run taking more than this many times its usual duration is "slower than usual".
SLOW_FACTOR = 2.0


def slower_than_usual(elapsed: float, usual: float | None, factor: float = SLOW_FACTOR) -> bool:
    """True when a run of ``elapsed`` seconds took more than ``factor`` times ``usual``."""
    return usual is not None and usual > 0 and elapsed > factor * usual
