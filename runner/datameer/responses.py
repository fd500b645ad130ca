"""Decoded JSON answers of the Datameer API → typed records of ``runner.datameer.records``.

One function per response shape.  Each takes the decoded JSON value and
returns a record, or raises ``ShapeError`` saying what is wrong; the client
turns that into a ``MalformedResponseError`` naming the call and the URL.
Required fields must have the documented type; optional ones that are absent
or unreadable become ``None`` (timestamps, estimates, progress) so that a
cosmetic oddity never fails a call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.datameer.records import (
    ExecutionPlan,
    ExecutionStatus,
    PlannedExecution,
    RunningJob,
    ServerInfo,
    TriggerResult,
)
from runner.datameer.status import JobStatus, parse_status
from runner.datameer.wire import parse_count, parse_estimate, parse_progress, parse_timestamp

if TYPE_CHECKING:  # imported where they are made: a run's start needs none of them
    from runner.datameer.late_records import (
        ConfigurationStatus,
        ConfiguredFile,
        DeleteResult,
        HistoryEntry,
        JobDetails,
    )

log = logging.getLogger(__name__)

# The legacy trigger's answer is not in the reference; these keys are tried in order.
_LEGACY_ID_KEYS = ("job-execution-id", "jobExecutionId", "executionId", "id")
# Where servers and proxies put their words in a failure object the API does not document.
_MESSAGE_KEYS = ("error", "message", "reason", "errorMessage", "error_description")


class ShapeError(ValueError):
    """The JSON is not the documented shape; never leaves the client (it becomes
    a ``MalformedResponseError``)."""


def configuration_status(body: object, configuration_id: int) -> ConfigurationStatus:
    """v1 job status: ``{"id": .., "jobStatus": ..}``, or ``{}`` for a job that never ran."""
    from runner.datameer.late_records import ConfigurationStatus

    data = _object(body)
    if not data:
        return ConfigurationStatus(configuration_id, JobStatus.NEVER_RAN, "", execution_id=None)
    status, raw = _status(data, "jobStatus")
    return ConfigurationStatus(configuration_id, status, raw, execution_id=_optional_id(data, "id"))


def execution_status(body: object) -> ExecutionStatus:
    """v2 job status, every shape of the reference.

    The "triggered job" shape has an execution id but no ``job-status`` yet: it
    counts as QUEUED (raw status empty), the execution exists but has not started.
    """
    data = _object(body)
    execution_id = _optional_id(data, "job-execution-id")
    if data.get("job-status") is None and execution_id is not None:
        status, raw = JobStatus.QUEUED, ""
    else:
        status, raw = _status(data, "job-status")
    return ExecutionStatus(
        status=status,
        raw_status=raw,
        file_id=_optional_id(data, "file-id"),
        execution_id=execution_id,
        start_time=parse_timestamp(data.get("start-time")),
        stop_time=parse_timestamp(data.get("stop-time")),
        estimate_seconds=parse_estimate(data.get("estimate-time")),
        progress=parse_progress(data.get("job-progress")),
        user=_optional_text(data, "job-execution-user"),
        trigger=_optional_text(data, "job-execution-trigger"),
    )


def history(body: object) -> list[HistoryEntry]:
    """Job history: a list of ``{"id": .., "jobStatus": ..}``, newest first."""
    from runner.datameer.late_records import HistoryEntry

    entries = []
    for item in _list(body):
        data = _object(item)
        status, raw = _status(data, "jobStatus")
        entries.append(HistoryEntry(_id(data, "id"), status, raw))
    return entries


def job_details(body: object, execution_id: int) -> JobDetails:
    """Job details in the pre-7.4 shape or the 7.4 one (``jobConfigurationId``, ``file``)."""
    from runner.datameer.late_records import JobDetails

    data = _object(body)
    if data.get("jobStatus") is None:
        # Seen on executions that ended oddly: no status at all.  It is kept (raw "null")
        # and judged with the stop time, never a reason to reject the whole answer.
        status, raw = JobStatus.UNKNOWN, "null"
    else:
        status, raw = _status(data, "jobStatus")
    file = data.get("file")
    file_data = file if isinstance(file, dict) else {}
    return JobDetails(
        execution_id=execution_id,
        status=status,
        raw_status=raw,
        start_time=parse_timestamp(data.get("startTime")),
        stop_time=parse_timestamp(data.get("stopTime")),
        success_count=parse_count(data.get("successCount")),
        failure_count=parse_count(data.get("failureCount")),
        counters=counters(data.get("counters")),
        configuration_id=_optional_id(data, "jobConfigurationId"),
        file_id=_optional_id(file_data, "id"),
        file_uuid=_optional_text(file_data, "uuid"),
    )


def counters(value: object) -> dict[str, int]:
    """The integer counters of a job-details answer; anything that is not a count is dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        # ERROR runs have been seen with odd counters; they must not hide the status.
        log.debug("job details: ignoring counters of type %s", type(value).__name__)
        return {}
    kept = {}
    for name, raw in value.items():
        count = parse_count(raw)
        if count is None:
            log.debug("job details: dropping counter %s=%r", name, raw)
        else:
            kept[str(name)] = count
    return kept


def running(body: object) -> list[RunningJob]:
    """List-running entries; ``jobExecutionId`` and ``estimateTime`` may be missing.

    The whole answer must be a list; one odd entry (no ``dapJobConfigurationId``, a bad
    field) is skipped with a warning, so it cannot hide every other running job.
    """
    jobs = []
    for index, item in enumerate(_list(body)):
        try:
            jobs.append(_running_job(item))
        except ShapeError as error:
            log.warning("list of running jobs: skipping entry %d: %s", index, error)
    return jobs


