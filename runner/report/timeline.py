"""The run on dmpipe's clock: one bar per attempt, rows in dependency order, the critical path.

Bars use only dmpipe's own timestamps (trigger sent, final status seen): Datameer's
start and stop are server-local times without a zone, so they cannot be placed on
the same axis.  The report alone suffices: the job graph is rebuilt from its
``needs`` lists, not from the pipeline file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from runner.engine.outcome import JobOutcome
from runner.report.saved import AttemptRecord, JobRecord, RunReport


@dataclass(frozen=True)
class Bar:
    """One attempt on the timeline; ``start`` and ``end`` are seconds after the run started."""

    job: str
    attempt: int
    start: float
    end: float
    outcome: JobOutcome | None
    open_start: bool = False  # triggered before this run (resumed) or at an unknown time
    open_end: bool = False  # the final status was never seen: drawn up to the run's end
    retried: bool = False  # a later attempt of the same job followed
    stop_requested: bool = False
    stop_confirmed: bool | None = None


@dataclass(frozen=True)
class Timeline:
    """Everything the Gantt chart draws."""

    length: float  # seconds from the run's start to its end
    rows: tuple[str, ...]  # job names, dependency order
    bars: tuple[Bar, ...]
    critical: tuple[str, ...]  # the critical path of this run, first job first
    levels: tuple[tuple[str, ...], ...] = ()  # the job graph's columns, for drawing it
    edges: tuple[tuple[str, str], ...] = ()  # needed job → job that needs it


class _Latest:
    """The timeline of the report last drawn: the Markdown, HTML and terminal renderings of
    one report share it (a 2,000-job graph takes a tenth of a second to lay out)."""

    report: RunReport | None = None
    timeline: Timeline | None = None


def build_timeline(report: RunReport) -> Timeline:
    """Bars for every attempt of every job, the run's critical path and its job graph."""
    if _Latest.report is report and _Latest.timeline is not None:
        return _Latest.timeline
    timeline = _build_timeline(report)
    _Latest.report, _Latest.timeline = report, timeline
    return timeline


def _build_timeline(report: RunReport) -> Timeline:
    from runner.graph.dag import generations

    needs = job_needs(report)
    dependants: dict[str, list[str]] = {name: [] for name in needs}
    for name, its_needs in needs.items():
        for need in its_needs:
            dependants[need].append(name)
    columns = tuple(tuple(level) for level in generations(needs))
    length = max(report.duration_seconds, 0.0)
    ran = {job.name for job in report.jobs if job.attempts}
    return Timeline(
        length=length,
        rows=tuple(name for column in columns for name in column),
        bars=tuple(bar for job in report.jobs for bar in _bars(job, report.started_at, length)),
        critical=critical_jobs(report, needs, ran),
        levels=columns,
        edges=tuple((need, name) for need in needs for name in dependants[need]),
    )


def job_needs(report: RunReport) -> dict[str, tuple[str, ...]]:
    """The run's DAG rebuilt from the report: each job, in the report's order, → the jobs
    it needs that are in the report (a need left out by --select did not run here), each
    once, as written."""
    names = {job.name for job in report.jobs}
    return {
        job.name: tuple(dict.fromkeys(need for need in job.needs if need in names))
        for job in report.jobs
    }


def critical_jobs(
    report: RunReport, needs: dict[str, tuple[str, ...]], ran: set[str]
) -> tuple[str, ...]:
    """The chain of jobs whose elapsed times add up to the longest (ties: the deepest).

    Only jobs in ``ran`` take part: a job that never started cannot have made the run
    longer, even if it is the deepest.
    """
    from runner.graph.critical import longest_chain

    taking_part = {
        name: tuple(need for need in job_needs if need in ran)
        for name, job_needs in needs.items()
        if name in ran
    }
    elapsed = {job.name: elapsed_seconds(job) or 0.0 for job in report.jobs if job.name in ran}
    return longest_chain(taking_part, elapsed).jobs


def elapsed_seconds(job: JobRecord) -> float | None:
    """First trigger sent → last final status seen, retry delays included (dmpipe's clock)."""
    starts = [a.triggered_at for a in job.attempts if a.triggered_at is not None]
    ends = [a.detected_at for a in job.attempts if a.detected_at is not None]
    if not starts or not ends or max(ends) < min(starts):
        return None
    return (max(ends) - min(starts)).total_seconds()


def _bars(job: JobRecord, origin: datetime, length: float) -> list[Bar]:
    last = len(job.attempts) - 1
    return [
        _bar(job.name, attempt, origin, length, is_last=index == last)
        for index, attempt in enumerate(job.attempts)
    ]


def _bar(
    name: str, attempt: AttemptRecord, origin: datetime, length: float, *, is_last: bool
) -> Bar:
    start = _offset(attempt.triggered_at, origin)
    earlier_run = start is not None and start < 0  # carried over by --resume
    open_start = start is None or earlier_run
    start = min(max(start or 0.0, 0.0), length)
    end = _offset(attempt.detected_at, origin)
    open_end = end is None
    if end is None:
        # Unseen end: the last attempt ran on until this run ended, unless it had
        # already ended in the run this one resumed; an earlier attempt's end is unknown.
        ended_before = earlier_run and attempt.outcome is not None
        end = length if is_last and not ended_before else start
    return Bar(
        job=name,
        attempt=attempt.number,
        start=start,
        end=min(max(end, start), length),
        outcome=attempt.outcome,
        open_start=open_start,
        open_end=open_end,
        retried=not is_last,
        stop_requested=attempt.stop_requested,
        stop_confirmed=attempt.stop_confirmed,
    )


def _offset(moment: datetime | None, origin: datetime) -> float | None:
    if moment is None or moment.tzinfo is None:
        return None
    return (moment - origin).total_seconds()
