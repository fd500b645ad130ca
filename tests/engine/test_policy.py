"""The pure rules of a run: readiness, verdicts, gates, retry delays."""

from __future__ import annotations

import random

import pytest

from runner.datameer.status import JobStatus
from runner.engine.outcome import JobOutcome
from runner.engine.policy import (
    execution_verdict,
    failed_gates,
    readiness,
    retry_delay,
    retry_kind,
)
from runner.model import CounterExpectation, Job, RetryPolicy, WarningsAs, When
from runner.reference import JobRef

S, F, K, P, T, C = (
    JobOutcome.SUCCEEDED,
    JobOutcome.FAILED,
    JobOutcome.SKIPPED,
    JobOutcome.PENDING,
    JobOutcome.TIMED_OUT,
    JobOutcome.CANCELED,
)


def job(**kw: object) -> Job:
    return Job(name="j", ref=JobRef.parse(1), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "upstream", "expected"),
    [
        pytest.param(When.ALL_SUCCESS, [], True, id="no-needs"),
        pytest.param(When.ALL_SUCCESS, [S, S], True, id="all-success"),
        pytest.param(When.ALL_SUCCESS, [S, P], None, id="undecided"),
        pytest.param(When.ALL_SUCCESS, [S, F], False, id="one-failed"),
        pytest.param(When.ALL_SUCCESS, [S, K], False, id="one-skipped"),
        pytest.param(When.ALL_DONE, [F, T], True, id="all-done-failures"),
        pytest.param(When.ALL_DONE, [F, P], None, id="all-done-undecided"),
        pytest.param(When.ANY_FAILED, [S, S], False, id="any-failed-none"),
        pytest.param(When.ANY_FAILED, [S, C], True, id="any-failed-canceled"),
        pytest.param(When.ANY_FAILED, [S, K], True, id="any-failed-chain-skipped"),
        pytest.param(When.ANY_FAILED, [F, P], None, id="any-failed-undecided"),
    ],
)
def test_readiness(when: When, upstream: list[JobOutcome], expected: bool | None) -> None:
    assert readiness(job(when=when), upstream) is expected


@pytest.mark.parametrize(
    ("status", "warnings", "expected"),
    [
        pytest.param(JobStatus.COMPLETED, WarningsAs.SUCCESS, S, id="completed"),
        pytest.param(JobStatus.COMPLETED_WITH_WARNINGS, WarningsAs.SUCCESS, S, id="warn-ok"),
        pytest.param(JobStatus.COMPLETED_WITH_WARNINGS, WarningsAs.FAILURE, F, id="warn-fail"),
        pytest.param(JobStatus.ERROR, WarningsAs.SUCCESS, F, id="error"),
        pytest.param(JobStatus.CANCELED, WarningsAs.SUCCESS, C, id="canceled"),
    ],
)
def test_execution_verdict(status: JobStatus, warnings: WarningsAs, expected: JobOutcome) -> None:
    assert execution_verdict(job(warnings=warnings), status)[0] is expected


@pytest.mark.parametrize(
    ("gate", "counters", "failed"),
    [
        pytest.param(("X", "==", 0), {"X": 0}, False, id="eq-ok"),
        pytest.param(("X", "==", 0), {"X": 3}, True, id="eq-bad"),
        pytest.param(("X", ">", 0), {"X": 1}, False, id="gt-ok"),
        pytest.param(("X", ">", 0), {"X": 0}, True, id="gt-bad"),
        pytest.param(("X", "<=", 5), {"X": 5}, False, id="le-edge"),
        pytest.param(("X", "!=", 5), {"X": 5}, True, id="ne-bad"),
        pytest.param(("X", ">=", 1), {}, True, id="missing-counter"),
    ],
)
def test_failed_gates(gate: tuple[str, str, float], counters: dict[str, int], failed: bool) -> None:
    problems = failed_gates([CounterExpectation(*gate)], counters)
    assert bool(problems) is failed
    if failed:
        assert gate[0] in problems[0]


def test_retry_delay_backs_off_and_caps() -> None:
    policy = RetryPolicy(retries=5, delay=10, backoff=2, max_delay=35, jitter=False)
    assert [retry_delay(policy, n) for n in (1, 2, 3, 4)] == [10, 20, 35, 35]


def test_retry_delay_jitter_stays_in_upper_half() -> None:
    policy = RetryPolicy(delay=10, backoff=1, jitter=True)
    rng = random.Random(1)
    delays = [retry_delay(policy, 1, rng) for _ in range(200)]
    assert all(5 <= d <= 10 for d in delays)
    assert len({round(d, 3) for d in delays}) > 100


@pytest.mark.parametrize(
    ("outcome", "status", "kind"),
    [
        pytest.param(F, JobStatus.ERROR, "ERROR", id="error"),
        pytest.param(C, JobStatus.CANCELED, "CANCELED", id="canceled"),
        pytest.param(T, JobStatus.CANCELED, "TIMEOUT", id="timeout"),
        pytest.param(F, JobStatus.COMPLETED_WITH_WARNINGS, None, id="warnings-not-retried"),
    ],
)
def test_retry_kind(outcome: JobOutcome, status: JobStatus, kind: str | None) -> None:
    assert retry_kind(outcome, status) == kind
