"""Stopping exactly the executions a run started (contract C2).

Datameer has two stop calls: the legacy ``job-kill/<execution-id>``, which stops
one execution, and ``/api/job-execution/<artifact>/stop``, which stops whatever
the artifact runs — another user's queued execution included.  So a stop goes by
execution id first; only where the server lacks that call does it go by artifact,
and then only after the artifact's status shows that its current execution is the
one to stop.  Each stop is re-sent after a 5xx or a broken connection (a stop sent
twice does no harm) until its deadline; how it went is written on the attempt.
"""

from __future__ import annotations

import logging
import threading

from runner.clock import Clock
from runner.datameer.protocol import JobApi
from runner.engine.outcome import Attempt
from runner.errors import (
    ApiError,
    AuthenticationError,
    OutcomeUnknownError,
    TransientApiError,
)
from runner.model import Job
from runner.reference import JobRef

log = logging.getLogger("runner.engine")

BY_EXECUTION = "execution"
BY_ARTIFACT = "artifact"


def send_stop(
    api: JobApi,
    job: Job,
    attempt: Attempt,
    deadline: float,
    clock: Clock,
    cancelled: threading.Event,
    delays: tuple[float, float] = (1.0, 30.0),
) -> None:
    """Stop ``attempt``'s execution, retrying transient failures until ``deadline``
    (``clock.monotonic()``) after a backoff from ``delays[0]`` to ``delays[1]`` seconds,
    cut short once ``cancelled`` is set; never raises."""
    execution_id = attempt.execution_id
    assert execution_id is not None
    delay, max_delay = delays
    while True:
        try:
            _stop_once(api, job, attempt, execution_id)
            return
        except (TransientApiError, OutcomeUnknownError) as error:
            failure: ApiError = error
            if isinstance(error, OutcomeUnknownError):
                attempt.stop_sent = True  # it may have reached the server
            if clock.monotonic() + delay > deadline:
                break
            clock.wait(delay, cancelled)
            delay = min(delay * 2, max_delay)
        except ApiError as error:
            failure = error
            break
    attempt.stop_error = str(failure)
    log.warning("%s: could not stop execution %s: %s", job.name, execution_id, failure)


def _stop_once(api: JobApi, job: Job, attempt: Attempt, execution_id: int) -> None:
    try:
        api.stop_legacy(execution_id)
    except (TransientApiError, OutcomeUnknownError, AuthenticationError):
        raise
    except ApiError as error:
        # No stop by execution id on this server (or it refuses it): by artifact, if safe.
        log.debug("%s: stop by execution id refused (%s); checking the artifact", job.name, error)
        _stop_by_artifact(api, job, attempt, execution_id)
        return
    attempt.stop_sent, attempt.stop_method = True, BY_EXECUTION


def _stop_by_artifact(api: JobApi, job: Job, attempt: Attempt, execution_id: int) -> None:
    status = api.execution_status(job.ref)
    if status.execution_id != execution_id:
        # Its current execution is not ours: a stop by artifact would hit that one.
        attempt.stop_error = (
            f"not stopped: the server has no stop by execution id, and a stop by artifact "
            f"would hit its current execution {status.execution_id}, not this run's"
        )
        return
    if not status.status.is_active:
        return  # ended meanwhile: nothing to stop
    api.stop(job.ref)
    attempt.stop_sent, attempt.stop_method = True, BY_ARTIFACT


def stop_unresolved(
    api: JobApi, job: Job, attempt: Attempt, previous: int | None, own: frozenset[int]
) -> None:
    """The run ends with a trigger of ``attempt`` whose outcome is unknown: stop the
    execution it may have started.  One the artifact's status shows as new is this run's
    (stopped by id, and named on the attempt); with nothing active in sight the artifact is
    stopped (that can only hit an execution the server does not show yet, i.e. this one);
    an active execution that is not new is another's, and is left alone.  Never raises."""
    try:
        status = api.execution_status(job.ref)
        newest = status.execution_id
        if newest is not None and newest not in own and (previous is None or newest > previous):
            attempt.execution_id, attempt.recovered = newest, True
            if status.status.is_active:
                _stop_once(api, job, attempt, newest)
            return
        if status.status.is_active:
            attempt.stop_error = (
                f"not stopped: the artifact runs execution {newest}, which is not this run's"
            )
            return
        api.stop(job.ref)
        attempt.stop_sent, attempt.stop_method = True, BY_ARTIFACT
    except ApiError as error:
        attempt.stop_error = str(error)
        log.warning(
            "%s: could not stop the execution its lost trigger may have started: %s",
            job.name,
            error,
        )


def stop_execution(api: JobApi, execution_id: int, file_id: int | None) -> None:
    """Stop an execution no job watches (a plan step the server added): by execution id;
    by artifact (``file_id``) only where the server has no stop by id.  Never raises."""
    try:
        try:
            api.stop_legacy(execution_id)
        except (TransientApiError, OutcomeUnknownError, AuthenticationError):
            raise
        except ApiError:
            if file_id is None:
                raise
            api.stop(JobRef.parse(file_id))
    except ApiError as error:
        log.warning("could not stop execution %s: %s", execution_id, error)
