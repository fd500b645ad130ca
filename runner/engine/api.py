"""The slice of the Datameer API the engine drives, and the engine's tunables.

``runner.client.DatameerClient`` satisfies ``JobApi``; the seam lets tests and
benchmarks count or slow calls without touching HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from runner.records import (
    ExecutionPlan,
    ExecutionStatus,
    JobDetails,
    RunningJob,
    TriggerResult,
)
from runner.reference import JobRef


class JobApi(Protocol):
    """The calls the engine makes; one method per endpoint, no policy."""

    def execution_status(self, ref: JobRef) -> ExecutionStatus: ...

    def job_details(self, execution_id: int) -> JobDetails: ...

    def list_running(self) -> list[RunningJob]: ...

    def trigger(self, ref: JobRef) -> TriggerResult: ...

    def trigger_sequence(
        self, file_ids: Sequence[int], variables: Mapping[str, str] | None = None
    ) -> ExecutionPlan: ...

    def stop(self, ref: JobRef) -> None: ...

    def stop_legacy(self, execution_id: int) -> None: ...


class Clock(Protocol):
    """Time as the engine sees it: a monotonic counter and the wall clock."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def now(self) -> datetime:
        """The wall-clock time, in UTC."""
        return datetime.now(timezone.utc)


@dataclass(frozen=True)
class EngineOptions:
    """Tunables of a run that are not part of the pipeline file."""

    # One list-running call per tick answers for every running job; off = one call per job.
    batch_polling: bool = True
    http_workers: int = 8
    # How long a trigger whose answer was lost is looked for before it is sent again.
    trigger_resolve_timeout: float = 30.0
    # How long stopped executions are watched for their CANCELED status.
    stop_confirm_timeout: float = 30.0
    # How long the server may stay unreachable before the run gives up (exit 3).
    unreachable_timeout: float = 300.0
    # After an interrupt: how long a trigger in flight or a lost answer is still waited for,
    # and stops watched for their confirmation (Ctrl-C is honoured within about twice this).
    interrupt_grace: float = 4.0
    # How long a new execution may stay invisible (job-details 404) before it counts as
    # lost: it is then stopped, and never triggered again for the same attempt.
    unseen_grace: float = 120.0
    strict_plan: bool = False
    seed: int | None = None