def _running_job(item: object) -> RunningJob:
    data = _object(item)
    status, raw = _status(data, "jobStatus")
    return RunningJob(
        configuration_id=_id(data, "dapJobConfigurationId"),
        execution_id=_optional_id(data, "jobExecutionId"),
        status=status,
        raw_status=raw,
        start_time=parse_timestamp(data.get("startTime")),
        estimate_seconds=parse_estimate(data.get("estimateTime")),
        progress=parse_progress(data.get("progress")),
    )


def trigger(body: object) -> TriggerResult:
    """Trigger answer: ``job-execution-id`` is required, user and trigger kind are optional."""
    data = _object(body)
    return TriggerResult(
        execution_id=_id(data, "job-execution-id"),
        user=_optional_text(data, "job-execution-user"),
        trigger=_optional_text(data, "job-execution-trigger"),
    )


def legacy_trigger(body: object) -> TriggerResult:
    """Legacy trigger answer: an object carrying the new execution id under one of a few keys."""
    data = _object(body)
    for key in _LEGACY_ID_KEYS:
        if key in data:
            return TriggerResult(
                execution_id=_id(data, key),
                user=_optional_text(data, "job-execution-user"),
                trigger=_optional_text(data, "job-execution-trigger"),
            )
    raise ShapeError(f"no execution id (expected one of {', '.join(_LEGACY_ID_KEYS)})")


def execution_plan(body: object) -> ExecutionPlan:
    """Sequential trigger answer: ``execution-plan``, one step per job, in order."""
    data = _object(body)
    if "execution-plan" not in data:
        raise ShapeError("'execution-plan' is missing")
    steps = []
    for item in _list(data["execution-plan"]):
        data = _object(item)
        triggered = data.get("trigger", True)
        if not isinstance(triggered, bool):
            raise ShapeError(f"'trigger' should be true or false, got {_show(triggered)}")
        steps.append(
            PlannedExecution(
                configuration_name=_optional_text(data, "job-configuration-name") or "",
                configuration_id=_id(data, "job-configuration-id"),
                triggered=triggered,
                execution_id=_optional_id(data, "job-execution-id"),
            )
        )
    return ExecutionPlan(tuple(steps))


def delete_result(body: object, data_id: int) -> DeleteResult:
    """Delete answer: ``{"status": true}`` deleted now, ``{"status": false}`` already gone."""
    from runner.datameer.late_records import DeleteResult

    status = _object(body).get("status")
    if not isinstance(status, bool):
        raise ShapeError(f"'status' should be true or false, got {_show(status)}")
    return DeleteResult(data_id, status)


def configured_file(body: object, configuration_id: int) -> ConfiguredFile:
    """The ``file`` of a workbook / import job / export job read by configuration id."""
    from runner.datameer.late_records import ConfiguredFile

    data = _object(body)
    if "file" not in data:
        raise ShapeError("'file' is missing")
    file = _object(data["file"])
    uuid = _optional_text(file, "uuid")
    return ConfiguredFile(
        configuration_id,
        path=_optional_text(file, "path"),
        uuid=None if uuid is None else uuid.lower(),
        name=_optional_text(file, "name"),
    )


def server_info(body: object) -> ServerInfo:
    """``GET /rest/license-details``: ``ProductVersion`` (same key from 2.x to X 11)."""
    data = _object(body)
    if "ProductVersion" not in data:
        raise ShapeError("'ProductVersion' is missing")
    version = _optional_text(data, "ProductVersion")
    return ServerInfo(version=None if version is None else version.strip() or None)


def failure_reason(body: object) -> str | None:
    """The ``reason`` of a ``{"status": "failure", ...}`` body; None for any other body."""
    if not isinstance(body, dict) or body.get("status") != "failure":
        return None
    reason = body.get("reason")
    return str(reason) if reason not in (None, "") else "the server gave no reason"


def server_message(body: object) -> str | None:
    """The words of an undocumented failure object (``{"error": ..}``, ``{"message": ..}``,
    ``{"reason": ..}``), for an answer that is not the shape the call expects."""
    if not isinstance(body, dict):
        return None
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict):  # {"error": {"message": "..."}}
            nested = server_message(value)
            if nested is not None:
                return nested
    return None


# -- field access ------------------------------------------------------------------------


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"expected a JSON object, got {_show(value)}")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ShapeError(f"expected a JSON list, got {_show(value)}")
    return value


def _status(data: Mapping[str, Any], key: str) -> tuple[JobStatus, str]:
    """A required status field: text (any spelling) or ``{}`` (never ran)."""
    value = data.get(key)
    if value == {}:
        return JobStatus.NEVER_RAN, "{}"
    if not isinstance(value, str):
        raise ShapeError(f"{key!r} should be a status text, got {_show(value)}")
    return _status_text(value)


@functools.lru_cache(maxsize=256)
def _status_text(value: str) -> tuple[JobStatus, str]:
    """A status text read and made printable: remembered, as every poll repeats a few."""
    return parse_status(value), _printable(value)


def _printable(text: str, limit: int = 60) -> str:
    """A status as the server spelt it, safe to print: control characters escaped, bounded."""
    if len(text) <= limit and text.isprintable():
        return text
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(f"{key!r} should be text, got {_show(value)}")
    return value


def _id(data: Mapping[str, Any], key: str) -> int:
    value = _optional_id(data, key)
    if value is None:
        raise ShapeError(f"{key!r} is missing")
    return value


def _optional_id(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    number = parse_count(value)
    if number is None or number < 0:
        raise ShapeError(f"{key!r} should be an id, got {_show(value)}")
    return number


def _show(value: object) -> str:
    """A short description of an unexpected JSON value, for error messages."""
    if value is None:
        return "nothing"
    kind = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), "a number"
    )
    text = repr(value)
    return f"{kind} {text[:40]}{'…' if len(text) > 40 else ''}"
