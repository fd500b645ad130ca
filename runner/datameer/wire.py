"""Pure parsers for the loosely typed scalar values the Datameer API returns.

Each parser takes whatever JSON value the server sent and returns a typed
value, or ``None`` when the value is absent or cannot be read.  None of them
raises: a timestamp or estimate the client cannot read is reported as unknown,
it never fails a call.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime

# Month names are matched by hand: strptime's %b depends on the process locale.
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

# "Sep 28, 2018 6:44:56 PM" (v2 status, 7.4+ job details)
_US_STAMP = re.compile(
    r"^(?P<month>[A-Za-z]{3})[a-z]*\.? (?P<day>\d{1,2}), (?P<year>\d{4}),? "
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))? ?(?P<half>[AaPp][Mm])$"
)

# "2012-07-06 18:19:09.0" (job details before 7.4, list-running), also without the fraction.
_SQL_STAMP = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[ T]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?$"
)

_ESTIMATE_PART = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]*)\.?")

_UNIT_SECONDS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}


def parse_timestamp(value: object) -> datetime | None:
    """A naive ``datetime`` from any timestamp format the API uses; None if absent or unreadable."""
    if not isinstance(value, str):
        return None
    return _parse_stamp_text(value)


@functools.lru_cache(maxsize=4096)
def _parse_stamp_text(value: str) -> datetime | None:
    """``parse_timestamp`` of a text: remembered, as every poll repeats the start time of
    each running execution."""
    text = " ".join(value.split())
    if not text:
        return None
    for parser in (_parse_us_stamp, _parse_sql_stamp, _parse_iso_stamp):
        parsed = parser(text)
        if parsed is not None:
            return parsed
    return None


def _parse_us_stamp(text: str) -> datetime | None:
    match = _US_STAMP.match(text)
    if match is None:
        return None
    month = _MONTHS.get(match["month"].lower())
    hour = int(match["hour"])
    if month is None or not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if match["half"].upper() == "PM" else 0)
    return _build(int(match["year"]), month, int(match["day"]), hour, match)


def _parse_sql_stamp(text: str) -> datetime | None:
    match = _SQL_STAMP.match(text)
    if match is None:
        return None
    stamp = _build(int(match["year"]), int(match["month"]), int(match["day"]), None, match)
    fraction = match["fraction"]
    if stamp is None or not fraction:
        return stamp
    return stamp.replace(microsecond=int(fraction[:6].ljust(6, "0")))


def _build(
    year: int, month: int, day: int, hour: int | None, match: re.Match[str]
) -> datetime | None:
    """The datetime the matched fields name, or None when they name no real instant (Feb 30)."""
    try:
        return datetime(
            year,
            month,
            day,
            int(match["hour"]) if hour is None else hour,
            int(match["minute"]),
            int(match["second"] or 0),
        )
    except ValueError:
        return None


def _parse_iso_stamp(text: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Records hold the server's wall-clock time; a zone, when given, is dropped so
    # every timestamp of a response compares with the others.
    return stamp.replace(tzinfo=None)


def parse_estimate(value: object) -> float | None:
    """Seconds from an estimate like ``11s``, ``11 sec``, ``2m 3s``, ``1h`` or a number."""
    number = _finite_number(value)
    if number is not None:
        return number if number >= 0 else None
    if not isinstance(value, str):
        return None
    return _parse_estimate_text(value)


@functools.lru_cache(maxsize=1024)
def _parse_estimate_text(value: str) -> float | None:
    """``parse_estimate`` of a text: remembered, as polls repeat the same few estimates."""
    text = value.strip().lower()
    if ":" in text:
        return _parse_clock(text)
    total = 0.0
    position = 0
    for match in _ESTIMATE_PART.finditer(text):
        unit = _UNIT_SECONDS.get(match["unit"])
        if unit is None or text[position : match.start()].strip(" ,"):
            return None
        total += float(match["number"]) * unit
        position = match.end()
    if position == 0 or text[position:].strip():
        return None
    return total


def _parse_clock(text: str) -> float | None:
    """``01:02:03`` or ``02:03`` as seconds."""
    parts = text.split(":")
    if len(parts) > 3 or not all(part.isdigit() for part in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def parse_progress(value: object) -> float | None:
    """Percent done from ``"0"``, ``0``, ``"45%"`` or ``45.5``; None if absent or unreadable."""
    number = _finite_number(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        return None
    text = value.strip().removesuffix("%").strip()
    try:
        parsed = float(text)
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def parse_count(value: object) -> int | None:
    """An integer count from an int, an integral float or digit text; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        return int(text) if digits.isdigit() and digits.isascii() else None
    return None


def _finite_number(value: object) -> float | None:
    """A JSON number as float; None for booleans, text and NaN/infinity."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
