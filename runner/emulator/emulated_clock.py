"""The emulated clock: seconds since a fixed epoch, scaled real time or moved by hand.

Emulated second 0 is ``EPOCH`` (2026-11-28 00:00:00, server local time); history
runs sit before it.  A real clock runs ``time_scale`` emulated seconds per real
second; a manual clock stands still until ``advance``.  ``advance`` works on both.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

EPOCH = datetime(2026, 11, 28, 0, 0, 0)


class Clock:
    """Emulated seconds since ``EPOCH``; thread-safe and never going backwards."""

    def __init__(self, time_scale: float | None) -> None:
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._offset = 0.0

    @property
    def manual(self) -> bool:
        """True when only ``advance`` moves the clock."""
        return self.time_scale is None

    def now(self) -> float:
        """Emulated seconds since ``EPOCH``."""
        with self._lock:
            if self.time_scale is None:
                return self._offset
            return self._offset + (time.monotonic() - self._origin) * self.time_scale

    def advance(self, seconds: float) -> float:
        """Jump ``seconds`` emulated seconds ahead; returns the new ``now()``."""
        if seconds < 0:
            raise ValueError("the emulated clock cannot go backwards")
        with self._lock:
            self._offset += seconds
        return self.now()


def moment(seconds: float) -> datetime:
    """The wall-clock time of emulated second ``seconds``."""
    return EPOCH + timedelta(seconds=seconds)


def v2_time(seconds: float) -> str:
    """``Sep 28, 2018 6:44:56 PM``: the /api and 7.4+ details format (no zero padding)."""
    at = moment(seconds)
    hour = at.hour % 12 or 12
    half = "AM" if at.hour < 12 else "PM"
    return f"{at:%b} {at.day}, {at.year} {hour}:{at:%M:%S} {half}"


def v1_time(seconds: float) -> str:
    """``2012-07-06 18:19:09.0``: java.sql.Timestamp's text, as the /rest calls print it."""
    at = moment(seconds)
    millis = at.microsecond // 1000
    # Timestamp.toString() drops trailing zeros of the fraction but keeps at least one digit.
    fraction = f"{millis:03d}".rstrip("0") or "0"
    return f"{at:%Y-%m-%d %H:%M:%S}.{fraction}"
