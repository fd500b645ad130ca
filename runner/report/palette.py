"""The colours of job states, one definition for every report format.

``TERMINAL_STYLE`` is for rich (the live view and ``report show``), keyed by the word
a state is shown as; ``FILL`` is for the HTML report and its SVG drawings, keyed by
outcome (None: an attempt with no verdict yet).
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.engine.outcome import JobOutcome
from runner.report.wording import outcome_word

TERMINAL_STYLE: Mapping[str, str] = {
    "succeeded": "green",
    "failed": "bold red",
    "timed out": "bold dark_orange",
    "canceled": "bright_black",
    "skipped": "bright_black",
    "running": "cyan",
    "retrying": "yellow",
    "waiting": "yellow",
    "stopping": "magenta",
}

FILL: Mapping[JobOutcome | None, str] = {
    JobOutcome.SUCCEEDED: "#2e7d32",
    JobOutcome.FAILED: "#c62828",
    JobOutcome.TIMED_OUT: "#ef6c00",
    JobOutcome.CANCELED: "#757575",
    JobOutcome.SKIPPED: "#b0bec5",
    JobOutcome.PENDING: "#90a4ae",
    JobOutcome.WAITING: "#90a4ae",
    JobOutcome.RUNNING: "#1565c0",
    None: "#1565c0",
}


def css_class(outcome: JobOutcome | None) -> str:
    """The HTML class of an outcome's badge: ``o-timed-out``, ``o-unfinished`` ..."""
    return "o-" + outcome_word(outcome).replace(" ", "-")


def badge_css() -> str:
    """One CSS rule per outcome, giving its badge the outcome's ``FILL``."""
    return "".join(f".{css_class(outcome)}{{background:{fill}}}" for outcome, fill in FILL.items())
