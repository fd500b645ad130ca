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
import time
from collections.abc import Callable

from runner.engine.api import JobApi
from runner.engine.outcome import Attempt
from runner.errors import (
    ApiError,
    AuthenticationError,
    OutcomeUnknownError,
    TransientApiError,
)
from runner.model import Job

log = logging.getLogger("runner.engine")

BY_EXECUTION = "execution"
BY_ARTIFACT = "artifact"


def send_stop(
    api: JobApi,
    job: Job,
    attempt: Attempt,
    deadline: float,
    pause: Callable[[float], None],
    delays: tuple[float, float] = (1.0, 30.0),
) -> None:
    """Stop ``attempt``'s execution, retrying transient failures until ``deadline``
    (``time.monotonic()``) after a backoff from ``delays[0]`` to ``delays[1]`` seconds;
    never raises."""
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
            if time.monotonic() + delay > deadline:
                break
            pause(delay)
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
