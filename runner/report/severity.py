"""How much a run event matters: what ``--quiet`` keeps and the level of a JSON log line."""

from __future__ import annotations

from runner.engine.events import EventKind, RunEvent

ERROR, WARNING, INFO = "error", "warning", "info"

# What ends the run unsuccessfully.
_ERRORS = frozenset(
    {
        EventKind.SERVER_LOST,
        EventKind.CREDENTIALS_REFUSED,
        EventKind.RUN_TIMEOUT,
        EventKind.STOP_UNCONFIRMED,
        EventKind.INTERRUPTED,
    }
)
# What a user should notice: the run goes on, but not as planned.
_WARNINGS = frozenset(
    {
        EventKind.RETRY_SCHEDULED,
        EventKind.SERVER_UNREACHABLE,
        EventKind.DRIFT,
        EventKind.MODE_FALLBACK,
        EventKind.CANCELLING,
        EventKind.DRAINING,
        EventKind.SKIPPED,
        EventKind.STOP_REQUESTED,
        EventKind.WAITING,
        EventKind.WRONG_EXECUTION,
        EventKind.SEQUENCE_UNKNOWN,
        EventKind.TRIGGER_UNKNOWN,
        EventKind.SEQUENCE_FAILED,
        EventKind.NOT_FOUND,
        EventKind.RERUN,
    }
)
_FAILED = frozenset({"FAILED", "TIMED_OUT", "CANCELED"})


def severity(event: RunEvent) -> str:
    """``error`` for what made the run fail, ``warning`` for what a user should notice."""
    if event.kind in _ERRORS:
        return ERROR
    if event.kind is EventKind.FINISHED and event.data.get("outcome") in _FAILED:
        return ERROR
    if event.kind is EventKind.RUN_FINISHED and event.data.get("exit_code", 0) != 0:
        return ERROR
    return WARNING if event.kind in _WARNINGS else INFO


def shown_when_quiet(event: RunEvent) -> bool:
    """``--quiet`` keeps the run's closing summary line and the errors."""
    return event.kind is EventKind.RUN_FINISHED or severity(event) == ERROR
