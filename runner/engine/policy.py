"""The pure rules of a run: when a job may start, what a finished execution means, retry delays."""

from __future__ import annotations

import operator
import random
from collections.abc import Callable, Iterable, Mapping

from runner.datameer.status import JobStatus
from runner.engine.outcome import JobOutcome
from runner.model import CounterExpectation, Job, RetryPolicy, WarningsAs, When

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def readiness(job: Job, upstream: Iterable[JobOutcome]) -> bool | None:
    """Whether ``job`` should start given its needs' outcomes.

    True: start it; False: skip it for good; None: not decided yet (a need is not final).
    """
    outcomes = list(upstream)
    if any(not outcome.is_final for outcome in outcomes):
        return None
    if job.when is When.ALL_SUCCESS:
        return all(outcome is JobOutcome.SUCCEEDED for outcome in outcomes)
    if job.when is When.ANY_FAILED:
        # A need skipped because of an earlier failure counts: the chain failed.
        return any(o.is_failure or o is JobOutcome.SKIPPED for o in outcomes)
    return True  # ALL_DONE


def skip_reason(job: Job, upstream: Mapping[str, JobOutcome]) -> str:
    """Words for why ``readiness`` said False."""
    if job.when is When.ANY_FAILED:
        return "when: any_failed, and none of its needs failed"
    bad = sorted(name for name, outcome in upstream.items() if outcome is not JobOutcome.SUCCEEDED)
    return "needs did not succeed: " + ", ".join(bad)


def execution_verdict(job: Job, status: JobStatus) -> tuple[JobOutcome, str | None]:
    """The job's outcome for a terminal execution status, before any counter gates."""
    if status is JobStatus.COMPLETED:
        return JobOutcome.SUCCEEDED, None
    if status is JobStatus.COMPLETED_WITH_WARNINGS:
        if job.warnings is WarningsAs.FAILURE:
            return JobOutcome.FAILED, "completed with warnings (warnings: failure)"
        return JobOutcome.SUCCEEDED, None
    if status is JobStatus.CANCELED:
        return JobOutcome.CANCELED, "canceled on the server"
    return JobOutcome.FAILED, f"Datameer reported {status.value}"


def gate_met(gate: CounterExpectation, counters: Mapping[str, int]) -> bool | None:
    """Whether ``counters`` meet ``gate``; None when the counter is not among them."""
    value = counters.get(gate.counter)
    return None if value is None else _COMPARE[gate.operator](float(value), gate.value)


def failed_gates(
    expectations: Iterable[CounterExpectation], counters: Mapping[str, int]
) -> list[str]:
    """The ``expect`` gates that the job-details counters do not meet, in words."""
    problems = []
    for gate in expectations:
        value = counters.get(gate.counter)
        if value is None:
            problems.append(f"{gate}: counter {gate.counter} missing from job details")
        elif not _COMPARE[gate.operator](float(value), gate.value):
            problems.append(f"{gate}: got {value}")
    return problems


def retry_kind(outcome: JobOutcome, status: JobStatus | None) -> str | None:
    """The ``retry_on`` name that matches a failed attempt, or None when none can."""
    if outcome is JobOutcome.TIMED_OUT:
        return "TIMEOUT"
    if outcome is JobOutcome.CANCELED:
        return "CANCELED"
    if outcome is JobOutcome.FAILED and status is JobStatus.ERROR:
        return "ERROR"
    return None


def retry_delay(policy: RetryPolicy, failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``failures`` (1-based), with backoff and jitter.

    Jitter keeps the upper half fixed and randomises the lower half ("equal jitter"),
    so retries of many jobs spread out without ever waiting much less than asked.
    """
    delay = min(policy.delay * policy.backoff ** max(failures - 1, 0), policy.max_delay)
    if policy.jitter and delay > 0:
        delay = delay / 2 + (rng or random).uniform(0, delay / 2)
    return delay
