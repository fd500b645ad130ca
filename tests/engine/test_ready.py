"""The ready queue learns what happened from what it is told (``heard``, ``settled``),
never by scanning every job: the free jobs, the live jobs, and when the run is over."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.engine.ready import ReadyQueue
from runner.engine.slots import Slot
from runner.model import Job
from runner.reference import JobRef


def _slot(name: str, *needs: str) -> Slot:
    return Slot(Job(name=name, ref=JobRef.parse(len(name) + 10), needs=needs), JobState(name))


def _chain() -> dict[str, Slot]:
    """a -> bb -> ccc, and dddd needing nothing."""
    slots = [_slot("a"), _slot("bb", "a"), _slot("ccc", "bb"), _slot("dddd")]
    return {slot.job.name: slot for slot in slots}


def _names(slots: list[Slot]) -> list[str]:
    return [slot.job.name for slot in slots]


def test_a_job_told_final_frees_its_successors_in_file_order() -> None:
    slots = _chain()
    queue = ReadyQueue(slots)
    assert _names(queue.free()) == ["a", "dddd"]
    slots["a"].state.outcome = JobOutcome.SUCCEEDED
    queue.settled("a")
    assert _names(queue.free()) == ["bb", "dddd"]
    assert queue.blocked("ccc")
    slots["bb"].state.outcome = JobOutcome.SKIPPED
    queue.settled("bb")
    assert not queue.blocked("ccc")


def test_a_job_not_told_final_stays_open() -> None:
    # The queue does not scan: an outcome changed without a FINISHED/SKIPPED event is unseen.
    slots = {"a": _slot("a")}
    queue = ReadyQueue(slots)
    slots["a"].state.outcome = JobOutcome.FAILED
    assert not queue.all_final()
    queue.settled("a")
    assert queue.all_final()


def test_a_job_told_final_while_still_open_is_not_taken_as_final() -> None:
    slots = {"a": _slot("a"), "bb": _slot("bb", "a")}
    queue = ReadyQueue(slots)
    slots["a"].state.outcome = JobOutcome.RUNNING
    queue.settled("a")
    assert queue.blocked("bb")
    assert not queue.all_final()


def test_live_jobs_are_the_open_jobs_an_event_named_in_file_order() -> None:
    slots = _chain()
    queue = ReadyQueue(slots)
    assert queue.live() == []
    for name in ["dddd", "a", "dddd"]:
        slots[name].state.outcome = JobOutcome.RUNNING
        queue.heard(name)
    assert _names(queue.live()) == ["a", "dddd"]
    assert queue.live() is queue.live()  # kept until something changes
    slots["a"].state.outcome = JobOutcome.SUCCEEDED
    queue.settled("a")
    assert _names(queue.live()) == ["dddd"]
    queue.heard("a")  # a final job never comes back
    queue.heard("unknown")
    assert _names(queue.live()) == ["dddd"]


@pytest.mark.parametrize(
    ("change", "live"),
    [
        pytest.param(lambda s: None, False, id="untouched: not live"),
        pytest.param(lambda s: setattr(s.state, "outcome", JobOutcome.RUNNING), True, id="running"),
        pytest.param(lambda s: setattr(s.state, "outcome", JobOutcome.WAITING), True, id="waiting"),
        pytest.param(lambda s: s.state.attempts.append(Attempt(1)), True, id="an attempt"),
        pytest.param(lambda s: setattr(s, "resolve_pending", True), True, id="trigger to find"),
        pytest.param(lambda s: setattr(s, "not_before", 5.0), True, id="a retry waits"),
    ],
)
def test_a_resumed_runs_jobs_are_live_when_they_left_their_untouched_state(
    change: Callable[[Slot], object], live: bool
) -> None:
    slots = {"a": _slot("a")}
    change(slots["a"])
    queue = ReadyQueue(slots)  # the scheduler syncs after carrying the states over
    assert _names(queue.live()) == (["a"] if live else [])


def test_own_executions_keep_a_final_jobs_and_look_at_the_live_ones() -> None:
    slots = _chain()
    queue = ReadyQueue(slots)
    slots["a"].state.attempts.append(Attempt(1, execution_id=7))
    slots["a"].state.outcome = JobOutcome.RUNNING
    slots["dddd"].state.attempts.append(Attempt(1, execution_id=9, attached=True))
    slots["dddd"].state.outcome = JobOutcome.RUNNING
    queue.heard("a")
    queue.heard("dddd")
    assert queue.own_executions() == {7}  # an attached execution is not this run's
    slots["a"].state.attempts.append(Attempt(2, execution_id=8))
    assert queue.own_executions() == {7, 8}  # a live job's looked at afresh
    slots["a"].state.outcome = JobOutcome.SUCCEEDED
    queue.settled("a")
    slots["bb"].state.attempts.append(Attempt(1, execution_id=10))
    slots["bb"].state.outcome = JobOutcome.RUNNING
    queue.heard("bb")
    assert queue.own_executions() == {7, 8, 10}
