"""Starting one attempt of a job: the already-running check, the trigger, and lost answers.

A trigger POST is never re-sent blindly (contract C1).  When its outcome is
unknown — the answer was lost, unreadable, a 5xx, or the connection broke after
the request may have reached the server — the artifact's status is watched for
an execution newer than the one seen before the trigger; only when none shows up
within ``trigger_resolve_timeout`` may the attempt send again, and only for a
bounded number of rounds.

When the run halts (Ctrl-C, a failure with ``on_failure: cancel``) nothing more
is sent, but a lost answer is still looked for during ``StartControl.grace``
seconds: an execution found then is this run's and gets stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from runner.clock import Clock, SystemClock
from runner.datameer.protocol import JobApi
from runner.datameer.records import ExecutionStatus
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    TransientApiError,
)
from runner.model import AlreadyRunning, Job

log = logging.getLogger("runner.engine")

MAX_TRIGGER_SENDS = 3


class StartControl:
    """Shared by every start of a run: set once the run stops starting jobs.

    After ``halt()`` no trigger is sent; a trigger whose outcome is unknown is still
    looked for until ``grace`` seconds after the halt (never longer than its own window).
    """

    def __init__(self, grace: float, clock: Clock | None = None) -> None:
        self.grace = grace
        self.clock = clock or SystemClock()
        self._halted = threading.Event()
        self._halted_at: float | None = None

    def halt(self) -> None:
        """Send nothing more; cut searches short."""
        if self._halted_at is None:
            self._halted_at = self.clock.monotonic()
        self._halted.set()

    @property
    def halted(self) -> bool:
        """True once the run stopped starting jobs."""
        return self._halted.is_set()

    def search_deadline(self, deadline: float) -> float:
        """``deadline``, or earlier once the run halted."""
        if self._halted_at is None:
            return deadline
        return min(deadline, self._halted_at + self.grace)

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, waking early when the run halts (sends are then over)."""
        if not self._halted.is_set():
            self.clock.wait(seconds, self._halted)
        else:
            self.clock.wait(max(0.0, seconds))


@dataclass(frozen=True)
class StartResult:
    """What came of starting an attempt.

    Exactly one of: ``execution_id`` (triggered or attached), ``waiting_on`` (an
    execution this run did not start is in the way), ``error`` (the attempt failed),
    ``aborted`` (the run halted before anything was sent).
    """

    execution_id: int | None = None
    attached: bool = False
    waiting_on: int | None = None
    error: str | None = None
    recovered: bool = False  # the trigger's outcome was unknown and the execution found later
    # Only transient failures (unreachable, 5xx, lost answers with nothing found): nothing
    # is known to have started, so the same attempt may try again later.
    transient: bool = False
    # The failure will not go away by trying again (403, unknown artifact, missing endpoint).
    permanent: bool = False
    aborted: bool = False
    previous_execution_id: int | None = None
    sent: bool = False  # a trigger went out: look for its execution before sending another
    sent_at: datetime | None = None  # when the POST that made the execution was sent
    sends: int = 0
    file_id: int | None = None  # the artifact's file id, when the status check said it


def precheck(
    api: JobApi, job: Job, own: AbstractSet[int]
) -> tuple[ExecutionStatus, StartResult | None]:
    """Look at the artifact before triggering; returns a result when no trigger should happen."""
    status = api.execution_status(job.ref)
    busy = status.status.is_active and status.execution_id not in own
    if not busy or status.execution_id is None:
        return status, None
    running = status.execution_id
    if job.already_running is AlreadyRunning.ATTACH:
        return status, StartResult(execution_id=running, attached=True, file_id=status.file_id)
    if job.already_running is AlreadyRunning.FAIL:
        message = f"already running as execution {running} (already_running: fail)"
        return status, StartResult(error=message, permanent=True)
    return status, StartResult(waiting_on=running)


@dataclass(frozen=True)
class StartRequest:
    """Everything one start needs besides the API."""

    job: Job
    own: frozenset[int]  # every execution the run holds as its own
    resolve_timeout: float
    poll_interval: float
    control: StartControl
    now: Callable[[], datetime]
    previous_execution_id: int | None = None
    # --resume (or a trigger answer that could not be trusted): a trigger of this attempt
    # may have started an execution; look for it before anything else.
    resolve_first: bool = False
    on_send: Callable[[int | None], None] | None = None
    # Hears a trigger whose outcome is unknown, before the search for its execution
    # (without it, the start logs a warning).
    on_unknown: Callable[[ApiError], None] | None = None
    # Set when the run knows nothing is in the way and every execution of the artifact is
    # older than this id (engine.baseline): the trigger goes out without a status look.
    baseline: int | None = None
    # The executions of this job's earlier attempts: a lost answer's search never takes one.
    mine: frozenset[int] = frozenset()


