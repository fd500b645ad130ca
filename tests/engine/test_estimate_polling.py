"""Estimate-aware polling on the emulator (virtual clock): whatever the estimates say —
right, far too short, far too long, absent — every job is triggered exactly once, after
its need, and the requests add up.  No durations are asserted."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from testing.engine_runs import artifact, job, pipeline, run, scenario

MakeEmulator = Callable[..., EmulatorServer]
COUNT = 5
DURATION = 30.0  # emulated seconds; 0.3 s on the run's (virtual) clock at time scale 100


@pytest.mark.parametrize(
    "batch", [pytest.param(True, id="batched"), pytest.param(False, id="per-job")]
)
@pytest.mark.parametrize(
    "estimate",
    [
        pytest.param(None, id="no-estimate"),
        pytest.param(0.3, id="right"),
        pytest.param(0.01, id="far-too-short"),
        pytest.param(30.0, id="far-too-long"),
    ],
)
def test_chain_with_estimates_triggers_each_job_once_in_order(
    make_emulator: MakeEmulator, tmp_path: Path, estimate: float | None, batch: bool
) -> None:
    server = make_emulator(scenario(*(artifact(i, duration=DURATION) for i in range(1, COUNT + 1))))
    jobs = [job("j1", 1)] + [job(f"j{i}", i, f"j{i - 1}") for i in range(2, COUNT + 1)]
    jobs = [dataclasses.replace(j, estimate=estimate) for j in jobs]
    options = EngineOptions(batch_polling=batch, trigger_resolve_timeout=2.0)
    result = run(server, pipeline(*jobs), tmp_path, options=options)

    assert result.outcome.exit_code == 0
    assert all(result.outcome_of(f"j{i}") is JobOutcome.SUCCEEDED for i in range(1, COUNT + 1))
    triggers = [e for e in server.ledger.triggers() if e.effective]
    assert [e.file_id for e in triggers] == list(range(1, COUNT + 1))  # once each, in order
    assert len({e.execution_id for e in triggers}) == COUNT
    stats = server.stats()
    endpoints = {k: v for k, v in stats.items() if k != "total"}
    assert sum(endpoints.values()) == stats["total"]
    assert stats.get("POST /api/job-execution/{ref}/trigger", 0) == COUNT
    assert stats.get("GET /api/job-execution/{ref}/status", 0) == COUNT
    details = stats.get("GET /rest/job-execution/job-details/{id}", 0)
    if batch:
        assert details == COUNT  # only once each execution left the running list
    else:
        assert details >= COUNT
        assert stats.get("GET /rest/jobs/list-running", 0) == 1  # the preflight only


def test_accurate_estimates_add_at_most_one_look_per_job(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """Per-job polling counts looks one by one: with the right estimate a chain is looked
    at hardly more often than with none."""
    looks: dict[str, int] = {}
    for name, estimate in (("none", None), ("right", 0.3)):
        server = make_emulator(
            scenario(*(artifact(i, duration=DURATION) for i in range(1, COUNT + 1)))
        )
        jobs = [job("j1", 1)] + [job(f"j{i}", i, f"j{i - 1}") for i in range(2, COUNT + 1)]
        jobs = [dataclasses.replace(j, estimate=estimate) for j in jobs]
        options = EngineOptions(batch_polling=False, trigger_resolve_timeout=2.0)
        result = run(server, pipeline(*jobs), tmp_path / name, options=options)
        assert result.outcome.exit_code == 0
        looks[name] = server.stats().get("GET /rest/job-execution/job-details/{id}", 0)
    # Looks come on the backoff's beat, and an estimate only adds one at a job's expected
    # finish: never more than one more per job (35 and 36 when measured).
    assert COUNT <= looks["right"] <= looks["none"] + COUNT


def test_an_estimate_far_too_long_never_holds_a_finished_job_past_the_backoff(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    """An estimate only brings looks forward: a chain whose estimates are far beyond its
    real durations ends (on the shared virtual clock) when the one without any does."""
    took: dict[str, float] = {}
    for name, estimate in (("none", None), ("far-too-long", 3000.0)):  # each job takes 0.3 s
        server = make_emulator(
            scenario(*(artifact(i, duration=DURATION) for i in range(1, COUNT + 1)))
        )
        jobs = [job("j1", 1)] + [job(f"j{i}", i, f"j{i - 1}") for i in range(2, COUNT + 1)]
        jobs = [dataclasses.replace(j, estimate=estimate) for j in jobs]
        pipe = pipeline(*jobs)
        # The defaults of a pipeline file: a 2 s beat backing off to 30 s (virtual time).
        policies = dataclasses.replace(pipe.policies, poll_interval=2.0, max_poll_interval=30.0)
        result = run(server, dataclasses.replace(pipe, policies=policies), tmp_path / name)
        assert result.outcome.exit_code == 0
        summary = result.outcome.summary
        took[name] = (summary.finished_at - summary.started_at).total_seconds()
    assert took["far-too-long"] <= took["none"] + 0.01
