"""The scheduler's bookkeeping: one ``Slot`` per job beside its public ``JobState``, and
the ``RunState`` of the run as a whole."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from runner.datameer.status import JobStatus
from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.engine.trigger import StartResult
from runner.model import Job


@dataclass
class Slot:
    """The scheduler's private bookkeeping for one job (beside its public JobState)."""

    job: Job
    state: JobState
    not_before: float = 0.0
    started_at: float | None = None  # monotonic time of the current attempt's start
    starting: Future[StartResult] | None = None
    waiting_on: int | None = None
    stop_sent_at: float | None = None
    stop_outcome: JobOutcome | None = None  # what a confirmed stop will make of the attempt
    errors: int = 0
    failures: int = 0
    # --resume: a trigger was in flight when the last run died; look for it before triggering.
    resolve_pending: bool = False
    resolve_from: int | None = None
    last_status: JobStatus | None = None
    start_rounds: int = 0  # trigger rounds of the current attempt lost to transient failures
    unseen_since: float | None = None  # the execution was not found (not visible yet?)
    stop_retry: bool = False  # whether a confirmed stop leaves the job to be retried
    # Estimate-aware polling (cadence.py): the execution the next look is planned for, and when.
    look: tuple[int, float] | None = None
    seen_at: float | None = None  # monotonic time the server last showed it running
    sent_at: float | None = None  # monotonic time just before its execution's trigger went out
    # The progress and estimate the last PROGRESS event told, and when (monotonic).
    progress_told: tuple[float | None, float | None, float] | None = None

    def new_attempt(self) -> Attempt:
        """The attempt to use: the current one while it is unused, else a new one."""
        state = self.state
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
            self.progress_told = None
        attempt = state.current
        assert attempt is not None
        return attempt


@dataclass
class RunState:
    """What the loop knows of the run as a whole."""

    started_at: float
    halted_by: str | None = None  # the failing job when on_failure stops new starts
    interrupted: bool = False
    timed_out: bool = False
    server_lost: bool = False  # unreachable for longer than EngineOptions.unreachable_timeout
    unreachable_since: float | None = None
    refused: str | None = None  # the server refused the credentials mid-run (401)
    notes: list[str] = field(default_factory=list)

    @property
    def ended_by(self) -> str | None:
        """What ended the run early, as a word for reports; None when nothing did."""
        if self.refused is not None:
            return "credentials_refused"
        if self.server_lost:
            return "server_lost"
        if self.interrupted:
            return "interrupted"
        return "run_timeout" if self.timed_out else None

    @property
    def error(self) -> str | None:
        """Why the run as a whole ended early, in words (None when it did not)."""
        if self.refused is not None:
            return self.refused
        if self.server_lost:
            return self.notes[-1] if self.notes else "the server stopped answering"
        return None

    @property
    def halted(self) -> bool:
        """True once the run was interrupted or timed out."""
        return self.interrupted or self.timed_out
