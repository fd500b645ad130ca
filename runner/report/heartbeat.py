"""A heartbeat for plain progress output: CI runners end a step that prints nothing for
ten minutes, and a workbook may run for hours between "triggered" and "succeeded".

``Heartbeat`` listens to the run's events like any sink, keeps what each running job is
doing (execution, status, progress, the server's estimate), and when the run has printed
nothing for ``every`` seconds it writes one line naming them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from runner.engine.events import EventKind, EventSink, RunEvent
from runner.spec.durations import format_elapsed

_STARTED = frozenset({EventKind.TRIGGERED, EventKind.ATTACHED})
_OVER = frozenset({EventKind.FINISHED, EventKind.RETRY_SCHEDULED, EventKind.SKIPPED})
# Every kind that changes what the heartbeat says; the others pass without the lock.
_TRACKED = _STARTED | _OVER | {EventKind.STATUS, EventKind.PROGRESS}


@dataclass(slots=True)
class _Running:
    """What one running job is doing; changed in place, under the heartbeat's lock."""

    since: datetime
    execution: object = None
    status: str = ""
    progress: float | None = None
    # The server's "estimated time until completion", and when it said so.
    remaining_seconds: float | None = None
    remaining_at: datetime | None = None

    def describe(self, name: str, now: datetime) -> str:
        parts = [f"execution {self.execution}"] if self.execution is not None else []
        if self.status:
            parts.append(self.status)
        if self.progress is not None:
            parts.append(f"{self.progress:g}%")
        running = (now - self.since).total_seconds()
        parts.append(f"running {format_elapsed(running)}")
        if self.remaining_seconds is not None and self.remaining_at is not None:
            left = self.remaining_seconds - (now - self.remaining_at).total_seconds()
            parts.append(f"about {format_elapsed(left)} left" if left > 0 else "due now")
        return f"{name} ({', '.join(parts)})"


class WatchedStream:
    """A text stream that remembers when it was last written to."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last_write = time.monotonic()

    def write(self, text: str) -> int:
        """Write ``text`` through, and note the time."""
        self.last_write = time.monotonic()
        return self.stream.write(text)

    def flush(self) -> None:
        """Flush the stream underneath."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the stream underneath is a terminal."""
        return self.stream.isatty()


class Heartbeat:
    """An event sink that passes every event on to ``sink`` and, while jobs run and
    ``stream`` stays silent for ``every`` seconds, writes which jobs are running and how far.

    ``sink`` must write to ``stream`` (a ``WatchedStream``) for the silence to be seen.
    """

    def __init__(
        self,
        sink: EventSink,
        stream: WatchedStream,
        every: float = 60.0,
        *,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        self._sink = sink
        self._stream = stream
        self._every = every
        self._now = now
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="dmpipe-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)

    def __call__(self, event: RunEvent) -> None:
        if event.job and event.kind in _TRACKED:
            with self._lock:
                self._track(event)
        self._sink(event)

    def _track(self, event: RunEvent) -> None:
        if event.kind in _STARTED:
            execution = event.data.get("execution_id")
            self._running[event.job] = _Running(event.at, execution)
        elif event.kind in _OVER:
            self._running.pop(event.job, None)
        else:
            current = self._running.get(event.job)
            if current is None:
                return
            if event.kind is EventKind.STATUS:
                current.status = str(event.data.get("status"))
            elif event.kind is EventKind.PROGRESS:
                current.progress = _number(event.data.get("progress"))
                current.remaining_seconds = _number(event.data.get("estimate_seconds"))
                current.remaining_at = event.at

    def _beat(self) -> None:
        while not self._stop.wait(self._due()):
            line = self._line()
            if line is not None:
                print(line, file=self._stream, flush=True)

    def _due(self) -> float:
        return max(0.05, self._stream.last_write + self._every - time.monotonic())

    def _line(self) -> str | None:
        if time.monotonic() - self._stream.last_write < self._every - 0.01:
            return None  # something was printed meanwhile
        with self._lock:
            if not self._running:
                self._stream.last_write = time.monotonic()  # nothing to say: wait again
                return None
            now = self._now()
            jobs = "; ".join(
                running.describe(name, now) for name, running in sorted(self._running.items())
            )
        return f"{now:%H:%M:%S} still running: {jobs}"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
