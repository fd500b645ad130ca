"""Run events: every transition the engine makes, for progress output and the journal."""

from __future__ import annotations

import enum
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO


class EventKind(enum.StrEnum):
    """What a run event reports; the journal and the JSON log store the value.

    Only kinds the engine emits are listed: a kind no code sends is a consumer
    matching nothing.  ``RunEvent`` refuses any other kind.
    """

    # -- the run -------------------------------------------------------------
    RUN_STARTED = "run_started"  # data: the run's identity, mode, jobs (resume reads it)
    MODE_FALLBACK = "mode_fallback"  # sequential mode unavailable: client mode instead
    NOTHING_TO_DO = "nothing_to_do"  # resumed run whose every job already succeeded
    SERVER_UNREACHABLE = "server_unreachable"  # calls fail: waiting for the server
    SERVER_BACK = "server_back"  # the server answers again after being unreachable
    SERVER_LOST = "server_lost"  # unreachable for longer than the run's patience: giving up
    CREDENTIALS_REFUSED = "credentials_refused"  # the server refused the login mid-run
    RUN_TIMEOUT = "run_timeout"  # the run's own timeout was reached
    INTERRUPTED = "interrupted"  # Ctrl-C / SIGTERM: stopping what the run started
    CANCELLING = "cancelling"  # a job failed, on_failure: cancel
    DRAINING = "draining"  # a job failed (finish_running) or the server's plan grew
    RUN_FINISHED = "run_finished"  # data: exit_code; its message is the closing line
    # -- the sequential trigger ------------------------------------------------
    SEQUENCE_TRIGGERED = "sequence_triggered"  # the server started the chain (data: plan)
    SEQUENCE_UNKNOWN = "sequence_unknown"  # its answer was lost: looking, not resending
    LOOKING = "looking"  # resume: looking for executions an unanswered trigger started
    NOT_FOUND = "not_found"  # no new execution found for some jobs after looking
    DRIFT = "drift"  # the server's plan differs from the pipeline's
    # -- one job ---------------------------------------------------------------
    WAITING = "waiting"  # another execution of its artifact runs: waiting for it
    WAITED = "waited"  # that execution ended: triggering now
    TRIGGERING = "triggering"  # about to send the trigger
    TRIGGER_SENT = "trigger_sent"  # the trigger is on its way (resume looks, never resends)
    TRIGGER_UNKNOWN = "trigger_unknown"  # its answer was lost or a 5xx: looking, not resending
    TRIGGERED = "triggered"  # data: execution_id; the server started an execution
    ATTACHED = "attached"  # data: execution_id; an execution already running was adopted
    WRONG_EXECUTION = "wrong_execution"  # the trigger named another artifact's execution
    SEQUENCE_FAILED = "sequence_failed"  # the sequential trigger failed: not started
    RERUN = "rerun"  # the sequential trigger ran a job already done again: not watched
    STATUS = "status"  # data: status; Datameer's status changed
    PROGRESS = "progress"  # data: progress, estimate_seconds (not journaled)
    STOP_REQUESTED = "stop_requested"  # dmpipe asked the server to stop the execution
    STOP_UNCONFIRMED = "stop_unconfirmed"  # the server never confirmed that stop
    CHAIN_WAIT = "chain_wait"  # the server skipped it for an upstream failure; retried later
    RETRY_SCHEDULED = "retry_scheduled"  # data: outcome; this attempt is over, another follows
    FINISHED = "finished"  # data: outcome; the job is over
    SKIPPED = "skipped"  # never started (an upstream job failed, or its when: did not hold)


@dataclass(frozen=True, init=False)
class RunEvent:
    """One thing that happened in a run; ``job`` is empty for run-wide events.

    ``kind`` may be given as its text (``"finished"``); ValueError for a kind that
    is not an ``EventKind``, so a misspelt kind fails at once.
    """

    at: datetime
    kind: EventKind
    job: str
    attempt: int
    message: str
    data: dict[str, Any]

    def __init__(
        self,
        at: datetime,
        kind: EventKind | str,
        job: str = "",
        attempt: int = 0,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        # One update of the instance's dict instead of one object.__setattr__ a field (frozen
        # blocks only setattr): a run makes seven events a job.  The kind is checked by type
        # first: the engine passes kinds, an enum lookup costs more.
        self.__dict__.update(
            at=at,
            kind=kind if type(kind) is EventKind else EventKind(kind),
            job=job,
            attempt=attempt,
            message=message,
            data={} if data is None else data,
        )


class EventSink(Protocol):
    """Anything that wants to hear about a run's events."""

    def __call__(self, event: RunEvent) -> None: ...


class ProgressLines:
    """Plain timestamped progress lines on a stream (stderr by default)."""

    _QUIET_KINDS = frozenset(
        {EventKind.STATUS, EventKind.TRIGGERING, EventKind.TRIGGER_SENT, EventKind.PROGRESS}
    )

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._verbose = verbose

    def __call__(self, event: RunEvent) -> None:
        if event.kind in self._QUIET_KINDS and not self._verbose:
            return
        who = f"{event.job}" + (f" #{event.attempt}" if event.attempt > 1 else "")
        at = event.at  # its fields, not strftime (%H:%M:%S costs three times as much)
        text = (
            f"{at.hour:02d}:{at.minute:02d}:{at.second:02d} "
            f"{who + ': ' if who else ''}{event.message or event.kind}\n"
        )
        # One write, then flush: print writes the line and its newline separately.
        self._stream.write(text)
        self._stream.flush()


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
