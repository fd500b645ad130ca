"""The pure planning of looks at running executions (runner/engine/cadence.py)."""

from __future__ import annotations

import pytest

from runner.engine.cadence import (
    Expected,
    PollBudget,
    Sighting,
    execution_backoff,
    expected_finish,
    look_wish,
    next_look,
    next_poll,
    progress_duration,
    tighter_duration,
)


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
            Expected(14.0, True, measured=True),
            id="progress-beats-file",
        ),
        pytest.param(
            Sighting(seen_at=12.0, remaining=1.0, progress=50.0, triggered_at=10.0),
            Expected(13.0, False),
            id="server-remaining-earlier",
        ),
        pytest.param(
            Sighting(seen_at=12.0, remaining=8.0, progress=50.0, triggered_at=10.0),
            Expected(14.0, True, measured=True),
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
        pytest.param(
            Sighting(seen_at=14.0, progress=50.0, triggered_at=10.0, progress_duration=6.0),
            Expected(16.0, True, measured=True),
            id="an-earlier-sighting-was-tighter",
        ),
        pytest.param(
            Sighting(seen_at=14.0, progress=80.0, triggered_at=10.0, progress_duration=6.0),
            Expected(15.0, True, measured=True),
            id="this-sighting-is-tighter",
        ),
        pytest.param(
            Sighting(seen_at=17.0, progress=70.0, triggered_at=10.0, progress_duration=6.0),
            Expected(20.0, True, measured=True),
            id="outlived-bound-dropped",
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
        pytest.param(0.0, Expected(3.5, True), 4.0, 3.5, id="far-finish-no-refining-look"),
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


@pytest.mark.parametrize(
    ("seen", "triggered", "progress", "duration"),
    [
        pytest.param(12.0, 10.0, 50.0, 4.0, id="half-way"),
        pytest.param(12.0, 10.0, 0.0, None, id="no-progress-yet"),
        pytest.param(12.0, 10.0, 100.0, None, id="done-says-nothing"),
        pytest.param(10.0, 10.0, 5.0, None, id="seen-at-the-trigger"),
        pytest.param(None, 10.0, 5.0, None, id="never-seen"),
        pytest.param(12.0, None, 5.0, None, id="not-ours"),
    ],
)
def test_progress_duration(
    seen: float | None, triggered: float | None, progress: float | None, duration: float | None
) -> None:
    assert progress_duration(seen, triggered, progress) == duration


@pytest.mark.parametrize(
    ("earlier", "age", "latest", "folded"),
    [
        pytest.param(None, 1.0, 5.0, 5.0, id="first-bound"),
        pytest.param(4.0, 2.0, 5.0, 4.0, id="earlier-tighter"),
        pytest.param(6.0, 2.0, 5.0, 5.0, id="latest-tighter"),
        pytest.param(4.0, 2.0, None, 4.0, id="no-progress-keeps-the-bound"),
        pytest.param(4.0, 4.5, 9.0, 9.0, id="outlived-bound-dropped"),
    ],
)
def test_tighter_duration(
    earlier: float | None, age: float, latest: float | None, folded: float | None
) -> None:
    assert tighter_duration(earlier, age, latest) == folded


def test_folded_progress_lands_a_look_closer_to_a_steady_finish() -> None:
    """Sightings of a steady 10 s execution (progress rounded down): the folded bound is
    never short of the real finish and tighter than the last sighting's alone."""
    triggered, finish = 0.0, 10.0
    folded = None
    for seen in (1.05, 2.33, 3.99, 5.21, 6.98, 8.02, 9.45):
        progress = float(int(seen / finish * 100))
        folded = tighter_duration(folded, seen - triggered, progress_duration(seen, 0.0, progress))
    alone = progress_duration(9.45, 0.0, 94.0)
    assert folded is not None
    assert alone is not None
    assert finish <= folded < alone


def test_execution_backoff_grows_with_age() -> None:
    assert execution_backoff(2.0, 0.0) == 2.0
    assert execution_backoff(2.0, 60.0) == 32.0
    assert execution_backoff(2.0, -1.0) == 2.0


@pytest.mark.parametrize(
    ("expected", "wish"),
    [
        pytest.param(None, (None, 2.0), id="nothing-expected"),
        pytest.param(Expected(1.0, True), (1.0, 2.0), id="finish-before-the-backoff"),
        pytest.param(Expected(9.0, True), (2.0, 2.0), id="finish-after-the-backoff"),
        pytest.param(Expected(-1.0, True), (0.5, 2.0), id="overdue"),
    ],
)
def test_look_wish(expected: Expected | None, wish: tuple[float | None, float]) -> None:
    assert look_wish(0.0, expected, backoff=2.0, floor=0.5, ceiling=30.0) == wish


@pytest.mark.parametrize(
    ("wishes", "at"),
    [
        pytest.param([(None, 5.0), (None, 3.0)], 3.0, id="backoffs-only-earliest"),
        pytest.param([(1.0, 5.0), (None, 3.0)], 1.0, id="finish-before-backoff"),
        pytest.param([(1.0, 5.0), (1.3, 5.0), (2.0, 5.0)], 1.3, id="close-finishes-coalesce"),
        pytest.param([(1.0, 5.0), (1.6, 5.0)], 1.0, id="far-finishes-apart"),
        pytest.param(
            [(1.0, 5.0), (1.15, 5.0), (1.3, 5.0), (None, 1.2)],
            1.15,
            id="coalescing-stops-at-a-backoff",
        ),
        pytest.param([(0.1, 5.0)], 0.25, id="not-before-the-floor"),
        pytest.param([(None, 0.1)], 0.25, id="backoff-before-the-floor"),
        pytest.param([(0.0, 5.0), (0.4, 5.0)], 0.4, id="overdue-joins-the-next-finish"),
    ],
)
def test_next_poll(wishes: list[tuple[float | None, float]], at: float) -> None:
    assert next_poll(wishes, not_before=0.25, window=0.5) == pytest.approx(at)


def test_next_poll_needs_a_wish() -> None:
    with pytest.raises(ValueError, match="at least one wish"):
        next_poll([], not_before=0.0, window=1.0)


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
