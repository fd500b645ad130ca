"""Job durations learnt from the server's own history (``dmpipe plan --from-server``).

GETs only: a job's configuration id (``configuration_id:``, else the 7.4+ job-details of its
latest execution), its ``job-history`` (newest first), and the ``job-details`` of its last
successful executions, whose stop minus start time is a duration.  The median of those is
the job's expected duration; a job's ``estimate:`` stays the fallback.  The engine can use
``expected_finish`` for an ETA; ``dmpipe run --learn-durations`` puts the medians in the
jobs' estimates (the live view's ETA, the report's "slower than usual" flag).
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from runner.datameer.client import DatameerClient
from runner.errors import ApiError, AuthenticationError, ConnectionFailedError
from runner.graph import CriticalPath, build_graph, critical_path
from runner.model import Job, Pipeline

# How many successful runs the median takes, and how far back the history is read for them.
RUNS = 5
LOOK_BACK = 20


@dataclass(frozen=True)
class LearnedDuration:
    """A job's expected duration: the median of ``samples`` (seconds, newest first)."""

    job: str
    samples: tuple[float, ...] = ()
    note: str = ""  # why there are none, when there are none

    @property
    def median(self) -> float | None:
        """The median of the samples; None without any."""
        return statistics.median(self.samples) if self.samples else None


def learn_durations(
    api: DatameerClient,
    pipeline: Pipeline,
    runs: int = RUNS,
    cancelled: threading.Event | None = None,
) -> dict[str, LearnedDuration]:
    """Each job's recent successful durations; a server error on one job is noted on it,
    except unreachable servers and refused credentials, which propagate.  Once
    ``cancelled`` is set, the jobs not yet asked about are left out."""
    learned: dict[str, LearnedDuration] = {}
    for name, job in pipeline.jobs.items():
        if cancelled is not None and cancelled.is_set():
            break
        learned[name] = _learn(api, name, job, runs)
    return learned


def _learn(api: DatameerClient, name: str, job: Job, runs: int) -> LearnedDuration:
    try:
        configuration = _configuration(api, job)
        if configuration is None:
            return LearnedDuration(name, note="never ran (or no configuration id to ask)")
        samples = _durations(api, configuration, runs)
    except (AuthenticationError, ConnectionFailedError):
        raise
    except ApiError as error:
        return LearnedDuration(name, note=f"history unavailable: {error.reason}")
    return LearnedDuration(name, samples, "" if samples else "no successful run in the history")


def _configuration(api: DatameerClient, job: Job) -> int | None:
    if job.configuration_id is not None:
        return job.configuration_id
    latest = api.execution_status(job.ref).execution_id
    if latest is None:
        return None
    # Only the 7.4+ details name the configuration.
    return api.job_details(latest).configuration_id


def _durations(api: DatameerClient, configuration: int, runs: int) -> tuple[float, ...]:
    found: list[float] = []
    for entry in api.job_history(configuration, 0, LOOK_BACK):
        if len(found) == runs:
            break
        if not entry.status.is_success:
            continue
        details = api.job_details(entry.execution_id)
        if details.start_time is not None and details.stop_time is not None:
            found.append(max(0.0, (details.stop_time - details.start_time).total_seconds()))
    return tuple(found)


def with_learned_estimates(pipeline: Pipeline, learned: Mapping[str, LearnedDuration]) -> Pipeline:
    """``pipeline`` with each job's estimate replaced by its learnt median, where known."""
    jobs = {name: _estimated(job, learned.get(name)) for name, job in pipeline.jobs.items()}
    return dataclasses.replace(pipeline, jobs=jobs)


def _estimated(job: Job, learned: LearnedDuration | None) -> Job:
    median = None if learned is None else learned.median
    if median is None:
        return job
    return dataclasses.replace(job, estimate=median, estimate_from="history")


def learned_critical_path(
    pipeline: Pipeline, learned: Mapping[str, LearnedDuration]
) -> CriticalPath:
    """The critical path by learnt medians (estimates where nothing was learnt)."""
    return critical_path(build_graph(with_learned_estimates(pipeline, learned)))


def expected_finish(start: datetime, path: CriticalPath) -> datetime:
    """When a run started at ``start`` should end, by its critical path."""
    return start + timedelta(seconds=path.total)
