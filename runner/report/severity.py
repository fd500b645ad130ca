"""How much a run event matters: what ``--quiet`` keeps and the level of a JSON log line."""

from __future__ import annotations

from runner.engine.events import RunEvent

ERROR, WARNING, INFO = "error", "warning", "info"

_ERRORS = frozenset({"server_lost", "run_timeout", "stop_unconfirmed", "interrupted"})
_WARNINGS = frozenset(
    {
        "retry_scheduled",
        "server_unreachable",
        "drift",
        "mode_fallback",
        "cancelling",
        "draining",
        "skipped",
        "stop_requested",
        "trigger_unknown",
        "waiting",
    }
)
_FAILED = frozenset({"FAILED", "TIMED_OUT", "CANCELED"})


def severity(event: RunEvent) -> str:
    """``error`` for what made the run fail, ``warning`` for what a user should notice."""
    if event.kind in _ERRORS:
        return ERROR
    if event.kind == "finished" and event.data.get("outcome") in _FAILED:
        return ERROR
    if event.kind == "run_finished" and event.data.get("exit_code", 0) != 0:
        return ERROR
    return WARNING if event.kind in _WARNINGS else INFO


def shown_when_quiet(event: RunEvent) -> bool:
    """``--quiet`` keeps the run's closing summary line and the errors."""
    return event.kind == "run_finished" or severity(event) == ERROR
