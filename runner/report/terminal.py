"""``dmpipe report show DIR``: a saved run, drawn in the terminal with rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner.report.palette import TERMINAL_STYLE
from runner.report.saved import AttemptRecord, JobRecord, RunReport
from runner.report.timeline import build_timeline, elapsed_seconds
from runner.report.wording import (
    context_facts,
    headline,
    one_line,
    outcome_word,
    runner_time,
    server_time,
    stop_word,
    warning_lines,
)
from runner.spec.durations import format_elapsed

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table


def render_report(report: RunReport) -> RenderableType:
    """The run: headline, facts, a row per job, then every attempt that went wrong.

    Every piece of report text goes in as ``Text``, never as markup: a job name or a
    server message containing ``[...]`` must print as it is.
    """
    from rich.console import Group
    from rich.text import Text

    style = "bold green" if report.succeeded else "bold red"
    parts: list[RenderableType] = [
        Text(headline(report), style=style),
        Text(_facts(report), style="dim"),
        _jobs_table(report),
    ]
    problems = [(job, a) for job in report.jobs for a in job.attempts if _went_wrong(a)]
    if problems:
        parts.append(_problems_table(problems))
    return Group(*parts)


def _facts(report: RunReport) -> str:
    critical = " → ".join(build_timeline(report).critical) or "—"
    lines = [f"{label}: {text}" for label, text in context_facts(report)]
    lines += [
        f"{runner_time(report.started_at)} → {runner_time(report.finished_at)}",
        f"critical path: {critical}",
    ]
    if report.drift is not None and report.drift.found:
        drifted = [*report.drift.added, *report.drift.left_out, *report.drift.out_of_order]
        lines.append("plan drift: " + "; ".join(drifted))
    if report.error:
        lines.append(f"ended early: {report.error}")
    for job, attempt in report.left_running:
        lines.append(
            f"LEFT RUNNING: {job.name} (execution {attempt.execution_id or 'unknown'}): "
            f"{attempt.left_running}"
        )
    lines += [f"warning {line}" for line in warning_lines(report)]
    return "\n".join(lines)


def _jobs_table(report: RunReport) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title="jobs",
        title_justify="left",
        caption="elapsed: dmpipe's clock, first trigger sent → last final status seen; "
        "on server: Datameer's start → stop (server time). Two clocks, never subtracted.",
        caption_justify="left",
    )
    table.add_column("job", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    for header in ("tries", "elapsed", "on server"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=12)
    for job in report.jobs:
        word = outcome_word(job.outcome)
        table.add_row(*map(Text, _job_cells(job)), style=TERMINAL_STYLE.get(word))
    return table


def _job_cells(job: JobRecord) -> tuple[str, ...]:
    return (
        job.name,
        outcome_word(job.outcome),
        str(len(job.attempts)),
        format_elapsed(elapsed_seconds(job)),
        format_elapsed(job.server_seconds),
        one_line(_reason(job)),
    )


def _reason(job: JobRecord) -> str | None:
    """Why it failed; and, for a job that took over twice its usual duration, that too."""
    if not job.slower_than_usual or job.estimate_seconds is None:
        return job.reason
    usual = "usual" if job.estimate_from == "history" else "estimated"
    slow = f"slower than usual (its {usual} {format_elapsed(job.estimate_seconds)})"
    return f"{job.reason}; {slow}" if job.reason else slow


def _problems_table(problems: list[tuple[JobRecord, AttemptRecord]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="attempts that went wrong", title_justify="left")
    table.add_column("job", overflow="fold")
    table.add_column("try, execution", no_wrap=True)
    table.add_column("Datameer start → stop", no_wrap=True)
    table.add_column("what", overflow="fold", min_width=20)
    for job, attempt in problems:
        cells = (
            job.name,
            f"#{attempt.number}, {attempt.execution_id or '—'}",
            f"{server_time(attempt.server_start)}\n→ {server_time(attempt.server_stop)}",
            attempt_problem(attempt),
        )
        table.add_row(*map(Text, cells))
    return table


def _went_wrong(attempt: AttemptRecord) -> bool:
    return (
        bool(attempt.error)
        or attempt.stop_requested
        or (attempt.outcome is not None and attempt.outcome.is_failure)
    )


def attempt_problem(attempt: AttemptRecord) -> str:
    """``failed; Datameer reported ERROR; stop confirmed`` — what became of one attempt."""
    word = outcome_word(attempt.outcome)
    error = one_line(attempt.error)
    parts = (
        "" if error.startswith(word) else word,
        error,
        stop_word(attempt.stop_requested, attempt.stop_confirmed),
    )
    return "; ".join(part for part in parts if part)
