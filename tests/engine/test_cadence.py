"""The pure planning of looks at running executions (runner/engine/cadence.py)."""

from __future__ import annotations

import pytest

from runner.engine.cadence import Expected, PollBudget, Sighting, expected_finish, next_look


@pytest.mark.parametrize(
    ("sighting", "expected"),
    [
        pytest.param(Sighting(), None, id="nothing-known"),
        pytest.param(
            Sighting(triggered_at=10.0, job_estimate=5.0), Expected(15.0, True), id="file"
        ),
        pytest.param(Sighting(job_estimate=5.0), None, id="file-estimate-but-not-ours"),
        pytest.param(
            Sighting(seen_at=12.0, progress=50.0, triggered_at=10.0, job_estimate=60.0),
            Expected(14.0, True),
            id="progress-beats-file",
        ),
        pytest.param(
            Sighting(seen_at=12.0, remaining=1.0, progress=50.0, triggered_at=10.0),
            Expected(13.0, False),
            id="server-remaining-earlier",
        ),
        pytest.param(
            Sighting(seen_at=12.0, remaining=8.0, progress=50.0, triggered_at=10.0),
            Expected(14.0, True),
            id="progress-earlier",
        ),
        pytest.param(
            Sighting(seen_at=12.0, progress=0.0, triggered_at=10.0, job_estimate=3.0),
            Expected(13.0, True),
            id="no-progress-yet-falls-back-to-file",
        ),
        pytest.param(
            Sighting(seen_at=12.0, remaining=4.0), Expected(16.0, False), id="server-only"
        ),
    ],
)
def test_expected_finish(sighting: Sighting, expected: Expected | None) -> None:
    assert expected_finish(sighting) == expected


def look(now: float, expected: Expected | None, backoff: float = 2.0) -> float:
    return next_look(now, expected, backoff=backoff, floor=0.5, ceiling=30.0)


@pytest.mark.parametrize(
    ("now", "expected", "backoff", "at"),
    [
        pytest.param(0.0, None, 2.0, 2.0, id="no-estimate-backoff"),
        pytest.param(0.0, None, 60.0, 30.0, id="backoff-capped-by-ceiling"),
        pytest.param(0.0, None, 0.1, 0.5, id="backoff-raised-to-floor"),
        pytest.param(0.0, Expected(1.0, True), 2.0, 1.0, id="near-finish-exactly"),
        pytest.param(0.0, Expected(0.1, True), 2.0, 0.5, id="floor"),
        pytest.param(0.0, Expected(4.5, True), 4.0, 3.6, id="refine-at-four-fifths"),
        pytest.param(0.0, Expected(100.0, True), 2.0, 2.0, id="own-clock-never-past-backoff"),
        pytest.param(0.0, Expected(10.0, False), 2.0, 2.0, id="server-clock-never-past-backoff"),
        pytest.param(0.0, Expected(1.0, False), 2.0, 1.0, id="server-clock-brings-forward"),
        pytest.param(10.0, Expected(9.8, True), 2.0, 10.5, id="just-overdue-floor"),
        pytest.param(10.0, Expected(6.0, True), 2.0, 12.0, id="long-overdue-half-capped"),
        pytest.param(10.0, Expected(7.0, True), 8.0, 11.5, id="overdue-half-the-delay"),
    ],
)
def test_next_look(now: float, expected: Expected | None, backoff: float, at: float) -> None:
    assert look(now, expected, backoff) == pytest.approx(at)


@pytest.mark.parametrize("expected", [None, Expected(0.0, True), Expected(1e9, False)])
@pytest.mark.parametrize("now", [0.0, 5.0, 1e6])
def test_next_look_stays_between_floor_and_ceiling(now: float, expected: Expected | None) -> None:
    at = look(now, expected, backoff=45.0)
    assert now + 0.5 <= at <= now + 30.0


def test_looks_converge_on_the_finish_without_passing_it_much() -> None:
    """Refining looks approach an accurate estimate; the last lands on the finish."""
    now, finish, looks = 0.0, 60.0, []
    while now < finish:
        now = look(now, Expected(finish, True), backoff=30.0)
        looks.append(now)
    assert looks[-1] == pytest.approx(finish)
    assert len(looks) <= 6
    assert all(b - a >= 0.5 for a, b in zip([0.0, *looks], looks, strict=False))


def test_budget_lets_a_burst_through_then_one_poll_per_interval() -> None:
    budget = PollBudget(interval=1.0, start=0.0, burst=3.0)
    for _ in range(3):
        assert budget.available(0.0) == 0.0
        budget.spend(0.0)
    assert budget.available(0.0) == pytest.approx(1.0)
    assert budget.available(0.5) == pytest.approx(1.0)
    budget.spend(1.0)
    assert budget.available(1.0) == pytest.approx(2.0)


def test_budget_refills_up_to_the_burst_only() -> None:
    budget = PollBudget(interval=1.0, start=0.0, burst=2.0)
    budget.spend(0.0)
    budget.spend(0.0)
    assert budget.available(100.0) == 100.0
    budget.spend(100.0)
    budget.spend(100.0)
    assert budget.available(100.0) == pytest.approx(101.0)


@pytest.mark.parametrize("polls", [10, 100])
def test_budget_bounds_polls_over_time(polls: int) -> None:
    """However eager the caller, polls over a span stay within span / interval + burst."""
    budget, now, made = PollBudget(interval=0.5, start=0.0, burst=4.0), 0.0, 0
    while made < polls:
        now = budget.available(now)
        budget.spend(now)
        made += 1
    assert made <= now / 0.5 + 4.0 + 1e-9
