"""A scenario made up from a pipeline that brings none: ``dmpipe run --emulator`` on any file.

Every job becomes an artifact (its file id, uuid or path; the others made up),
lasting its ``estimate`` (or a minute), ending COMPLETED with counters that pass
its ``expect`` gates, and linked ``downstream`` to the jobs that need it, so the
sequential trigger runs the same graph.  Failure handlers (``when`` other than
all_success) are never linked: dmpipe triggers them itself after the chain, and
Datameer's data-driven chain knows nothing of them.  An artifact named by uuid or
path gets one earlier successful run, as on a server in use: its v2 status then
names its file id, which the sequential trigger needs.  Time runs so that the
longest job takes about one real second.
"""

from __future__ import annotations

import math
from typing import Any

from runner.emulator.scenario import default_counters
from runner.model import CounterExpectation, Job, Pipeline, When
from runner.reference import RefKind

DEFAULT_DURATION = 60.0
_FIRST_MADE_UP_ID = 9001


def derive_scenario(pipeline: Pipeline) -> dict[str, Any]:
    """A scenario mapping (for ``scenario_from_dict``) that runs every job of ``pipeline``."""
    file_ids = _file_ids(pipeline)
    artifacts: dict[int, dict[str, Any]] = {}
    for job in pipeline.jobs.values():
        file_id = file_ids[job.name]
        artifact = artifacts.setdefault(file_id, _artifact(job, file_id))
        for need in job.needs if job.when is When.ALL_SUCCESS else ():
            upstream = artifacts.get(file_ids[need])
            if upstream is not None and file_id not in upstream["downstream"]:
                upstream["downstream"].append(file_id)
        artifact["counters"].update(_satisfying(job.expect))
    longest = max((a["duration"] for a in artifacts.values()), default=DEFAULT_DURATION)
    return {
        "description": f"derived from the jobs of {pipeline.name}",
        "version": "7.5.2",
        "time_scale": max(1.0, longest),
        "users": {pipeline.server.user or "admin": {"password": "emulator"}},
        "artifacts": list(artifacts.values()),
    }


def _file_ids(pipeline: Pipeline) -> dict[str, int]:
    """Each job's file id: its own, or a made-up one shared by jobs naming the same artifact."""
    taken = {int(j.ref.value) for j in pipeline.jobs.values() if j.ref.kind is RefKind.FILE_ID}
    made_up: dict[str, int] = {}
    next_id = max([_FIRST_MADE_UP_ID, *(i + 1 for i in taken)])
    result: dict[str, int] = {}
    for job in pipeline.jobs.values():
        if job.ref.kind is RefKind.FILE_ID:
            result[job.name] = int(job.ref.value)
            continue
        if job.ref.value not in made_up:
            made_up[job.ref.value] = next_id
            next_id += 1
        result[job.name] = made_up[job.ref.value]
    return result


def _artifact(job: Job, file_id: int) -> dict[str, Any]:
    kind = _kind(job.name)
    artifact: dict[str, Any] = {
        "file_id": file_id,
        "name": job.name,
        "kind": kind,
        "duration": job.estimate or DEFAULT_DURATION,
        "queue_time": 0,
        "counters": default_counters(kind, file_id, "COMPLETED"),
        "downstream": [],
    }
    if job.ref.kind is RefKind.UUID:
        artifact["uuid"] = job.ref.value
    elif job.ref.kind is RefKind.PATH:
        artifact["path"] = "/" + job.ref.value.strip().lstrip("/")
    if job.ref.kind is not RefKind.FILE_ID:
        artifact["history"] = [
            {"status": "COMPLETED", "ago": "1d", "duration": artifact["duration"]}
        ]
    return artifact


def _kind(name: str) -> str:
    lowered = name.lower()
    if "import" in lowered:
        return "import_job"
    if "export" in lowered:
        return "export_job"
    return "workbook"


def _satisfying(expectations: tuple[CounterExpectation, ...]) -> dict[str, int]:
    """Counter values that pass every gate (the derived run is meant to succeed)."""
    pick = {
        "==": lambda v: round(v),
        ">=": math.ceil,
        ">": lambda v: math.floor(v) + 1,
        "!=": lambda v: math.floor(v) + 1,
        "<=": math.floor,
        "<": lambda v: math.ceil(v) - 1,
    }
    return {gate.counter: int(pick[gate.operator](gate.value)) for gate in expectations}
