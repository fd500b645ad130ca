"""The records of what a run reads after its first trigger: job details, history, v1
status, deleted data and configured files (``runner.datameer.records`` has the rest, and
names these too).

Apart so that a run's start does not pay for making their classes (about a millisecond
each): ``runner.datameer.records`` imports this module on the first use of one of them.
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
