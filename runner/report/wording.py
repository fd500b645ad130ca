"""How reports phrase times and verdicts, the same way in every format (durations:
``runner.spec.durations.format_elapsed``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from runner.engine.outcome import JobOutcome
from runner.report.saved import RunReport
from runner.spec.durations import format_elapsed

# The order in which tallies list outcomes: what needs attention first.
OUTCOME_ORDER = (
    JobOutcome.FAILED,
    JobOutcome.TIMED_OUT,
    JobOutcome.CANCELED,
    JobOutcome.SKIPPED,
    JobOutcome.RUNNING,
    JobOutcome.WAITING,
    JobOutcome.PENDING,
    JobOutcome.SUCCEEDED,
)


def runner_time(moment: datetime | None) -> str:
    """A dmpipe timestamp in UTC, to the second; an em dash when unknown."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def server_time(moment: datetime | None) -> str:
    """A Datameer timestamp as the server gave it (local time, zone unknown)."""
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def verdict(report: RunReport) -> str:
    """One word or two for the whole run: succeeded, failed, interrupted, timed out ..."""
    if report.exit_code == 0:
        return "succeeded"
    if report.interrupted or report.exit_code == 130:
        return "interrupted"
    if report.timed_out:
        return "timed out"
    if report.ended_by == "credentials_refused":
        return "credentials refused"
    if report.exit_code == 3:
        return "server unreachable"
    return "failed"


def outcome_word(outcome: JobOutcome | None) -> str:
    """``succeeded``, ``timed out`` ...; ``unfinished`` for an attempt with no verdict."""
    return "unfinished" if outcome is None else outcome.value.lower().replace("_", " ")


def tally(report: RunReport) -> str:
    """``2 succeeded, 1 failed`` — jobs per final outcome, failures first."""
    counts: Mapping[JobOutcome, int] = _count(report)
    parts = [f"{counts[o]} {outcome_word(o)}" for o in OUTCOME_ORDER if counts.get(o)]
    return ", ".join(parts) or "no jobs"


def headline(report: RunReport) -> str:
    """``quickstart failed in 8.0s (exit 1): 2 succeeded, 1 failed``."""
    return (
        f"{report.pipeline_name} {verdict(report)} in {format_elapsed(report.duration_seconds)} "
        f"(exit {report.exit_code}): {tally(report)}"
    )


def one_line(text: str | None, limit: int = 300) -> str:
    """``text`` on one line (newlines and tabs become spaces), cut at ``limit`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _count(report: RunReport) -> dict[JobOutcome, int]:
    counts: dict[JobOutcome, int] = {}
    for job in report.jobs:
        counts[job.outcome] = counts.get(job.outcome, 0) + 1
    return counts


def stop_word(requested: bool, confirmed: bool | None) -> str:
    """What became of dmpipe's stop request: ``""`` when none was sent."""
    if not requested:
        return ""
    if confirmed is None:
        return "stop requested, confirmation never came"
    return "stop confirmed" if confirmed else "stop NOT confirmed"
