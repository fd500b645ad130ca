"""Typed records of what the Datameer REST API answers, one per response shape.

The client builds these from the JSON it receives; nothing past the client
sees a raw dict.  Every status keeps its raw spelling next to the normalised
``JobStatus`` so that an unexpected value can be reported verbatim.
Timestamps are naive ``datetime`` values in the server's local time, as the
API gives no zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from runner.datameer.status import JobStatus


@dataclass(frozen=True)
class ConfigurationStatus:
    """``GET /rest/job-configuration/job-status/<id>`` (v1): latest status of a configuration."""

    configuration_id: int | None
    status: JobStatus
    raw_status: str
    # The answer's "id": the latest execution of the configuration (None when it never ran).
    execution_id: int | None = None


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
class HistoryEntry:
    """One entry of ``job-history``: an execution id and its status, newest first."""

    execution_id: int
    status: JobStatus
    raw_status: str


@dataclass(frozen=True)
class JobDetails:
    """``GET /rest/job-execution/job-details/<execution-id>``, either shape (pre-7.4 or 7.4+)."""

    execution_id: int
    status: JobStatus
    raw_status: str
    start_time: datetime | None
    stop_time: datetime | None
    success_count: int | None
    failure_count: int | None
    counters: dict[str, int] = field(default_factory=dict)
    configuration_id: int | None = None
    file_id: int | None = None
    file_uuid: str | None = None


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
class DeleteResult:
    """``DELETE /rest/data/<id>``: ``deleted`` is False when it was already deleted/marked."""

    data_id: int
    deleted: bool


@dataclass(frozen=True)
class ConfiguredFile:
    """``GET /rest/workbook|import-job|export-jobs/<configuration-id>``: the artifact a job
    configuration belongs to."""

    configuration_id: int
    path: str | None
    uuid: str | None
    name: str | None = None


@dataclass(frozen=True)
class ServerInfo:
    """What the client learnt about the server: its version when known."""

    version: str | None
