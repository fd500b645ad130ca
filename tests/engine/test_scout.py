"""The scout (engine.baseline): without a baseline, one job starts with its status look and
the other ready jobs wait for its execution to show, then start without looks; judged by
the emulator's ledger and request counts."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer
from runner.engine.baseline import Newest, StartFacts, baseline_fresh, hold_for
from runner.engine.events import RunEvent
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.model import OnFailure
from runner.reference import JobRef
from testing.engine_runs import Run, artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
STATUS = "GET /api/job-execution/{ref}/status"
ROOTS = ["a", "b", "c", "d", "e"]


def _triggers(server: EmulatorServer, file_id: int | None = None) -> list[Any]:
    return [e for e in server.ledger.triggers(file_id=file_id) if e.effective]


def _roots(**extra: Any) -> tuple[dict[str, Any], list[Any]]:
    """Five independent jobs, files 1-5, ready together."""
    return scenario(*(artifact(i + 1) for i in range(len(ROOTS))), **extra), [
        job(name, i + 1) for i, name in enumerate(ROOTS)
    ]


def _index(result: Run, kind: str, name: str) -> int:
    return next(i for i, e in enumerate(result.events) if e.kind == kind and e.job == name)


@pytest.mark.parametrize(
    ("poll_interval", "unseen_grace", "expected"),
    [
        pytest.param(2.0, 120.0, 2.0, id="one-poll-interval"),
        pytest.param(2.0, 0.5, 0.5, id="grace-shorter"),
        pytest.param(-1.0, 120.0, 0.0, id="never-negative"),
    ],
)
def test_held_jobs_wait_one_poll_interval_at_most(
    poll_interval: float, unseen_grace: float, expected: float
) -> None:
    assert hold_for(poll_interval, unseen_grace) == expected


@pytest.mark.parametrize(
    ("newest", "now", "fresh"),
    [
        pytest.param(None, 1.0, False, id="nothing-created"),
        pytest.param(Newest(7, 0.0), 30.0, True, id="recent"),
        pytest.param(Newest(7, 0.0), 30.5, False, id="stale"),
    ],
)
def test_a_baseline_is_fresh_for_max_poll_interval(
    newest: Newest | None, now: float, fresh: bool
) -> None:
    facts = StartFacts(now=now, fresh_for=30.0, listing=None, newest=newest)
    assert baseline_fresh(facts) is fresh


def test_the_first_wave_looks_once(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    """Five jobs ready together: the first looks and triggers, the others wait for its
    execution to show, then take it as their baseline: one look in all."""
    spec, jobs = _roots()
    server = make_emulator(spec)
    result = run(server, pipeline(*jobs), tmp_path)
    assert result.outcome.exit_code == 0
    assert sorted(e.file_id for e in _triggers(server)) == [1, 2, 3, 4, 5]
    stats = server.stats()
    assert stats.get(STATUS, 0) == 1
    assert stats["total"] - stats["GET /rest/jobs/list-running"] == 1 + 2 * len(jobs)
    scout = result.outcome.states["a"].attempts[0].execution_id
    for name in ROOTS[1:]:
        sent = next(e for e in result.events if e.kind == "trigger_sent" and e.job == name)
        assert sent.data["previous_execution_id"] == scout
        assert _index(result, "triggering", name) > _index(result, "triggered", "a")


def test_the_held_jobs_keep_max_parallel(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    spec, jobs = _roots()
    server = make_emulator(spec)
    result = run(server, pipeline(*jobs, max_parallel=2), tmp_path)
    assert result.outcome.exit_code == 0
    assert len(_triggers(server)) == 5
    assert result.peak_running() == 2
    assert server.stats().get(STATUS, 0) == 1


def test_a_job_named_by_path_is_never_held(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    """Its look names the file its path resolves to: it starts with the scout."""
    path = "/Data/ImportJobs/third.imp"
    spec = scenario(artifact(1), artifact(2), artifact(3, path=path), paths="strict")
    server = make_emulator(spec)
    named = dataclasses.replace(job("c", 3), ref=JobRef.parse(path))
    result = run(server, pipeline(job("a", 1), job("b", 2), named), tmp_path)
    assert result.outcome.exit_code == 0
    assert _index(result, "triggering", "c") < _index(result, "triggered", "a")
    assert _index(result, "triggering", "b") > _index(result, "triggered", "a")
    # (b may look too: c's execution is foreign on the list until c's trigger is harvested.)
    assert server.stats().get(STATUS, 0) >= 2


def test_a_failed_scout_releases_the_held_jobs(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    """The scout's trigger is refused: the jobs it held start, each with its own look."""
    spec, jobs = _roots(faults={"forbidden": [1]})
    server = make_emulator(spec)
    result = run(server, pipeline(*jobs, on_failure=OnFailure.CONTINUE), tmp_path)
    assert result.outcome_of("a") is JobOutcome.FAILED
    assert _triggers(server, 1) == []
    for name in ROOTS[1:]:
        assert result.outcome_of(name) is JobOutcome.SUCCEEDED
        assert _index(result, "triggering", name) > _index(result, "finished", "a")
    assert server.stats().get(STATUS, 0) == 5  # the scout's look, then one per held job
    assert sorted(e.file_id for e in _triggers(server)) == [2, 3, 4, 5]


