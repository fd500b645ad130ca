"""The plan as aligned text for a terminal: header, jobs by level, critical path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from runner.model import Job, Mode, RetryPolicy, RunPolicies, When
from runner.plan.masking import masked_variables
from runner.plan.outline import Plan, PlannedJob
from runner.spec.durations import format_duration

_COLUMNS = (" JOB", "REFERENCE", "NEEDS", "WHEN", "RETRIES", "TIMEOUT", "WARNINGS", "IF RUNNING")
_MORE_COLUMNS = ("ESTIMATE", "EXPECT")
_DEFAULT_RETRY_ON = RetryPolicy().retry_on


def _seconds(value: float | None) -> str:
    """A configured duration as the pipeline file would write it; ``-`` when unset."""
    return "-" if value is None else format_duration(value)


def render_text(plan: Plan, passwords: Iterable[str | None] = ()) -> str:
    """The whole plan, ready to print (secret variables masked, see ``runner.plan.masking``)."""
    lines = [*_header(plan, passwords), "", *_table(plan), "", *_critical_path(plan)]
    return "\n".join(lines) + "\n"


def _header(plan: Plan, passwords: Iterable[str | None]) -> list[str]:
    pipeline = plan.pipeline
    lines = [f"Plan for {pipeline.name} ({pipeline.path})"]
    lines.append(f"Mode:      {_mode_line(plan)}")
    lines.extend(f"Warning:   {warning}" for warning in plan.mode.warnings)
    profile = pipeline.server.profile
    server = plan.server_url or "$DATAMEER_URL (not set)"
    lines.append(f"Server:    {server}" + (f" (profile {profile})" if profile else ""))
    if pipeline.variables:
        shown = masked_variables(pipeline.variables, [pipeline.server.password, *passwords])
        pairs = ", ".join(f"{name}={value}" for name, value in shown.items())
        lines.append(f"Variables: {pairs}")
    lines.append(f"Run:       {_run_policies(pipeline.policies)}")
    count = len(plan.jobs)
    noun = "level" if plan.level_count == 1 else "levels"
    lines.append(f"Jobs:      {count} in {plan.level_count} {noun}")
    lines.extend(_selection_lines(plan))
    lines.extend(_sequence_lines(plan))
    return lines


def _sequence_lines(plan: Plan) -> list[str]:
    """What the sequential trigger does beyond the table: handlers and --resume."""
    if plan.mode.runs_as is not Mode.SEQUENTIAL:
        return []
    lines = []
    handlers = [p.job.name for p in plan.jobs if p.job.when is not When.ALL_SUCCESS]
    if handlers:
        lines.append(
            f"Handlers:  {', '.join(handlers)}: triggered by dmpipe after the chain, "
            "never part of the sequence"
        )
    lines.append(
        "Resume:    --resume keeps what succeeded and re-attaches to what still runs; the "
        "sequential trigger restarts from each failed or never-run job, and Datameer "
        "re-runs everything downstream of it"
    )
    return lines


def _mode_line(plan: Plan) -> str:
    choice = plan.mode
    if choice.mode is Mode.AUTO:
        return f"sequential, client if the server lacks it ({choice.reason})"
    return f"{choice.mode.value} ({choice.reason})"


def _run_policies(policies: RunPolicies) -> str:
    parallel = policies.max_parallel if policies.max_parallel is not None else "unlimited"
    return " · ".join(
        [
            f"on_failure {policies.on_failure.value}",
            f"max_parallel {parallel}",
            f"timeout {_seconds(policies.timeout) if policies.timeout else 'none'}",
            f"poll every {_seconds(policies.poll_interval)}, "
            f"backing off to {_seconds(policies.max_poll_interval)}",
        ]
    )


def _selection_lines(plan: Plan) -> list[str]:
    selection = plan.selection
    if selection.is_whole:
        return []
    lines = []
    if selection.assumed_done:
        done = sorted({need for needs in selection.assumed_done.values() for need in needs})
        lines.append(f"Assumed done (not selected): {', '.join(done)}")
    if selection.downstream_left_out:
        lines.append(f"Left out downstream: {', '.join(selection.downstream_left_out)}")
    return lines


def _table(plan: Plan) -> list[str]:
    sequential = plan.mode.runs_as is Mode.SEQUENTIAL
    header = (*_COLUMNS, *_MORE_COLUMNS, *(("STARTED BY",) if sequential else ()))
    rows = [_row(planned, sequential) for planned in plan.jobs]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  " + _aligned(header, widths)]
    level = 0
    for planned, row in zip(plan.jobs, rows, strict=True):
        if planned.level != level:
            level = planned.level
            lines.append(f"Level {level}")
        lines.append("  " + _aligned(row, widths))
    if any(planned.critical for planned in plan.jobs):
        lines.append("(* on the critical path)")
    return lines


def _row(planned: PlannedJob, sequential: bool) -> tuple[str, ...]:
    job = planned.job
    row = (
        ("*" if planned.critical else " ") + job.name,
        job.ref.describe(),
        ", ".join(job.needs) or "-",
        job.when.value,
        _retries(job.retry),
        _seconds(job.timeout),
        job.warnings.value,
        job.already_running.value,
        _seconds(job.estimate),
        _expect(job),
    )
    return (*row, planned.started_by) if sequential else row


def _retries(retry: RetryPolicy) -> str:
    if retry.retries == 0:
        return "0"
    text = (
        f"{retry.retries} ({_seconds(retry.delay)} ×{retry.backoff:g} ≤{_seconds(retry.max_delay)})"
    )
    if retry.retry_on != _DEFAULT_RETRY_ON:
        text += " on " + ",".join(sorted(retry.retry_on))
    return text


def _expect(job: Job) -> str:
    return "; ".join(str(expectation) for expectation in job.expect) or "-"


def _aligned(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _critical_path(plan: Plan) -> list[str]:
    path = plan.critical_path
    if not path.jobs:
        return ["Critical path: no jobs"]
    estimates = {p.job.name: p.job.estimate for p in plan.jobs}
    if all(estimates[name] is None for name in path.jobs):
        chain = " → ".join(path.jobs)
        return [f"Critical path: no estimates; the longest chain is {chain}"]
    chain = " → ".join(f"{name} ({_seconds(estimates[name])})" for name in path.jobs)
    lines = [f"Critical path: {_seconds(path.total)}: {chain}"]
    if path.unestimated:
        lines.append(f"  without an estimate, counted as 0s: {', '.join(path.unestimated)}")
    return lines
