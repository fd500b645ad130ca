"""What happened to each job of a run: attempts, outcomes, and the run's result.

``JobOutcome`` is the runner's verdict on a job, distinct from Datameer's
``JobStatus`` of one execution: a job SUCCEEDED when its last attempt completed
and passed its gates; it FAILED, TIMED_OUT or was CANCELED otherwise; it was
SKIPPED when its ``when`` rule or the run's ``on_failure`` policy kept it from
starting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from runner.datameer.status import JobStatus


class JobOutcome(enum.Enum):
    """The runner's verdict on one job (or its state while the run goes on)."""

    PENDING = "PENDING"
    WAITING = "WAITING"  # for an execution this run did not start (already_running: wait)
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"

    @property
    def is_final(self) -> bool:
        """True once nothing more will happen to the job in this run."""
        return self not in (JobOutcome.PENDING, JobOutcome.WAITING, JobOutcome.RUNNING)

    @property
    def is_failure(self) -> bool:
        """True for the outcomes that make the run fail."""
        return self in (JobOutcome.FAILED, JobOutcome.TIMED_OUT, JobOutcome.CANCELED)


@dataclass
class Attempt:
    """One trigger of a job and what became of its execution (filled in as the run goes)."""

    number: int
    triggered_at: datetime | None = None
    execution_id: int | None = None
    attached: bool = False  # adopted an execution this run did not trigger
    status: JobStatus | None = None
    raw_status: str | None = None
    server_start: datetime | None = None
    server_stop: datetime | None = None
    detected_at: datetime | None = None  # when the runner saw the final status
    counters: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    outcome: JobOutcome | None = None
    stop_requested: bool = False  # the run decided to stop it
    stop_sent: bool = False  # a stop call reached (or may have reached) the server
    stop_method: str | None = None  # "execution" (job-kill by id) or "artifact"
    stop_error: str | None = None  # why no stop could be sent
    stop_confirmed: bool | None = None
    trigger_sends: int = 0  # trigger POSTs of this attempt (more than one: earlier were lost)
    recovered: bool = False  # the trigger's outcome was unknown; the execution was found
    progress: float | None = None
    estimate_seconds: float | None = None


@dataclass
class JobState:
    """A job's record in a run: its attempts and the current verdict."""

    name: str
    outcome: JobOutcome = JobOutcome.PENDING
    attempts: list[Attempt] = field(default_factory=list)
    reason: str | None = None  # why it failed or was skipped, in words
    configuration_id: int | None = None
    file_id: int | None = None
    resumed: bool = False  # carried over from an earlier run by --resume

    @property
    def current(self) -> Attempt | None:
        """The latest attempt, if any."""
        return self.attempts[-1] if self.attempts else None