def start_attempt(api: JobApi, request: StartRequest) -> StartResult:
    """Check, trigger and, if needed, resolve an unknown outcome.

    Raises only ``AuthenticationError`` for a 401 (the whole run must stop); every
    other failure comes back as a result.  ``on_send`` hears the previous execution
    id just before each trigger POST, so a journal can record what to look for if the
    process dies mid-call.
    """
    previous = request.previous_execution_id
    try:
        if request.resolve_first:
            found = resolve_lost_trigger(api, request, previous)
            if found is not None:
                return StartResult(
                    execution_id=found, recovered=True, previous_execution_id=previous
                )
        if request.control.halted:
            return StartResult(aborted=True, previous_execution_id=previous)
        return _check_and_send(api, request)
    except AuthenticationError as error:
        if error.status_code == 403:  # this artifact is forbidden; others may not be
            return StartResult(error=str(error), permanent=True, previous_execution_id=previous)
        raise
    except TransientApiError as error:
        return StartResult(error=str(error), transient=True, previous_execution_id=previous)
    except NotFoundError as error:
        return StartResult(error=str(error), permanent=True, previous_execution_id=previous)
    except ApiError as error:
        return StartResult(error=str(error), previous_execution_id=previous)


def _check_and_send(api: JobApi, request: StartRequest) -> StartResult:
    """The look at the artifact (unless the run's baseline stands in for it), then the trigger."""
    if request.baseline is not None:
        return _Sender(api, request, None).send(request.baseline)
    status, early = precheck(api, request.job, request.own)
    if early is not None:
        return early
    return _Sender(api, request, status.file_id).send(status.execution_id)


class _Sender:
    """Sends one attempt's trigger, at most MAX_TRIGGER_SENDS times, each only once the
    previous send is known to have started nothing."""

    def __init__(self, api: JobApi, request: StartRequest, file_id: int | None) -> None:
        self.api = api
        self.request = request
        self.file_id = file_id
        self.sends = 0

    def send(self, previous: int | None) -> StartResult:
        request = self.request
        last_error: ApiError | None = None
        sent = False
        sent_at: datetime | None = None
        for _ in range(MAX_TRIGGER_SENDS):
            if request.control.halted:
                break
            if request.on_send is not None:
                request.on_send(previous)
            sent_at = request.now()
            self.sends += 1
            try:
                result = self.api.trigger(request.job.ref)
                return self._result(result.execution_id, previous, sent_at)
            except ConnectionFailedError as error:
                # Refused before anything was sent: nothing can have started.
                last_error = error
                request.control.pause(request.poll_interval)
                continue
            except (OutcomeUnknownError, ServerError) as error:
                last_error, sent = error, True
                if request.on_unknown is not None:
                    request.on_unknown(error)
                else:
                    log.warning(
                        "%s: %s; looking for the execution it may have started",
                        request.job.name,
                        error,
                    )
            found = resolve_lost_trigger(self.api, request, previous)
            if found is not None:
                return self._result(found, previous, sent_at, recovered=True)
        if last_error is None:
            return StartResult(aborted=True, previous_execution_id=previous, file_id=self.file_id)
        return StartResult(
            error=str(last_error),
            previous_execution_id=previous,
            transient=isinstance(last_error, TransientApiError | OutcomeUnknownError),
            sent=sent,
            sent_at=sent_at if sent else None,
            sends=self.sends,
            file_id=self.file_id,
        )

    def _result(
        self, execution_id: int, previous: int | None, sent_at: datetime, *, recovered: bool = False
    ) -> StartResult:
        return StartResult(
            execution_id=execution_id,
            recovered=recovered,
            previous_execution_id=previous,
            sent_at=sent_at,
            sent=True,
            sends=self.sends,
            file_id=self.file_id,
        )


def unknown_outcome_message(error: ApiError, search_seconds: float) -> str:
    """What a trigger with an unknown outcome means for the run, in one line."""
    code = f"HTTP {error.status_code}: " if error.status_code is not None else ""
    # The reason's first clause says what happened; the rest is advice for a by-hand call.
    what = error.reason.split("; ")[0]
    return (
        f"trigger answer lost ({code}{what}); looking for the execution it may have started "
        f"for up to {search_seconds:g}s before sending it again"
    )


def resolve_lost_trigger(api: JobApi, request: StartRequest, previous: int | None) -> int | None:
    """Watch the artifact's status for an execution newer than ``previous``; None if none came.

    The job's earlier executions are never taken: a lagging status may show one as the
    newest.  One another job of the run holds is returned all the same (a hostile
    server may have answered it to that job's trigger): the caller settles whose it is.
    The search ends after ``resolve_timeout``, or ``StartControl.grace`` after the run
    halted.
    """
    clock = request.control.clock
    deadline = clock.monotonic() + request.resolve_timeout
    while True:
        try:
            status = api.execution_status(request.job.ref)
        except TransientApiError:
            status = None
        found = _newer(status.execution_id if status else None, previous, request.mine)
        if found is not None:
            return found
        remaining = request.control.search_deadline(deadline) - clock.monotonic()
        if remaining <= 0:
            return None
        request.control.pause(min(request.poll_interval, remaining))


def newer_execution(
    api: JobApi, job: Job, previous: int | None, exclude: frozenset[int]
) -> int | None:
    """One look at the artifact's status: its newest execution when newer than
    ``previous`` and not in ``exclude``, else None (a failed look included)."""
    try:
        status = api.execution_status(job.ref)
    except ApiError:
        return None
    return _newer(status.execution_id, previous, exclude)


def _newer(newest: int | None, previous: int | None, exclude: frozenset[int]) -> int | None:
    """``newest`` when it is newer than ``previous`` and not in ``exclude``."""
    if newest is None or newest in exclude or (previous is not None and newest <= previous):
        return None
    return newest
