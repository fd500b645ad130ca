"""The provider's pieces in this process (no DAG run): provider metadata, the hook, the
parse-time checks of the operator, and ``on_failure: cancel`` stopping a sibling's execution."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.airflow.job_operator import XCOM_EXECUTION_ID, DatameerJobOperator
from runner.airflow.provider import get_provider_info
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.errors import UsageError
from runner.reference import JobRef
from testing.emulators import build_scenario
from testing.scenarios import PASSWORD, USER, artifact, scenario

CONN_ID = "datameer_in_process"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(build_scenario(scenario(artifact(1), artifact(2), artifact(3)))) as running:
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


def test_the_provider_info_passes_airflow_s_schema() -> None:
    import airflow
    import jsonschema

    schema_file = Path(airflow.__file__).parent / "provider_info.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    info = get_provider_info()

    jsonschema.validate(info, schema)
    (kind,) = info["connection-types"]
    assert kind["connection-type"] == "datameer"
    assert set(kind["conn-fields"]) == {"ca_bundle", "verify", "path_encoding"}


def test_the_hook_tests_the_connection_with_its_credentials(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.airflow import DatameerHook

    assert DatameerHook(CONN_ID).test_connection() == (
        True,
        "connected: 0 job(s) running on the server",
    )
    wrong = json.dumps(
        {
            "conn_type": "datameer",
            "host": server.host,
            "port": server.port,
            "schema": "http",
            "login": USER,
            "password": "wrong",
        }
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", wrong)
    ok, message = DatameerHook(CONN_ID).test_connection()
    assert not ok
    assert "wrong" not in message


@pytest.mark.parametrize(
    ("given", "words"),
    [
        pytest.param({"artifact": ""}, "names nothing", id="empty-artifact"),
        pytest.param({"artifact": 1, "expect": {"X": "lots"}}, "expect.X", id="gate"),
        pytest.param({"artifact": 1, "warnings": "maybe"}, "warnings", id="warnings"),
    ],
)
def test_a_bad_parameter_fails_when_the_dag_is_parsed(given: dict[str, Any], words: str) -> None:
    with pytest.raises(UsageError, match="task load") as raised:
        DatameerJobOperator(task_id="load", **given)
    assert words in str(raised.value)


class SiblingXComs:
    """The XComs ``execution_id`` of a DAG run's other tasks, as ``ti.xcom_pull`` serves them."""

    def __init__(self, pushed: dict[str, int]) -> None:
        self.pushed = pushed

    def xcom_pull(self, task_ids: str, key: str) -> int | None:
        assert key == XCOM_EXECUTION_ID
        return self.pushed.get(task_ids)


def test_a_job_failing_for_good_stops_its_running_siblings_only(server: EmulatorServer) -> None:
    with DatameerClient(server.url, user=USER, password=PASSWORD) as api:
        running = api.trigger(JobRef.parse(2)).execution_id
        finished = api.trigger(JobRef.parse(3)).execution_id
        server.clock.advance(5)
        api.stop(JobRef.parse(3))  # ended before the failure: nothing to stop
    operator = DatameerJobOperator(
        task_id="fails",
        artifact=1,
        datameer_conn_id=CONN_ID,
        on_failure_cancel={"second": 2, "third": 3, "never_started": 4},
    )
    stops_before = len(server.ledger.stops())
    context = {"ti": SiblingXComs({"second": running, "third": finished})}

    operator._cancel_siblings(context, operator._job())

    assert [e.execution_id for e in server.ledger.stops()[stops_before:]] == [running]
