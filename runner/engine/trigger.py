"""Starting one attempt of a job: the already-running check, the trigger, and lost answers.

A trigger POST is never re-sent blindly.  When its answer is lost (or the
server answered 5xx) the artifact's status is watched for an execution newer
than the one seen before the trigger; only when none shows up within
``trigger_resolve_timeout`` is the trigger sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.engine.api import JobApi
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    OutcomeUnknownError,
    ServerError,
    TransientApiError,
)
from runner.model import AlreadyRunning, Job
from runner.records import ExecutionStatus

log = logging.getLogger("runner.engine")

MAX_TRIGGER_SENDS = 3


@dataclass(frozen=True)
class StartResult:
    """What came of starting an attempt.

    Exactly one of: ``execution_id`` (triggered or attached), ``waiting_on`` (an
    execution this run did not start is in the way), ``error`` (the attempt failed).
    """

    execution_id: int | None = None
    attached: bool = False
    waiting_on: int | None = None
    error: str | None = None
    recovered: bool = False  # the trigger's answer was lost and the execution found later
    # Only transient failures (unreachable, 5xx, lost answers with nothing found): nothing
    # is known to have started, so the same attempt may try again later.
    transient: bool = False
    previous_execution_id: int | None = None
    sent: bool = False  # a trigger went out: look for its execution before sending another


def precheck(api: JobApi, job: Job, own: set[int]) -> tuple[ExecutionStatus, StartResult | None]:
    """Look at the artifact before triggering; returns a result when no trigger should happen."""
    status = api.execution_status(job.ref)
    busy = status.status.is_active and status.execution_id not in own
    if not busy or status.execution_id is None:
        return status, None
    running = status.execution_id
    if job.already_running is AlreadyRunning.ATTACH:
        return status, StartResult(execution_id=running, attached=True)
    if job.already_running is AlreadyRunning.FAIL:
        message = f"already running as execution {running} (already_running: fail)"
        return status, StartResult(error=message)
    return status, StartResult(waiting_on=running)


def start_attempt(
    api: JobApi,
    job: Job,
    own: set[int],
    *,
    resolve_timeout: float,
    poll_interval: float,
    cancelled: threading.Event,
    previous_execution_id: int | None = None,
    resolve_first: bool = False,
    on_send: Callable[[int | None], None] | None = None,
) -> StartResult:
    """Check, trigger and, if needed, resolve a lost answer; never raises ApiError.

    ``resolve_first`` is for a trigger whose fate an earlier run never learnt
    (``--resume`` after a crash): its execution is looked for before anything else.
    ``on_send`` hears the previous execution id just before each trigger POST, so a
    journal can record what to look for if the process dies mid-call.
    """
    try:
        if resolve_first:
            found = resolve_lost_trigger(
                api, job, own, previous_execution_id, resolve_timeout, poll_interval, cancelled
            )
            if found is not None:
                return StartResult(
                    execution_id=found, recovered=True, previous_execution_id=previous_execution_id
                )
        status, early = precheck(api, job, own)
        if early is not None:
            return early
        previous_execution_id = status.execution_id
        sender = _Sender(api, job, own, resolve_timeout, poll_interval, cancelled, on_send)
        return sender.send(previous_execution_id)
    except AuthenticationError:
        raise  # the credentials are refused: the whole run must stop, not this job
    except TransientApiError as error:
        return StartResult(error=str(error), transient=True)
    except ApiError as error:
        return StartResult(error=str(error), previous_execution_id=previous_execution_id)


@dataclass(frozen=True)
class _Sender:
    """Sends one attempt's trigger, at most MAX_TRIGGER_SENDS times, each only once the
    previous send is known to have started nothing."""

    api: JobApi
    job: Job
    own: set[int]
    resolve_timeout: float
    poll_interval: float
    cancelled: threading.Event
    on_send: Callable[[int | None], None] | None

    def send(self, previous: int | None) -> StartResult:
        last_error: ApiError | None = None
        sent = False
        for _ in range(MAX_TRIGGER_SENDS):
            if self.cancelled.is_set():
                break
            if self.on_send is not None:
                self.on_send(previous)
            try:
                result = self.api.trigger(self.job.ref)
                return StartResult(execution_id=result.execution_id, previous_execution_id=previous)
            except ConnectionFailedError as error:
                # Refused before anything was sent: nothing can have started.
                last_error = error
                self.cancelled.wait(self.poll_interval)
                continue
            except (OutcomeUnknownError, ServerError) as error:
                last_error, sent = error, True
                log.warning(
                    "%s: %s; looking for the execution it may have started", self.job.name, error
                )
            found = resolve_lost_trigger(
                self.api,
                self.job,
                self.own,
                previous,
                self.resolve_timeout,
                self.poll_interval,
                self.cancelled,
            )
            if found is not None:
                return StartResult(
                    execution_id=found, recovered=True, previous_execution_id=previous
                )
        reason = str(last_error) if last_error else "the run was stopped before the trigger"
        return StartResult(
            error=reason,
            previous_execution_id=previous,
            transient=isinstance(last_error, TransientApiError | OutcomeUnknownError),
            sent=sent,
        )


def resolve_lost_trigger(
    api: JobApi,
    job: Job,
    own: set[int],
    previous: int | None,
    timeout: float,
    poll_interval: float,
    cancelled: threading.Event,
) -> int | None:
    """Watch the artifact's status for an execution newer than ``previous``; None if none came.

    Executions this run already owns are never adopted: a lagging status may show
    an earlier attempt's execution as the newest.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = api.execution_status(job.ref)
        except TransientApiError:
            status = None
        newest = status.execution_id if status else None
        is_new = newest is not None and (previous is None or newest > previous)
        if is_new and newest not in own:
            return newest
        if time.monotonic() >= deadline or cancelled.wait(poll_interval):
            return None
