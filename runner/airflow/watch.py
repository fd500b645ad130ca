"""One Datameer job run by one Airflow task: start or re-attach, judge, stop.

Synchronous and Airflow-free, so the operators, the trigger and plain unit tests share
it.  Everything that decides is the engine's: the trigger with its lost-answer search
(``runner.engine.trigger``), the verdict and ``expect`` gates (``runner.engine.policy``),
the stop by execution id (``runner.engine.stopper``).  What this module adds is the
record an Airflow task keeps across its tries (``Record``), so that a retry or a worker
that died re-attaches to the execution it started instead of triggering again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import yaml

from runner.clock import SystemClock
from runner.datameer.protocol import JobApi
from runner.datameer.records import JobDetails
from runner.datameer.status import JobStatus, parse_status
from runner.engine.outcome import Attempt, JobOutcome
from runner.engine.policy import execution_verdict, failed_gates
from runner.engine.stop_calls import send_stop
from runner.engine.trigger import StartControl, StartRequest, resolve_lost_trigger, start_attempt
from runner.errors import PipelineFileError, UsageError
from runner.model import Job
from runner.reference import JobRef, RefKind
from runner.spec import load_pipeline_text

log = logging.getLogger("runner.airflow")

# Where a task keeps its Record: Airflow's task state store (3.3+, survives retries).
RECORD_KEY = "dmpipe_execution"


@dataclass(frozen=True)
class Record:
    """What a task knows about its execution, written before and after each trigger.

    ``sending`` with no ``execution_id``: a trigger POST went out and its answer was not
    seen; ``previous`` is the artifact's newest execution before it, so the next try looks
    for a newer one (the engine's lost-trigger search) before sending anything.
    """

    execution_id: int | None = None
    previous: int | None = None
    sending: bool = False
    earlier: tuple[int, ...] = ()  # executions of earlier tries, never adopted again

    def to_data(self) -> dict[str, Any]:
        """The record as JSON-able data."""
        return {**asdict(self), "earlier": list(self.earlier)}

    @classmethod
    def from_data(cls, data: object) -> Record | None:
        """The record in ``data``; None for nothing or something else."""
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(
                execution_id=_optional_int(data.get("execution_id")),
                previous=_optional_int(data.get("previous")),
                sending=bool(data.get("sending", False)),
                earlier=tuple(int(i) for i in data.get("earlier") or ()),
            )
        except (TypeError, ValueError):
            return None

    @property
    def own(self) -> frozenset[int]:
        """Every execution this task started."""
        mine = {*self.earlier}
        if self.execution_id is not None:
            mine.add(self.execution_id)
        return frozenset(mine)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def job_from_parameters(
    name: str,
    artifact: int | str | JobRef,
    *,
    expect: Mapping[str, float | str] | None = None,
    warnings: str = "success",
    already_running: str = "wait",
) -> Job:
    """The ``Job`` an operator's parameters describe, validated by the pipeline loader (so
    ``expect`` reads as in a pipeline file: ``{IMPORT_DROPPED_RECORDS: 0}`` or ``">= 10"``).

    Raises ``UsageError`` naming the task and the parameter for a bad one.
    """
    ref = artifact if isinstance(artifact, JobRef) else _parse_ref(name, artifact)
    value: int | str = int(ref.value) if ref.kind is RefKind.FILE_ID else ref.value
    spec: dict[str, Any] = {
        ref.kind.value: value,
        "warnings": warnings,
        "already_running": already_running,
    }
    if expect:
        spec["expect"] = dict(expect)
    text = yaml.safe_dump({"version": 1, "name": "task", "jobs": {"job": spec}}, sort_keys=False)
    try:
        pipeline = load_pipeline_text(text, filename=f"task {name}")
    except PipelineFileError as error:
        # The YAML above is ours, not the user's: say which parameter, not where in it.
        said = "; ".join(problem.message.replace(" of job 'job'", "") for problem in error.problems)
        raise UsageError(f"task {name}: {said}") from None
    return replace(pipeline.jobs["job"], name=name, location=None)


def _parse_ref(name: str, artifact: int | str) -> JobRef:
    try:
        return JobRef.parse(artifact)
    except ValueError as error:
        raise UsageError(f"task {name}: artifact {artifact!r}: {error}") from None


@dataclass(frozen=True)
class Start:
    """What starting (or resuming) a task's job came to; exactly one field is set, besides
    ``attached`` and ``record``."""

    execution_id: int | None = None  # watch this execution
    finished: JobDetails | None = None  # an earlier try's execution already ended, and well
    waiting_on: int | None = None  # another's execution of the artifact is in the way
    error: str | None = None
    attached: bool = False  # the execution was found, not triggered by this try
    record: Record = Record()


@dataclass(frozen=True)
class Settings:
    """How patiently a task looks for executions."""

    poll_interval: float = 2.0
    resolve_timeout: float = 30.0


def begin(
    api: JobApi,
    job: Job,
    record: Record | None,
    save: Callable[[Record], None],
    *,
    retrying: bool,
    settings: Settings = Settings(),
) -> Start:
    """Re-attach to this task's execution if it lives, else trigger one attempt.

    ``record`` is what earlier tries saved (None without a store, or on a first try);
    ``save`` persists a new record *before* each trigger POST and once its execution is
    known.  ``retrying`` without a record (an Airflow without a task state store): an
    active execution of the artifact is taken to be the earlier try's.
    """
    record = record or Record()
    found = _reattach(api, job, record, retrying=retrying, settings=settings)
    if found is not None:
        if found.execution_id is not None and found.execution_id != record.execution_id:
            record = replace(record, execution_id=found.execution_id, sending=False)
            save(record)
        return replace(found, record=record)
    earlier = tuple(sorted(record.own))
    previous = record.execution_id

    def before_send(newest: int | None) -> None:
        save(Record(previous=newest, sending=True, earlier=earlier))

    request = _request(job, record, settings, previous=previous, on_send=before_send)
    result = start_attempt(api, request)
    if result.execution_id is not None:
        record = Record(execution_id=result.execution_id, earlier=earlier)
        save(record)
        return Start(execution_id=result.execution_id, attached=result.attached, record=record)
    if result.waiting_on is not None:
        return Start(waiting_on=result.waiting_on, record=record)
    return Start(error=result.error or "no trigger was sent", record=record)


def _request(
    job: Job,
    record: Record,
    settings: Settings,
    *,
    previous: int | None = None,
    on_send: Callable[[int | None], None] | None = None,
) -> StartRequest:
    """One attempt's start, as the engine's trigger code takes it: one Airflow try at a
    time, so no other start shares its halt."""
    return StartRequest(
        job=job,
        own=record.own,
        resolve_timeout=settings.resolve_timeout,
        poll_interval=settings.poll_interval,
        control=StartControl(grace=0.0),
        now=lambda: datetime.now(UTC),
        previous_execution_id=previous,
        on_send=on_send,
    )


def _reattach(
    api: JobApi, job: Job, record: Record, *, retrying: bool, settings: Settings
) -> Start | None:
    if record.execution_id is not None:
        details = api.job_details(record.execution_id)
        if not details.status.is_terminal:
            log.info("%s: re-attaching to execution %s", job.name, record.execution_id)
            return Start(execution_id=record.execution_id, attached=True)
        if verdict(job, details).succeeded:
            log.info("%s: execution %s already succeeded", job.name, record.execution_id)
            return Start(execution_id=record.execution_id, finished=details)
        return None  # it failed: this try is a new attempt
    if record.sending:
        found = resolve_lost_trigger(api, _request(job, record, settings), record.previous)
        if found is not None:
            log.info("%s: found execution %s of an unanswered trigger", job.name, found)
            return Start(execution_id=found, attached=True)
        return None
    if retrying:
        status = api.execution_status(job.ref)
        if status.status.is_active and status.execution_id is not None:
            log.info("%s: retry attaches to running execution %s", job.name, status.execution_id)
            return Start(execution_id=status.execution_id, attached=True)
    return None


@dataclass(frozen=True)
class Verdict:
    """The job's outcome for a finished execution, after the ``expect`` gates."""

    outcome: JobOutcome
    reason: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the job counts as a success."""
        return self.outcome is JobOutcome.SUCCEEDED


def verdict(job: Job, details: JobDetails) -> Verdict:
    """What a finished execution means for ``job`` (its warnings policy and gates)."""
    outcome, reason = execution_verdict(job, details.status)
    if outcome is JobOutcome.SUCCEEDED:
        problems = failed_gates(job.expect, details.counters)
        if problems:
            return Verdict(JobOutcome.FAILED, "expect not met: " + "; ".join(problems))
    return Verdict(outcome, reason)


def details_to_data(details: JobDetails) -> dict[str, Any]:
    """Job details as JSON-able data (datetimes in ISO form, the status by name)."""
    data = asdict(details)
    data["status"] = details.status.value
    for name in ("start_time", "stop_time"):
        value = data[name]
        data[name] = value.isoformat() if isinstance(value, datetime) else None
    return data


def details_from_data(data: Mapping[str, Any]) -> JobDetails:
    """The inverse of ``details_to_data``."""

    def when(name: str) -> datetime | None:
        value = data.get(name)
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    return JobDetails(
        execution_id=int(data["execution_id"]),
        status=parse_status(data.get("status")),
        raw_status=str(data.get("raw_status") or data.get("status") or ""),
        start_time=when("start_time"),
        stop_time=when("stop_time"),
        success_count=_optional_int(data.get("success_count")),
        failure_count=_optional_int(data.get("failure_count")),
        counters={str(k): int(v) for k, v in dict(data.get("counters") or {}).items()},
        configuration_id=_optional_int(data.get("configuration_id")),
        file_id=_optional_int(data.get("file_id")),
        file_uuid=data.get("file_uuid"),
    )


def result_payload(job: Job, details: JobDetails, judged: Verdict) -> dict[str, Any]:
    """What the operator returns as XCom: the execution, its status, counters and gates."""
    return {
        "job": job.name,
        "artifact": job.ref.describe(),
        "outcome": judged.outcome.value,
        "reason": judged.reason,
        "expect": [str(gate) for gate in job.expect],
        **details_to_data(details),
    }


def stop_execution(api: JobApi, job: Job, execution_id: int, patience: float = 30.0) -> str:
    """Stop exactly ``execution_id`` (by execution id; by artifact only when the artifact's
    current execution is that one); never raises.  Returns what happened, in words."""
    attempt = Attempt(number=1, execution_id=execution_id)
    clock = SystemClock()
    send_stop(api, job, attempt, clock.monotonic() + patience, clock, threading.Event())
    if attempt.stop_sent:
        return f"stop of execution {execution_id} sent ({attempt.stop_method})"
    return f"execution {execution_id} not stopped: {attempt.stop_error or 'no stop was sent'}"


def is_final(status: JobStatus) -> bool:
    """True for a status that will not change again."""
    return status.is_terminal
