"""The warnings of a run, one list derived from its events, for ``report.json``.

Every event that says the run did not go as planned — a trigger answer lost, the server
unreachable or answering 5xx, plan drift, a fall back to client mode, a stop never
confirmed — becomes one warning with its time, so a report explains a gap in its
timeline.  A trigger sent again after a search that found nothing is a warning of its
own: it says how long the search took.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.engine.events import EventKind, RunEvent
from runner.spec.durations import format_elapsed

# The events that are warnings of the run (a job's own failure is in its outcome).
WARNING_KINDS = frozenset(
    {
        EventKind.TRIGGER_UNKNOWN,
        EventKind.SEQUENCE_UNKNOWN,
        EventKind.NOT_FOUND,
        EventKind.SERVER_UNREACHABLE,
        EventKind.SERVER_BACK,
        EventKind.SERVER_LOST,
        EventKind.CREDENTIALS_REFUSED,
        EventKind.DRIFT,
        EventKind.MODE_FALLBACK,
        EventKind.STOP_UNCONFIRMED,
        EventKind.WRONG_EXECUTION,
        EventKind.RERUN,
        EventKind.WAITING,
        EventKind.RUN_TIMEOUT,
    }
)
# Every kind a warning is made of; the others (status, progress, ...) pass without the lock.
_HEARD = WARNING_KINDS | {
    EventKind.TRIGGER_SENT,
    EventKind.TRIGGERED,
    EventKind.FINISHED,
}


@dataclass(frozen=True)
class RunWarning:
    """One thing a reader of the report should know about; ``job`` is empty for the run."""

    at: datetime | None
    kind: str
    message: str
    job: str = ""
    attempt: int = 0

    def to_data(self) -> dict[str, Any]:
        """The warning as report.json holds it."""
        return {
            "at": self.at.isoformat() if self.at else None,
            "kind": self.kind,
            "job": self.job or None,
            "attempt": self.attempt or None,
            "message": self.message,
        }


class WarningLog:
    """An event sink keeping the run's warnings in the order they happened.

    ``before`` are warnings known before the first event (the mode choice's).
    """

    def __init__(self, before: tuple[str, ...] = ()) -> None:
        self._warnings = [RunWarning(None, "setup", text) for text in before]
        self._unknown: dict[tuple[str, int], datetime] = {}  # lost trigger answers looked for
        self._lock = threading.Lock()

    def __call__(self, event: RunEvent) -> None:
        if event.kind not in _HEARD:
            return
        with self._lock:
            found = self._warning(event)
            if found is not None:
                self._warnings.append(found)

    def add(self, kind: str, message: str, at: datetime | None = None) -> None:
        """A warning that is no event (a busy server asked again before the run began)."""
        with self._lock:
            self._warnings.append(RunWarning(at, kind, message))

    @property
    def warnings(self) -> list[RunWarning]:
        """Every warning so far, oldest first."""
        with self._lock:
            return list(self._warnings)

    def _warning(self, event: RunEvent) -> RunWarning | None:
        key = (event.job, event.attempt)
        if event.kind is EventKind.TRIGGER_UNKNOWN:
            self._unknown[key] = event.at
        elif event.kind is EventKind.TRIGGER_SENT and key in self._unknown:
            looked = format_elapsed((event.at - self._unknown.pop(key)).total_seconds())
            message = f"no execution of the lost trigger found after {looked}: trigger sent again"
            return RunWarning(event.at, "trigger_resent", message, event.job, event.attempt)
        elif event.kind is EventKind.TRIGGERED and key in self._unknown:
            looked = format_elapsed((event.at - self._unknown.pop(key)).total_seconds())
            found = event.data.get("execution_id")
            message = f"execution {found} of the lost trigger found after {looked}: not sent again"
            return RunWarning(event.at, "trigger_found", message, event.job, event.attempt)
        elif event.kind is EventKind.FINISHED:
            self._unknown.pop(key, None)
        if event.kind not in WARNING_KINDS:
            return None
        message = event.message or str(event.kind)
        return RunWarning(event.at, str(event.kind), message, event.job, event.attempt)
