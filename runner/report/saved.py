"""The typed records of a saved run report, as the renderers read it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from runner.engine.outcome import JobOutcome


@dataclass(frozen=True)
class AttemptRecord:
    """One trigger of a job; runner times are aware UTC, server times naive server-local."""

    number: int
    execution_id: int | None = None
    attached: bool = False
    triggered_at: datetime | None = None
    detected_at: datetime | None = None
    server_start: datetime | None = None
    server_stop: datetime | None = None
    status: str | None = None
    raw_status: str | None = None
    outcome: JobOutcome | None = None
    counters: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    stop_requested: bool = False
    stop_confirmed: bool | None = None
    stop_method: str | None = None
    stop_error: str | None = None
    left_running: str | None = None  # why the run exited without seeing it end
    progress: float | None = None
    estimate_seconds: float | None = None

    @property
    def observed_seconds(self) -> float | None:
        """dmpipe's clock: trigger sent → final status seen; None when either end is unknown."""
        return span(self.triggered_at, self.detected_at)

    @property
    def server_seconds(self) -> float | None:
        """Datameer's clock: its start-time → stop-time; None when either is unknown."""
        return span(self.server_start, self.server_stop)


@dataclass(frozen=True)
class GateRecord:
    """One ``expect`` gate of a job and how the run judged it."""

    gate: str
    actual: int | None
    met: bool | None  # None: no counters to judge


@dataclass(frozen=True)
class JobRecord:
    """A job of the run with every attempt, in trigger order."""

    name: str
    ref_kind: str
    ref_value: str
    outcome: JobOutcome
    needs: tuple[str, ...] = ()
    reason: str | None = None
    resumed: bool = False
    configuration_id: int | None = None
    file_id: int | None = None
    attempts: tuple[AttemptRecord, ...] = ()
    line: int | None = None  # where the job is written in the pipeline file
    col: int | None = None
    gates: tuple[GateRecord, ...] = ()
    estimate_seconds: float | None = None  # its estimate: key, or its history's median
    estimate_from: str | None = None
    slower_than_usual: bool = False

    @property
    def counters(self) -> Mapping[str, int]:
        """The counters of the last attempt that has any (empty when none has)."""
        counted = [attempt for attempt in self.attempts if attempt.counters]
        return counted[-1].counters if counted else {}

    @property
    def observed_seconds(self) -> float | None:
        """Sum of the attempts' observed spans (None when no attempt has one)."""
        return _total(attempt.observed_seconds for attempt in self.attempts)

    @property
    def server_seconds(self) -> float | None:
        """Sum of the attempts' server spans (None when no attempt has one)."""
        return _total(attempt.server_seconds for attempt in self.attempts)

    @property
    def last(self) -> AttemptRecord | None:
        """The latest attempt, if any."""
        return self.attempts[-1] if self.attempts else None


@dataclass(frozen=True)
class Drift:
    """Sequential mode: how Datameer's execution plan differed from the pipeline."""

    found: bool
    added: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    out_of_order: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningRecord:
    """One warning of the run (``runner.engine.run_warnings``); ``at`` None: before it began."""

    at: datetime | None
    kind: str
    message: str
    job: str = ""


@dataclass(frozen=True)
class RunReport:
    """A whole ``report.json``."""

    pipeline_name: str
    pipeline_file: str
    started_at: datetime
    finished_at: datetime
    exit_code: int
    jobs: tuple[JobRecord, ...] = ()
    pipeline_sha256: str | None = None
    runner_version: str = ""
    server_url: str | None = None
    mode: str = ""
    mode_reason: str = ""
    interrupted: bool = False
    timed_out: bool = False
    drift: Drift | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None  # why the run as a whole ended early
    ended_by: str | None = None  # interrupted | run_timeout | server_lost | credentials_refused
    # The run's context (older reports lack it: the defaults then).
    mode_requested: str = ""
    mode_fallback: str | None = None
    server_user: str | None = None
    os_user: str | None = None
    profile: str | None = None
    emulator: bool = False
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[WarningRecord, ...] = ()

    @property
    def duration_seconds(self) -> float:
        """Wall-clock length of the run on dmpipe's clock."""
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def succeeded(self) -> bool:
        """True when the run exited 0."""
        return self.exit_code == 0

    @property
    def left_running(self) -> list[tuple[JobRecord, AttemptRecord]]:
        """Executions the run started and did not see end (contract C2)."""
        return [(job, a) for job in self.jobs for a in job.attempts if a.left_running]

    def job(self, name: str) -> JobRecord:
        """The job called ``name``; KeyError if the run had none."""
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)


def span(start: datetime | None, stop: datetime | None) -> float | None:
    """Seconds from ``start`` to ``stop``; None when either is unknown, or when only one
    has a zone (an attempt read back from an older journal): they cannot be compared."""
    if start is None or stop is None or (start.tzinfo is None) != (stop.tzinfo is None):
        return None
    return (stop - start).total_seconds()


def _total(values: Iterable[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None
