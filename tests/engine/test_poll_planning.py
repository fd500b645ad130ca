"""Planning polls where the expected finishes are (runner/engine/cadence.py, the scheduler's
plan) on the emulator through the real client: the list-running answer is timed halfway
through its call, and however many finishes the estimates expect, the polls stay within the
budget.  Virtual clock: no durations asserted."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.engine.cadence import BUDGET_SHARE, BURST
from runner.engine.outcome import JobOutcome
from runner.engine.poller import Watch, poll
from runner.reference import JobRef
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]


def test_list_running_is_timed_halfway_through_the_call(
    make_emulator: MakeEmulator, connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(artifact(1, duration=1000)))
    api = connect(server.url)
    execution_id = api.trigger(JobRef.parse(1)).execution_id
    readings = itertools.count(10.0, 4.0)  # 10 before the call, 14 after it
    with ThreadPoolExecutor(2) as pool:
        tick = poll(api, [Watch(execution_id)], pool, now=lambda: next(readings))
    assert tick.observations[execution_id].running is not None
    assert tick.listed_at == pytest.approx(12.0)


def test_without_a_clock_or_list_running_the_answer_is_not_timed(
    make_emulator: MakeEmulator, connect: Callable[..., DatameerClient]
) -> None:
    server = make_emulator(scenario(artifact(1, duration=1000)))
    api = connect(server.url)
    execution_id = api.trigger(JobRef.parse(1)).execution_id
    with ThreadPoolExecutor(2) as pool:
        assert poll(api, [Watch(execution_id)], pool).listed_at is None
        per_job = poll(api, [Watch(execution_id)], pool, batch=False, now=lambda: 1.0)
    assert per_job.listed_at is None
    assert per_job.observations[execution_id].details is not None


@pytest.mark.parametrize(
    ("ended", "details_asked"),
    [
        pytest.param(set(), 1, id="after-the-list"),
        pytest.param({"short"}, 1, id="alongside-the-list"),
        pytest.param({"short", "long"}, 2, id="one-asked-too-soon"),
    ],
)
def test_details_of_executions_expected_to_have_ended_are_asked_alongside_the_list(
    make_emulator: MakeEmulator,
    connect: Callable[..., DatameerClient],
    ended: set[str],
    details_asked: int,
) -> None:
    """Whether asked early or after the list, each execution is seen the same way; an
    early question about one still running costs one request and changes nothing."""
    server = make_emulator(scenario(artifact(1, duration=10), artifact(2, duration=1000)))
    api = connect(server.url)
    ids = {
        name: api.trigger(JobRef.parse(n)).execution_id for name, n in (("short", 1), ("long", 2))
    }
    server.clock.advance(20)
    with ThreadPoolExecutor(2) as pool:
        tick = poll(
            api, [Watch(ids["short"]), Watch(ids["long"])], pool, ended={ids[n] for n in ended}
        )
    short, long = tick.observations[ids["short"]], tick.observations[ids["long"]]
    assert short.details is not None
    assert short.details.status.is_terminal
    assert long.running is not None
    assert long.details is None
    assert server.stats().get("GET /rest/job-execution/job-details/{id}", 0) == details_asked


def test_many_finishes_close_together_stay_within_the_poll_budget(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """Two layers of 12 jobs whose finishes are spread a few milliseconds apart: every job
    is triggered once, after its need, and list-running is asked no more often than the
    budget allows over the run, whatever the estimates expected."""
    width = 12
    durations = [30.0 + 0.7 * i for i in range(2 * width)]  # emulated seconds
    server = make_emulator(
        scenario(*(artifact(i + 1, duration=d) for i, d in enumerate(durations)))
    )
    first = [job(f"a{i}", i + 1) for i in range(width)]
    second = [job(f"b{i}", width + i + 1, f"a{(i * 5) % width}") for i in range(width)]
    pipe = pipeline(*first, *second)
    result = run(server, pipe, tmp_path)

    assert result.outcome.exit_code == 0
    assert all(s.outcome is JobOutcome.SUCCEEDED for s in result.outcome.states.values())
    triggers = [e for e in server.ledger.triggers() if e.effective]
    assert sorted(e.file_id for e in triggers) == list(range(1, 2 * width + 1))
    stats = server.stats()
    # Each layer, ready without a baseline, sends one scout with its look; the other jobs
    # wait for its execution and go without (engine.baseline).
    assert 1 <= stats.get("GET /api/job-execution/{ref}/status", 0) <= 2
    assert stats.get("GET /rest/job-execution/job-details/{id}", 0) == 2 * width
    summary = result.outcome.summary
    span = (summary.finished_at - summary.started_at).total_seconds()
    budget = span / (pipe.policies.poll_interval * BUDGET_SHARE) + BURST
    preflight = 1  # the driver's own list-running before the first tick
    assert stats.get("GET /rest/jobs/list-running", 0) <= budget + preflight
