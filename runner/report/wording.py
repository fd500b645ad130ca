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
    return _to_the_second(moment.astimezone(UTC)) + " UTC"


def server_time(moment: datetime | None) -> str:
    """A Datameer timestamp as the server gave it (local time, zone unknown)."""
    return "—" if moment is None else _to_the_second(moment)


def _to_the_second(moment: datetime) -> str:
    """``2026-11-28 09:15:02``, the zone cut off: what ``strftime("%Y-%m-%d %H:%M:%S")``
    gives for years 1000-9999, at a third of its cost (a big run's reports format four
    times per attempt)."""
    return moment.isoformat(" ", "seconds")[:19]


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
    return _OUTCOME_WORDS[outcome]


_OUTCOME_WORDS: dict[JobOutcome | None, str] = {
    None: "unfinished",
    **{outcome: outcome.value.lower().replace("_", " ") for outcome in JobOutcome},
}


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


def mode_text(report: RunReport) -> str:
    """``sequential (asked: auto) — auto: the pipeline sets workbook variables ...``."""
    asked = report.mode_requested
    shown = report.mode if not asked or asked == report.mode else f"{report.mode} (asked: {asked})"
    return f"{shown} — {report.mode_reason}"


def context_facts(report: RunReport) -> list[tuple[str, str]]:
    """The run's context as (label, text) pairs, in the order every format shows them."""
    who = report.os_user or "—"
    if report.server_user:
        who += f" (Datameer user {report.server_user})"
    server = report.server_url or "—"
    if report.emulator:
        server += " (the in-process emulator, --emulator)"
    elif report.profile:
        server += f" (profile {report.profile})"
    sha = report.pipeline_sha256 or "—"
    return [
        ("pipeline", f"{report.pipeline_file} (sha256 {sha})"),
        ("mode", mode_text(report)),
        ("server", server),
        ("run by", who),
        ("selection", selection_text(report)),
        ("variables", variables_text(report)),
        ("dmpipe", report.runner_version or "—"),
    ]


def selection_text(report: RunReport) -> str:
    """``--select a+ --exclude c``; ``every job`` without a selection."""
    parts = [f"--select {' '.join(report.select)}"] if report.select else []
    parts += [f"--exclude {' '.join(report.exclude)}"] if report.exclude else []
    return " ".join(parts) or "every job"


def variables_text(report: RunReport) -> str:
    """``run_date=2026-11-28, db_password=****``; ``none`` without variables."""
    return ", ".join(f"{name}={value}" for name, value in report.variables.items()) or "none"


def warning_lines(report: RunReport) -> list[str]:
    """Each warning of the run on one line, timed from the run's start: ``+1m 07s export: …``."""
    lines = []
    for warning in report.warnings:
        offset = (
            "before start"
            if warning.at is None
            else "+" + format_elapsed(max(0.0, (warning.at - report.started_at).total_seconds()))
        )
        who = f"{warning.job}: " if warning.job else ""
        lines.append(f"{offset} {who}{one_line(warning.message)}")
    return lines
