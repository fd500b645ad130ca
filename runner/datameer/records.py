"""Typed records of what the Datameer REST API answers, one per response shape.

The client builds these from the JSON it receives; nothing past the client
sees a raw dict.  Every status keeps its raw spelling next to the normalised
``JobStatus`` so that an unexpected value can be reported verbatim.
Timestamps are naive ``datetime`` values in the server's local time, as the
API gives no zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from runner.datameer.status import JobStatus

if TYPE_CHECKING:
    from runner.datameer.late_records import ConfigurationStatus as ConfigurationStatus
    from runner.datameer.late_records import ConfiguredFile as ConfiguredFile
    from runner.datameer.late_records import DeleteResult as DeleteResult
    from runner.datameer.late_records import HistoryEntry as HistoryEntry
    from runner.datameer.late_records import JobDetails as JobDetails
else:
    from runner.lazy import lazy_names

    # Made on first use (runner.datameer.late_records): a run's start needs none of them.
    __getattr__ = lazy_names(
        __name__,
        dict.fromkeys(
            ("ConfigurationStatus", "ConfiguredFile", "DeleteResult", "HistoryEntry", "JobDetails"),
            "runner.datameer.late_records",
        ),
        globals(),
    )


@dataclass(frozen=True)
class ExecutionStatus:
    """``GET /api/job-execution/<ref>/status`` (v2): the latest execution of an artifact."""

    status: JobStatus
    raw_status: str
    file_id: int | None = None
    execution_id: int | None = None
    start_time: datetime | None = None
    stop_time: datetime | None = None
    estimate_seconds: float | None = None
    progress: float | None = None
    user: str | None = None
    trigger: str | None = None


@dataclass(frozen=True)
class RunningJob:
    """One entry of ``GET /rest/jobs/list-running``; the execution id may be missing."""

    configuration_id: int
    execution_id: int | None
    status: JobStatus
    raw_status: str
    start_time: datetime | None
    estimate_seconds: float | None
    progress: float | None


@dataclass(frozen=True)
class TriggerResult:
    """``POST /api/job-execution/<ref>/trigger``: the execution the trigger created."""

    execution_id: int
    user: str | None
    trigger: str | None


@dataclass(frozen=True)
class PlannedExecution:
    """One step of the execution plan the sequential trigger returns."""

    configuration_name: str
    configuration_id: int
    triggered: bool
    execution_id: int | None


@dataclass(frozen=True)
class ExecutionPlan:
    """``POST /rest/job-execution?sequence=...``: the chain Datameer started, in order."""

    steps: tuple[PlannedExecution, ...]


@dataclass(frozen=True)
class ServerInfo:
    """What the client learnt about the server: its version when known."""

    version: str | None
