"""The JSON bodies of the Datameer REST API, built from execution snapshots.

Field names, spellings and formats follow the reference exactly, quirks included:
the ``/rest`` calls spell ``COMPLETED_WITH_Warnings`` and print timestamps as
``2012-07-06 18:19:09.0``; the ``/api`` calls spell ``COMPLETED_WITH_WARNINGS``,
print ``Sep 28, 2018 6:44:56 PM``, ``"estimate-time": "11s"`` and a string progress.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from runner.emulator.emulated_clock import v1_time, v2_time
from runner.emulator.execution import ExecutionView
from runner.emulator.scenario import Artifact
from runner.emulator.simulation import PlanStep

NOT_ACCESSIBLE = "File doesn't exist or isn't accessible with current permissions"
_ACTIVE = ("QUEUED", "WAITING_FOR_OTHER_JOB", "RUNNING")
_PREFIX = {"import_job": "IMPORT", "export_job": "EXPORT", "workbook": "WORKBOOK"}


def failure(reason: str) -> dict[str, Any]:
    """``{"status": "failure", "reason": ...}``: every error body of the API."""
    return {"status": "failure", "reason": reason}


def not_found(entity: str, identifier: object) -> dict[str, Any]:
    """Datameer's answer for an unknown id: ``Entity of type 'Data' with id '272' not found.``"""
    return failure(f"Entity of type '{entity}' with id '{identifier}' not found.")


def v1_spelling(status: str) -> str | None:
    """The ``/rest`` spelling of a status (``COMPLETED_WITH_Warnings``)."""
    return "COMPLETED_WITH_Warnings" if status == "COMPLETED_WITH_WARNINGS" else wire(status)


def wire(status: str) -> str | None:
    """A status as sent: the raw ``null`` outcome of a careless server is JSON null."""
    return None if status == "null" else status


def configured_file(artifact: Artifact) -> dict[str, Any]:
    """``GET /rest/workbook|import-job|export-jobs/<configuration-id>``, the fields dmpipe reads
    (the real answer also has the sheets, properties, schedule ...)."""
    return {
        "version": "2.1",
        "file": {
            "uuid": artifact.uuid,
            "path": artifact.path,
            "description": "",
            "name": artifact.path.rsplit("/", 1)[-1].rsplit(".", 1)[0],
        },
        "pullType": "MANUALLY",
        "properties": {},
    }


def license_details(version: str) -> dict[str, Any]:
    """``GET /rest/license-details``, with the keys public monitoring scripts read."""
    return {
        "ProductVersion": version,
        "LicenseType": "Enterprise",
        "LicenseStartDate": "Jan 1, 2026 12:00:00 AM",
        "LicenseExpirationDate": "Jan 1, 2036 12:00:00 AM",
        "TotalVolumeConsumedInBytes": 0,
        "LicenseVolumelimitInBytes": 0,
        "LicenseVolumePeriodInMonths": 12,
    }


def v1_status(execution: ExecutionView | None) -> dict[str, Any]:
    """``job-status/<configuration-id>``: ``{}`` when the job never ran."""
    if execution is None:
        return {}
    return {"id": execution.execution_id, "jobStatus": v1_spelling(execution.status)}


def v2_status(execution: ExecutionView | None) -> dict[str, Any]:
    """``/api/job-execution/<ref>/status``, one of the reference's shapes by status."""
    if execution is None:
        return {"status": "success", "job-status": "_NONE"}
    body: dict[str, Any] = {
        "status": "success",
        "file-id": execution.file_id,
        "job-execution-id": execution.execution_id,
        "job-status": wire(execution.status),
        "start-time": _maybe(v2_time, execution.start_time),
    }
    if execution.status == "RUNNING":
        body["estimate-time"] = f"{_whole(execution.remaining)}s"
        body["job-progress"] = str(execution.progress)
    elif execution.status not in _ACTIVE:
        body["stop-time"] = _maybe(v2_time, execution.stop_time)
    return body


def history_entry(execution: ExecutionView) -> dict[str, Any]:
    """One item of ``job-history``."""
    return {"id": execution.execution_id, "jobStatus": v1_spelling(execution.status)}


def details(execution: ExecutionView, artifact: Artifact, *, shape_7_4: bool) -> dict[str, Any]:
    """``job-details/<execution-id>`` in the pre-7.4 or the 7.4+ shape."""
    counters = dict(execution.counters)
    success, failed = _counts(artifact.kind, counters)
    if not shape_7_4:
        return {
            "counters": counters,
            "failureCount": failed,
            "jobStatus": v1_spelling(execution.status),
            "startTime": _maybe(v1_time, execution.start_time),
            "stopTime": _maybe(v1_time, execution.stop_time),
            "successCount": success,
        }
    return {
        "startTime": _maybe(v2_time, execution.start_time),
        "stopTime": _maybe(v2_time, execution.stop_time),
        "jobStatus": v1_spelling(execution.status),
        "jobConfigurationId": artifact.configuration_id,
        "file": {"id": artifact.file_id, "uuid": artifact.uuid},
        "successCount": success,
        "failureCount": failed,
        "counters": counters,
    }


def running_entry(execution: ExecutionView, artifact: Artifact) -> dict[str, Any]:
    """One item of ``list-running``; the artifact may hide the estimate or the execution id."""
    body: dict[str, Any] = {"dapJobConfigurationId": artifact.configuration_id}
    if artifact.list_estimate and execution.status == "RUNNING":
        body["estimateTime"] = f"{_whole(execution.remaining)} sec"
    if artifact.list_execution_id:
        body["jobExecutionId"] = execution.execution_id
    body["jobStatus"] = wire(execution.status)
    body["progress"] = execution.progress
    body["startTime"] = _maybe(v1_time, execution.start_time)
    return body


def triggered(execution: ExecutionView) -> dict[str, Any]:
    """The answer of ``/api/job-execution/<ref>/trigger``."""
    return {
        "status": "success",
        "job-execution-id": execution.execution_id,
        "job-execution-user": execution.user,
        "job-execution-trigger": "RESTAPI",
    }


def execution_plan(steps: Sequence[PlanStep]) -> dict[str, Any]:
    """The answer of the sequential trigger; untriggered steps have no execution id."""
    plan = []
    for step in steps:
        item: dict[str, Any] = {
            "job-configuration-name": step.artifact.name,
            "job-configuration-id": step.artifact.configuration_id,
            "trigger": step.execution is not None,
        }
        if step.execution is not None:
            item["job-execution-id"] = step.execution.execution_id
        plan.append(item)
    return {"status": "success", "execution-plan": plan}


def _counts(kind: str, counters: Mapping[str, int]) -> tuple[int, int]:
    """successCount and failureCount: the records and dropped records of the run."""
    prefix = _PREFIX[kind]
    records = [f"{prefix}_RECORDS"] + [
        k for k in counters if k.endswith("_RECORDS") and "DROPPED" not in k and "PREVIEW" not in k
    ]
    dropped = [f"{prefix}_DROPPED_RECORDS"] + [
        k for k in counters if k.endswith("_DROPPED_RECORDS")
    ]
    return _first(counters, records), _first(counters, dropped)


def _first(counters: Mapping[str, int], names: list[str]) -> int:
    return next((counters[name] for name in names if name in counters), 0)


def _whole(seconds: float | None) -> int:
    return math.ceil(seconds or 0.0)


def _maybe(render: Any, seconds: float | None) -> str | None:
    return None if seconds is None else str(render(seconds))