def test_a_scout_never_seen_releases_the_held_jobs_at_the_deadline(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """The scout's execution stays out of sight for 5 poll intervals: the held jobs start
    with their own looks after one, and the scout's job still succeeds once it shows."""
    spec, jobs = _roots(faults={"not_visible_for": 10, "file_ids": [1]})
    server = make_emulator(spec)
    result = run(server, pipeline(*jobs), tmp_path)
    assert result.outcome.exit_code == 0
    assert server.stats().get(STATUS, 0) == 5
    assert len(_triggers(server)) == 5
    triggered = next(e for e in result.events if e.kind == "triggered" and e.job == "a")
    for name in ROOTS[1:]:
        assert _index(result, "triggering", name) > _index(result, "triggered", "a")
        starting = next(e for e in result.events if e.kind == "triggering" and e.job == name)
        assert (starting.at - triggered.at).total_seconds() <= 0.02 + 1e-6


def test_an_interrupt_during_the_hold_starts_none_of_the_held_jobs(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    spec, jobs = _roots()
    server = make_emulator(spec)
    cancelled = threading.Event()

    def interrupt(event: RunEvent) -> None:
        if event.kind == "triggered" and event.job == "a":
            cancelled.set()

    result = run(server, pipeline(*jobs), tmp_path, cancelled=cancelled, on_event=interrupt)
    assert [e.file_id for e in _triggers(server)] == [1]
    assert result.outcome_of("a") is JobOutcome.CANCELED
    for name in ROOTS[1:]:
        assert result.outcome.states[name].attempts == []
        assert "triggering" not in result.kinds(name)
    assert result.outcome.exit_code == 130


def test_per_job_polling_holds_no_job(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    """Without list-running there is no listing to go without a look: every job looks, and
    none waits for another."""
    spec, jobs = _roots()
    server = make_emulator(spec)
    options = EngineOptions(batch_polling=False, trigger_resolve_timeout=2.0)
    result = run(server, pipeline(*jobs), tmp_path, options=options)
    assert result.outcome.exit_code == 0
    assert server.stats().get(STATUS, 0) == 5
    first = min(_index(result, "triggered", name) for name in ROOTS)
    assert all(_index(result, "triggering", name) < first for name in ROOTS)


def test_a_stale_baseline_sends_a_scout_again(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    """a runs longer than max_poll_interval: its execution is too old a baseline when its
    three dependants are ready together.  One of them looks and goes first, the other two
    wait for its execution: two looks in all (one per wave)."""
    server = make_emulator(scenario(artifact(1, duration=30), *(artifact(i) for i in (2, 3, 4))))
    pipe = pipeline(job("a", 1), job("b", 2, "a"), job("c", 3, "a"), job("d", 4, "a"))
    assert pipe.policies.max_poll_interval < 30 / 100  # emulated seconds, 100 a second
    result = run(server, pipe, tmp_path)
    assert result.outcome.exit_code == 0
    assert server.stats().get(STATUS, 0) == 2
    for name in ("c", "d"):
        assert _index(result, "triggering", name) > _index(result, "triggered", "b")


def test_a_hold_past_its_deadline_waits_for_a_free_slot(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """max_parallel 2: the scout a and the path job c run, both out of sight for 5 poll
    intervals; b waits for a's execution past the deadline while no slot is free (the
    run keeps waiting on the clock, it does not spin): b starts once a slot is."""
    path = "/Data/ImportJobs/third.imp"
    faults = {"not_visible_for": 10, "file_ids": [1, 3]}
    spec = scenario(artifact(1), artifact(2), artifact(3, path=path), paths="strict", faults=faults)
    server = make_emulator(spec)
    named = dataclasses.replace(job("c", 3), ref=JobRef.parse(path))
    result = run(server, pipeline(job("a", 1), job("b", 2), named, max_parallel=2), tmp_path)
    assert result.outcome.exit_code == 0
    first_end = min(_index(result, "finished", name) for name in ("a", "c"))
    assert _index(result, "triggering", "b") > first_end
