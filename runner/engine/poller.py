"""Polling the executions a run is watching, cheaply for the server.

One ``list-running`` call per tick answers for every execution still on the
server's list; only executions that left the list get a ``job-details`` call,
which is also where the final status and the counters come from.  With
batching off, every watched execution gets its own details call each tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.datameer.protocol import JobApi
from runner.datameer.records import RunningJob
from runner.errors import ApiError, AuthenticationError, NotFoundError, TransientApiError

if TYPE_CHECKING:  # made on first use (runner.datameer.late_records)
    from runner.datameer.records import JobDetails

log = logging.getLogger("runner.engine")


@dataclass(frozen=True)
class Watch:
    """One execution to watch, with the configuration id when known."""

    execution_id: int
    configuration_id: int | None = None


@dataclass(frozen=True)
class Observation:
    """What one tick learnt about one execution.

    ``running`` is set while it is on the server's list; ``details`` once it left it
    (its status may still be non-terminal if it left the list only for a moment);
    ``error`` when the call about it failed, ``missing`` when that failure is "no such
    execution" (a new execution may take a while to become visible).
    """

    execution_id: int
    running: RunningJob | None = None
    details: JobDetails | None = None
    error: str | None = None
    missing: bool = False


@dataclass(frozen=True)
class TickResult:
    """Everything one tick saw; ``transient`` is set when the server could not answer,
    ``refused`` when it refused the credentials (the run cannot go on)."""

    observations: Mapping[int, Observation]
    transient: str | None = None
    refused: AuthenticationError | None = None
    # When the list-running answer was made, as the caller's ``now`` reads it: halfway
    # through the call (None without a ``now``, or when list-running was not asked).
    listed_at: float | None = None
    # The list-running answer itself (None when it was not asked).
    running: tuple[RunningJob, ...] | None = None


def poll(
    api: JobApi,
    watches: Iterable[Watch],
    pool: ThreadPoolExecutor,
    *,
    batch: bool = True,
    now: Callable[[], float] | None = None,
    ended: Collection[int] = (),
) -> TickResult:
    """Observe every watched execution with as few calls as possible; ``now`` (a
    monotonic reading) times the list-running answer.  The job details of the executions
    in ``ended`` (expected to have ended, so to leave the list) are asked alongside
    list-running rather than after it: one round trip less to see them end."""
    watch_list = list(watches)
    if not watch_list:
        return TickResult({})
    observations: dict[int, Observation] = {}
    leftover = watch_list
    listed_at = None
    listed: tuple[RunningJob, ...] | None = None
    early: dict[int, Future[JobDetails | ApiError]] = {}
    if batch:
        early = {
            w.execution_id: pool.submit(_details_of, api, w.execution_id)
            for w in watch_list
            if w.execution_id in ended
        }
        try:
            running, listed_at = _list_running(api, now)
        except AuthenticationError as error:
            return TickResult({}, refused=error)
        except ApiError as error:
            # An unreadable or odd answer to a read is no verdict on any job: try again later.
            return TickResult({}, transient=str(error))
        observations, leftover = _match_running(watch_list, running)
        listed = tuple(running)
        _ended_since_listed(observations, early)
    details = {
        w.execution_id: early[w.execution_id].result() for w in leftover if w.execution_id in early
    }
    rest = [w.execution_id for w in leftover if w.execution_id not in early]
    details.update(_fetch_details(api, rest, pool.map))
    transient = None
    for execution_id, outcome in details.items():
        if isinstance(outcome, AuthenticationError) and outcome.status_code != 403:
            return TickResult(
                observations, transient, refused=outcome, listed_at=listed_at, running=listed
            )
        if isinstance(outcome, TransientApiError):
            transient = str(outcome)
        elif isinstance(outcome, ApiError):
            missing = isinstance(outcome, NotFoundError)
            observations[execution_id] = Observation(
                execution_id, error=str(outcome), missing=missing
            )
        else:
            observations[execution_id] = Observation(execution_id, details=outcome)
    return TickResult(observations, transient, listed_at=listed_at, running=listed)


def _list_running(
    api: JobApi, now: Callable[[], float] | None
) -> tuple[list[RunningJob], float | None]:
    """The running list, and when it was made as ``now`` reads it: halfway through the call."""
    if now is None:
        return api.list_running(), None
    asked = now()
    running = api.list_running()
    return running, (asked + now()) / 2


def _ended_since_listed(
    observations: dict[int, Observation], early: Mapping[int, Future[JobDetails | ApiError]]
) -> None:
    """An execution asked about early but still on the list: if its details say it ended
    (after the list was made), they are the last word; otherwise they are dropped."""
    from runner.datameer.records import JobDetails  # made on first use: after the start

    for execution_id, future in early.items():
        if execution_id not in observations:
            continue
        outcome = future.result()
        if isinstance(outcome, JobDetails) and outcome.status.is_terminal:
            observations[execution_id] = Observation(execution_id, details=outcome)


def _match_running(
    watches: list[Watch], running: list[RunningJob]
) -> tuple[dict[int, Observation], list[Watch]]:
    """Split the watches into those on the running list and those that left it."""
    by_execution = {job.execution_id: job for job in running if job.execution_id is not None}
    # Entries without an execution id can only be matched by configuration.
    anonymous = {job.configuration_id: job for job in running if job.execution_id is None}
    seen: dict[int, Observation] = {}
    left: list[Watch] = []
    for watch in watches:
        entry = by_execution.get(watch.execution_id)
        if entry is None and watch.configuration_id is not None:
            entry = anonymous.get(watch.configuration_id)
        if entry is None:
            left.append(watch)
        else:
            seen[watch.execution_id] = Observation(watch.execution_id, running=entry)
    return seen, left


def _details_of(api: JobApi, execution_id: int) -> JobDetails | ApiError:
    """One execution's job details; a failure comes back as a value."""
    try:
        return api.job_details(execution_id)
    except NotFoundError as error:
        log.debug("execution %s not known yet: %s", execution_id, error)
        return error
    except ApiError as error:
        return error


Mapper = Callable[
    [Callable[[int], "JobDetails | ApiError"], list[int]], Iterable["JobDetails | ApiError"]
]


def _fetch_details(
    api: JobApi, execution_ids: list[int], mapper: Mapper
) -> dict[int, JobDetails | ApiError]:
    """Job details of each execution, fetched in parallel; failures come back as values."""

    def fetch(execution_id: int) -> JobDetails | ApiError:
        return _details_of(api, execution_id)

    if len(execution_ids) <= 1:
        return {i: fetch(i) for i in execution_ids}
    return dict(zip(execution_ids, mapper(fetch, execution_ids), strict=True))
