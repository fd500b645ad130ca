"""The emulated clock: seconds since a fixed epoch, scaled real time or moved by hand.

Emulated second 0 is ``EPOCH`` (2026-11-28 00:00:00, server local time); history
runs sit before it.  A real clock runs ``time_scale`` emulated seconds per real
second; a manual clock stands still until ``advance``.  ``advance`` works on both.

Given a ``runner.clock.VirtualClock`` (``follow``), the emulated clock runs on the
engine's virtual time instead of real time: ``time_scale`` emulated seconds per
virtual second, or one for one on a manual clock, whose ``advance`` then moves the
virtual clock itself — one clock for the engine and the server.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from runner.clock import VirtualClock

EPOCH = datetime(2026, 11, 28, 0, 0, 0)


class Clock:
    """Emulated seconds since ``EPOCH``; thread-safe and never going backwards."""

    def __init__(self, time_scale: float | None, source: VirtualClock | None = None) -> None:
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._source = source
        self._origin = self._read()
        self._offset = 0.0

    @property
    def manual(self) -> bool:
        """True when only ``advance`` moves the clock."""
        return self.time_scale is None and self._source is None

    @property
    def source(self) -> VirtualClock | None:
        """The virtual clock this one runs on, if any (None: real time)."""
        return self._source

    def _read(self) -> float:
        return self._source.monotonic() if self._source is not None else time.monotonic()

    def _elapsed(self) -> float:
        if self._source is None and self.time_scale is None:
            return 0.0
        return (self._read() - self._origin) * (self.time_scale or 1.0)

    def now(self) -> float:
        """Emulated seconds since ``EPOCH``."""
        with self._lock:
            return self._offset + self._elapsed()

    def follow(self, source: VirtualClock) -> None:
        """Run on ``source`` from now on, carrying on from the current emulated time."""
        with self._lock:
            self._offset += self._elapsed()
            self._source = source
            self._origin = source.monotonic()

    def advance(self, seconds: float) -> float:
        """Jump ``seconds`` emulated seconds ahead; returns the new ``now()``.

        On a manual clock that follows a virtual clock, the virtual clock moves."""
        if seconds < 0:
            raise ValueError("the emulated clock cannot go backwards")
        if self._source is not None and self.time_scale is None:
            self._source.advance(seconds)
            return self.now()
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
