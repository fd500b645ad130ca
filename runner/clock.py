"""Time as the engine sees it: a monotonic counter, the wall clock, and interruptible waits.

``SystemClock`` is real time.  ``VirtualClock`` is time that moves only when every
thread taking part in a run is waiting on it: a run's waits (poll intervals, retry
delays, stop confirmations) then take no real time, while HTTP calls in flight hold
it still.  A thread takes part while it holds a ``work()`` ticket; the engine takes
one for its loop and one for each call it hands to a worker thread.  The emulator can
read the same virtual clock (``runner.emulator.emulated_clock``), so that emulated jobs
progress exactly as far as the engine waits.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Protocol

# How often a real wait looks at its event: an interrupt is set from a signal handler,
# which does not wake a thread blocked on the event.
_SLICE = 0.1


class Ticket(Protocol):
    """Work virtual time must wait for; entered (``with``) in the thread that does it."""

    def __enter__(self) -> None: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None: ...

    def drop(self) -> None:
        """Give the ticket back without running (the work was cancelled)."""


class Clock(Protocol):
    """Time as the engine sees it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def now(self) -> datetime:
        """The wall-clock time, in UTC."""

    def wait(self, seconds: float, cancelled: threading.Event | None = None) -> bool:
        """Wait ``seconds``; True (at once) when ``cancelled`` is or gets set."""

    def work(self) -> Ticket:
        """A ticket for one piece of work (an HTTP call) that time must not run past."""


class _NoTicket:
    """Real time waits for nobody."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None

    def drop(self) -> None:
        return None


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def now(self) -> datetime:
        """The wall-clock time, in UTC."""
        return datetime.now(UTC)

    def wait(self, seconds: float, cancelled: threading.Event | None = None) -> bool:
        """Sleep ``seconds`` in short slices, returning True as soon as ``cancelled`` is set."""
        event = cancelled or threading.Event()
        deadline = time.monotonic() + seconds
        while not event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event.wait(min(remaining, _SLICE))
        return True

    def work(self) -> Ticket:
        """Nothing to hold: real time goes on regardless."""
        return _NoTicket()


class VirtualClock:
    """Time that jumps ahead when every thread taking part waits on it.

    ``monotonic()`` starts at 0 and ``now()`` at ``start``.  A ``wait`` returns once
    virtual time reached its end; time jumps to the earliest end among the waiting
    threads as soon as no ticket is held outside a wait.  ``advance`` moves it by hand.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 28, tzinfo=UTC)
        self._now = 0.0
        self._cond = threading.Condition()
        self._held = 0  # tickets held by threads not waiting on the clock
        self._ends: list[float] = []  # when each waiting thread wants to wake
        self._local = threading.local()

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made."""
        with self._cond:
            return self._now

    def now(self) -> datetime:
        """``start`` plus the virtual seconds gone by."""
        return self._start + timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> float:
        """Move time ``seconds`` ahead; returns the new ``monotonic()``."""
        if seconds < 0:
            raise ValueError("the virtual clock cannot go backwards")
        with self._cond:
            self._now += seconds
            self._cond.notify_all()
            return self._now

    def wait(self, seconds: float, cancelled: threading.Event | None = None) -> bool:
        """Wait ``seconds`` of virtual time; True (at once) when ``cancelled`` is set."""
        with self._cond:
            mine = self._tickets()
            end = self._now + max(0.0, seconds)
            self._held -= mine
            self._ends.append(end)
            self._cond.notify_all()
            try:
                return self._wait_until(end, cancelled)
            finally:
                self._ends.remove(end)
                self._held += mine

    def _wait_until(self, end: float, cancelled: threading.Event | None) -> bool:
        while True:
            if cancelled is not None and cancelled.is_set():
                return True
            if self._now >= end:
                return False
            if self._held <= 0 and min(self._ends) > self._now:
                # Every thread taking part waits: jump to the first one's end.
                self._now = min(self._ends)
                self._cond.notify_all()
                continue
            # A thread whose end came has yet to wake (it needs the lock this wait lets go
            # of), or a ticket's HTTP call is in flight: real time passes.
            self._cond.wait(0.01)

    def work(self) -> Ticket:
        """A ticket, held from now until the thread that enters it leaves (or drops it)."""
        with self._cond:
            self._held += 1
        return _VirtualTicket(self)

    def _tickets(self) -> int:
        return int(getattr(self._local, "tickets", 0))

    def _enter(self) -> None:
        self._local.tickets = self._tickets() + 1

    def _release(self, entered: bool) -> None:
        with self._cond:
            if entered:
                self._local.tickets = self._tickets() - 1
            self._held -= 1
            self._cond.notify_all()


class _VirtualTicket:
    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._done = False
        self._entered = False

    def __enter__(self) -> None:
        self._entered = True
        self._clock._enter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.drop()

    def drop(self) -> None:
        """Give the ticket back (once)."""
        if not self._done:
            self._done = True
            self._clock._release(self._entered)
