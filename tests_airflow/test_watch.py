"""Start, re-attach, judge and stop one task's job against the emulator (no Airflow needed):
the record a task keeps across tries is what keeps a retry from triggering again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runner.airflow.watch import (
    Record,
    Settings,
    begin,
    details_from_data,
    details_to_data,
    job_from_parameters,
    stop_execution,
    verdict,
)
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.engine.outcome import JobOutcome
from testing.emulators import build_scenario
from testing.scenarios import PASSWORD, USER, artifact, scenario

FAST = Settings(poll_interval=0.01, resolve_timeout=0.3)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    source = scenario(
        artifact(1, counters={"IMPORT_RECORDS": 10, "IMPORT_DROPPED_RECORDS": 2}),
        artifact(2, outcomes=["ERROR", "COMPLETED"]),
    )
    with EmulatorServer(build_scenario(source)) as running:
        yield running


@pytest.fixture
def api(server: EmulatorServer) -> Iterator[DatameerClient]:
    with DatameerClient(server.url, user=USER, password=PASSWORD) as client:
        yield client


def test_a_first_try_saves_the_artifact_before_the_trigger_and_the_execution_after(
    server: EmulatorServer, api: DatameerClient
) -> None:
    saved: list[Record] = []

    start = begin(api, job_from_parameters("load", 1), None, saved.append, retrying=False)

    assert start.execution_id is not None
    assert not start.attached
    assert saved == [Record(previous=None, sending=True), Record(execution_id=start.execution_id)]
    assert [e.execution_id for e in server.ledger.triggers()] == [start.execution_id]


def test_a_retry_re_attaches_to_the_live_execution_of_its_record(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    first = begin(api, job, None, lambda record: None, retrying=False)

    again = begin(api, job, first.record, lambda record: None, retrying=True, settings=FAST)

    assert (again.execution_id, again.attached) == (first.execution_id, True)
    assert len(server.ledger.triggers()) == 1


def test_a_retry_whose_execution_already_succeeded_returns_it_without_triggering(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    first = begin(api, job, None, lambda record: None, retrying=False)
    server.clock.advance(60)

    again = begin(api, job, first.record, lambda record: None, retrying=True)

    assert again.finished is not None
    assert again.finished.execution_id == first.execution_id
    assert len(server.ledger.triggers()) == 1


def test_a_retry_after_a_failed_execution_triggers_a_new_attempt_and_remembers_both(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("report", 2)
    first = begin(api, job, None, lambda record: None, retrying=False)
    server.clock.advance(60)
    saved: list[Record] = []

    again = begin(api, job, first.record, saved.append, retrying=True, settings=FAST)

    assert again.execution_id is not None
    assert again.execution_id != first.execution_id
    assert saved[-1].earlier == (first.execution_id,)
    assert len(server.ledger.triggers()) == 2


def test_a_trigger_whose_answer_never_came_is_looked_for_not_sent_again(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    # The worker died after the POST: the record says "sending", the server has the execution.
    sent = api.trigger(job.ref).execution_id
    died = Record(previous=None, sending=True)

    again = begin(api, job, died, lambda record: None, retrying=True, settings=FAST)

    assert (again.execution_id, again.attached) == (sent, True)
    assert len(server.ledger.triggers()) == 1


def test_without_a_task_state_store_a_retry_takes_the_running_execution(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    running = api.trigger(job.ref).execution_id

    again = begin(api, job, None, lambda record: None, retrying=True, settings=FAST)

    assert (again.execution_id, again.attached) == (running, True)
    assert len(server.ledger.triggers()) == 1


def test_at_a_first_try_another_run_s_execution_is_waited_for(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    theirs = api.trigger(job.ref).execution_id

    start = begin(api, job, None, lambda record: None, retrying=False, settings=FAST)

    assert start.waiting_on == theirs
    assert start.execution_id is None
    assert len(server.ledger.triggers()) == 1


@pytest.mark.parametrize(
    ("expect", "warnings", "outcome"),
    [
        pytest.param({}, "success", JobOutcome.SUCCEEDED, id="no-gates"),
        pytest.param({"IMPORT_RECORDS": ">= 10"}, "success", JobOutcome.SUCCEEDED, id="gate-met"),
        pytest.param({"IMPORT_DROPPED_RECORDS": 0}, "success", JobOutcome.FAILED, id="gate-missed"),
    ],
)
def test_the_verdict_applies_the_expect_gates(
    server: EmulatorServer,
    api: DatameerClient,
    expect: dict[str, float | str],
    warnings: str,
    outcome: JobOutcome,
) -> None:
    job = job_from_parameters("load", 1, expect=expect, warnings=warnings)
    execution_id = api.trigger(job.ref).execution_id
    server.clock.advance(60)
    details = api.job_details(execution_id)

    judged = verdict(job, details)

    assert judged.outcome is outcome
    assert details_from_data(details_to_data(details)) == details


def test_a_stop_targets_exactly_the_task_s_execution(
    server: EmulatorServer, api: DatameerClient
) -> None:
    job = job_from_parameters("load", 1)
    execution_id = api.trigger(job.ref).execution_id

    said = stop_execution(api, job, execution_id)

    assert said.startswith(f"stop of execution {execution_id} sent")
    assert [e.execution_id for e in server.ledger.stops()] == [execution_id]
