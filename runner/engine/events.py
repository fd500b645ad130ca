"""Run events: every transition the engine makes, for progress output and the journal."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TextIO


@dataclass(frozen=True)
class RunEvent:
    """One thing that happened in a run; ``job`` is empty for run-wide events.

    kinds: run_started, mode_chosen, drift, waiting, triggering, triggered, attached,
    trigger_unknown, status, finished, retry_scheduled, stop_requested, stopped,
    skipped, interrupted, run_finished, server_unreachable, server_back.
    """

    at: datetime
    kind: str
    job: str = ""
    attempt: int = 0
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class EventSink(Protocol):
    """Anything that wants to hear about a run's events."""

    def __call__(self, event: RunEvent) -> None: ...


class ProgressLines:
    """Plain timestamped progress lines on a stream (stderr by default)."""

    _QUIET_KINDS = frozenset({"status", "triggering", "trigger_sent", "progress"})

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._verbose = verbose

    def __call__(self, event: RunEvent) -> None:
        if event.kind in self._QUIET_KINDS and not self._verbose:
            return
        who = f"{event.job}" + (f" #{event.attempt}" if event.attempt > 1 else "")
        text = f"{event.at:%H:%M:%S} {who + ': ' if who else ''}{event.message or event.kind}"
        print(text, file=self._stream, flush=True)


class EventFanout:
    """Sends each event to several sinks; a failing sink is logged, never fatal to the run."""

    def __init__(self, sinks: list[Callable[[RunEvent], None]]) -> None:
        self._sinks = list(sinks)
        # Trigger workers report from pool threads: keep each event whole in every sink.
        self._lock = threading.Lock()

    def add(self, sink: Callable[[RunEvent], None]) -> None:
        """Add one more listener."""
        self._sinks.append(sink)

    def __call__(self, event: RunEvent) -> None:
        with self._lock:
            for sink in self._sinks:
                try:
                    sink(event)
                except Exception:  # a display bug must not lose a running job
                    logging.getLogger("runner.engine").exception("event sink failed")
