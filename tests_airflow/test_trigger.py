"""The trigger in an event loop of its own, as the triggerer runs it: every deferred task of
one connection shares one poll loop (one list-running call per tick for all of them)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from runner.airflow.execution_trigger import (
    FINAL,
    TIMEOUT,
    DatameerExecutionTrigger,
    server_watch,
)
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.reference import JobRef
from testing.emulators import build_scenario
from testing.scenarios import PASSWORD, USER, artifact, scenario

CONN_ID = "datameer_trigger_test"
LIST_RUNNING = "GET /rest/jobs/list-running"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    source = scenario(
        *(artifact(i, duration=30 * i) for i in (1, 2, 3)),
        artifact(9, duration=100_000),
        clock="real",
        time_scale=100,
    )
    with EmulatorServer(build_scenario(source)) as running:
        connection = {
            "conn_type": "datameer",
            "host": running.host,
            "port": running.port,
            "schema": "http",
            "login": USER,
            "password": PASSWORD,
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
        yield running


def trigger(execution_id: int, **given: Any) -> DatameerExecutionTrigger:
    return DatameerExecutionTrigger(
        conn_id=CONN_ID,
        execution_id=execution_id,
        poll_interval=0.1,
        max_poll_interval=0.2,
        **given,
    )


async def first_events(triggers: list[DatameerExecutionTrigger]) -> tuple[list[Any], int]:
    """Run the triggers side by side; their events and the shared loop's ticks."""
    runs = [anext(t.run()) for t in triggers]
    events = await asyncio.gather(*runs)
    ticks = server_watch(CONN_ID, 0.1, 0.2).ticks  # the loop's watch, still registered
    return [event.payload for event in events], ticks


def test_deferred_tasks_of_one_server_share_one_list_running_per_tick(
    server: EmulatorServer,
) -> None:
    with DatameerClient(server.url, user=USER, password=PASSWORD) as api:
        started = [api.trigger(JobRef.parse(i)).execution_id for i in (1, 2, 3)]

    events, ticks = asyncio.run(first_events([trigger(i) for i in started]))

    assert [(e["event"], e["execution_id"]) for e in events] == [(FINAL, i) for i in started]
    assert [e["details"]["status"] for e in events] == ["COMPLETED"] * 3
    assert ticks >= 3  # the three jobs end at different ticks
    assert server.stats()[LIST_RUNNING] == ticks  # one call per tick, not one per task


def test_a_trigger_past_its_deadline_fires_a_timeout(server: EmulatorServer) -> None:
    import time

    with DatameerClient(server.url, user=USER, password=PASSWORD) as api:
        execution = api.trigger(JobRef.parse(9)).execution_id

    events, _ = asyncio.run(first_events([trigger(execution, deadline=time.time() + 0.5)]))

    assert events == [{"event": TIMEOUT, "execution_id": execution}]
    assert server.ledger.stops() == []  # the operator stops it when it resumes


def test_the_trigger_serializes_no_credential() -> None:
    classpath, kwargs = trigger(7, ref_kind="file_id", ref_value="3").serialize()

    assert classpath == "runner.airflow.execution_trigger.DatameerExecutionTrigger"
    assert DatameerExecutionTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert not {"password", "login", "user"} & set(kwargs)
