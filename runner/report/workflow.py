"""A finished run as GitHub Actions workflow commands: a folded group per job in the log,
and an annotation on the pipeline file's line of each job that did not succeed."""

from __future__ import annotations

from collections.abc import Mapping

from runner.engine.outcome import JobOutcome
from runner.github import command, workspace_path
from runner.report.saved import AttemptRecord, JobRecord, RunReport
from runner.report.wording import headline, one_line, outcome_word
from runner.spec.durations import format_elapsed

# Outcomes a workflow should hear about, and how loudly.
_LEVEL = {
    JobOutcome.FAILED: "error",
    JobOutcome.TIMED_OUT: "error",
    JobOutcome.CANCELED: "warning",
    JobOutcome.SKIPPED: "notice",
}


def workflow_commands(report: RunReport, environ: Mapping[str, str]) -> list[str]:
    """The lines to print on stdout at the end of a run inside GitHub Actions."""
    file = workspace_path(report.pipeline_file, environ)
    lines: list[str] = []
    for job in report.jobs:
        lines.append(command("group", f"{job.name}: {outcome_word(job.outcome)}"))
        lines.extend(_attempt_line(attempt) for attempt in job.attempts)
        if job.reason:
            lines.append(f"reason: {one_line(job.reason)}")
        lines.append(command("endgroup"))
    lines.extend(_annotations(report, file))
    return lines


def _attempt_line(attempt: AttemptRecord) -> str:
    execution = attempt.execution_id if attempt.execution_id is not None else "unknown"
    parts = [f"attempt {attempt.number}: execution {execution}"]
    if attempt.status:
        parts.append(attempt.status)
    if attempt.observed_seconds is not None:
        parts.append(format_elapsed(attempt.observed_seconds))
    if attempt.error:
        parts.append(one_line(attempt.error))
    if attempt.left_running:
        parts.append(f"LEFT RUNNING: {attempt.left_running}")
    return " · ".join(parts)


def _annotations(report: RunReport, file: str) -> list[str]:
    found = [_job_annotation(job, file) for job in report.jobs]
    lines = [line for line in found if line is not None]
    for job in report.jobs:
        for attempt in job.attempts:
            if attempt.left_running:
                what = f"execution {attempt.execution_id or 'unknown'} of {job.name}"
                lines.append(
                    command(
                        "error",
                        f"{what} may still be running: {attempt.left_running}",
                        **_where(job, file),
                        title="dmpipe: left running",
                    )
                )
    if report.error:
        lines.append(command("error", report.error, title=f"dmpipe: {headline(report)}"))
    return lines


def _job_annotation(job: JobRecord, file: str) -> str | None:
    level = _LEVEL.get(job.outcome)
    if level is None:
        return None
    title = f"dmpipe: job {job.name} {outcome_word(job.outcome)}"
    return command(level, one_line(job.reason) or title, **_where(job, file), title=title)


def _where(job: JobRecord, file: str) -> dict[str, str | int | None]:
    return {"file": file, "line": job.line, "col": job.col}
