"""The operators in a real Airflow (``airflow dags test``) against the emulator: task states
from Airflow's database, triggers and stops from the emulator's ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Airflow

from runner.emulator import EmulatorServer
from testing.emulators import ScenarioSource, build_scenario
from testing.scenarios import PASSWORD, USER, artifact, scenario

EMULATOR_EXAMPLES = ROOT / "examples" / "emulator"


def serve(source: ScenarioSource, **overrides: object) -> EmulatorServer:
    return EmulatorServer(build_scenario(source, **overrides))


@pytest.fixture
def test_server() -> Iterator[EmulatorServer]:
    """The server of tests_airflow/dags: 100 emulated seconds per real second."""
    source = scenario(
        artifact(1, counters={"IMPORT_RECORDS": 100, "IMPORT_DROPPED_RECORDS": 2}),
        artifact(2, outcomes=["ERROR", "COMPLETED"]),
        artifact(3, duration=3600),
        artifact(4),
        artifact(5),
        artifact(6, duration=600),
        clock="real",
        time_scale=100,
    )
    with serve(source) as server:
        yield server


def triggered(server: EmulatorServer) -> Counter[int | None]:
    return Counter(entry.file_id for entry in server.ledger.triggers())


def test_per_job_operators_trigger_each_artifact_once_and_return_its_details(
    airflow: Airflow,
) -> None:
    with serve(EMULATOR_EXAMPLES / "quickstart.yaml") as server:
        run = airflow.dags_test("datameer_jobs", server, "analyst", "analyst")
        ledger = triggered(server)

    assert run.returncode == 0, run.output[-3000:]
    assert run.states == {n: "success" for n in ("import_logs", "categorize", "export_categories")}
    assert ledger == Counter({48: 1, 6: 1, 50: 1})
    details = airflow.xcom(run, "import_logs")
    assert details["outcome"] == "SUCCEEDED"
    assert details["status"] == "COMPLETED"
    assert details["counters"]["IMPORT_DROPPED_RECORDS"] == 0
    assert details["expect"] == ["IMPORT_DROPPED_RECORDS == 0"]
    assert airflow.xcom(run, "import_logs", "execution_id") == details["execution_id"]


def test_a_worker_that_died_after_the_trigger_is_retried_onto_the_same_execution(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("worker_dies_after_trigger", test_server, USER, PASSWORD)

    assert run.returncode == 0, run.output[-3000:]
    assert (run.states["load"], run.tries["load"]) == ("success", 2)
    assert triggered(test_server) == Counter({6: 1})
    execution = test_server.ledger.triggers()[0].execution_id
    assert f"re-attached to execution {execution}" in run.output
    assert airflow.xcom(run, "load")["execution_id"] == execution


def test_a_deferred_job_past_its_execution_timeout_is_stopped(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("job_times_out", test_server, USER, PASSWORD)

    assert run.states["slow"] == "failed"
    started = [entry.execution_id for entry in test_server.ledger.triggers()]
    assert len(started) == 1
    assert [entry.execution_id for entry in test_server.ledger.stops()] == started
    assert "timed out" in run.output


def test_a_missed_expect_gate_fails_the_task_without_a_retry_and_its_downstream(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("gate_fails", test_server, USER, PASSWORD)

    assert run.states == {"load": "failed", "report": "upstream_failed"}
    assert run.tries["load"] == 1  # retries=2, but a gate is no ERROR (retry_on)
    assert triggered(test_server) == Counter({1: 1})
    assert "IMPORT_DROPPED_RECORDS == 0: got 2" in run.output
    assert airflow.xcom(run, "load", "details")["outcome"] == "FAILED"


def test_a_task_that_is_not_deferrable_waits_in_the_worker(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("waits_in_the_worker", test_server, USER, PASSWORD)

    assert run.returncode == 0, run.output[-3000:]
    assert run.states == {"load": "success"}
    assert triggered(test_server) == Counter({1: 1})
    assert "new_state=deferred" not in run.output


def test_a_rendered_task_group_with_on_failure_cancel_starts_nothing_after_a_failure(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("cancel_on_failure", test_server, USER, PASSWORD)

    assert run.states["cancel.fails"] == "failed"
    # retries: 0 in the file: its task's one extra Airflow try is not spent on a job failure.
    assert run.tries["cancel.fails"] == 1
    assert run.states["cancel.second"] == "skipped"
    # A failure handler (when: any_failed) still runs.
    assert run.states["cancel.notify"] == "success"
    ledger = triggered(test_server)
    assert ledger[2] == 1
    assert ledger[5] == 0
    assert ledger[1] == 1


def test_the_example_pipeline_rendered_as_tasks_runs_each_job_once(airflow: Airflow) -> None:
    with serve(EMULATOR_EXAMPLES / "fan-out-fan-in.yaml") as server:
        run = airflow.dags_test("customer_360", server, "etl", "etl")
        ledger = triggered(server)

    assert run.returncode == 0, run.output[-3000:]
    handler = run.states.pop("notify_failure")
    assert handler == "skipped"  # when: any_failed, and nothing failed
    assert set(run.states.values()) == {"success"}
    assert len(run.states) == 8
    assert sum(ledger.values()) == 8
    assert set(ledger.values()) == {1}


def test_the_pipeline_operator_runs_the_file_in_one_task_and_publishes_its_report(
    airflow: Airflow,
) -> None:
    with serve(EMULATOR_EXAMPLES / "quickstart.yaml") as server:
        run = airflow.dags_test("datameer_pipeline", server, "analyst", "analyst")
        ledger = triggered(server)

    assert run.returncode == 0, run.output[-3000:]
    assert run.states == {"quickstart": "success"}
    assert ledger == Counter({48: 1, 6: 1, 50: 1})
    report = airflow.xcom(run, "quickstart", "report")
    assert report["exit_code"] == 0
    report_dir = Path(airflow.xcom(run, "quickstart", "report_dir"))
    assert (report_dir / "report.json").is_file()
    assert airflow.xcom(run, "quickstart", "_link_DatameerReportLink") == (
        (report_dir / "report.html").as_uri()
    )


def test_a_retried_pipeline_task_resumes_its_run(
    airflow: Airflow, test_server: EmulatorServer
) -> None:
    run = airflow.dags_test("pipeline_resumes_on_retry", test_server, USER, PASSWORD)

    assert run.returncode == 0, run.output[-3000:]
    assert (run.states["run"], run.tries["run"]) == ("success", 2)
    # Try 1: load succeeded, report failed; try 2 resumed: only report again.
    assert triggered(test_server) == Counter({1: 1, 2: 2})
    assert "resuming the pipeline" in run.output


def test_the_sequence_operator_sends_one_sequential_trigger_with_the_variables(
    airflow: Airflow,
) -> None:
    with serve(EMULATOR_EXAMPLES / "nightly-etl.yaml") as server:
        run = airflow.dags_test("datameer_sequence", server, "etl", "etl")
        sequences = [e for e in server.ledger.triggers() if e.action == "sequence"]
        others = [e for e in server.ledger.triggers() if e.action != "sequence"]
        calls = server.stats().get("POST /rest/job-execution?sequence=")

    assert run.returncode == 0, run.output[-3000:]
    assert run.states == {"nightly_etl": "success"}
    assert calls == 1  # one sequential trigger, which started the chain's 5 executions
    assert len(sequences) == 5
    assert others == []
    assert sequences[0].variables["region"] == "EMEA"
    assert sequences[0].variables["run_date"] == run.run_id.split("__")[1][:10]


def test_a_broken_pipeline_file_is_an_import_error_naming_file_line_and_column(
    airflow: Airflow, test_server: EmulatorServer, tmp_path: Path
) -> None:
    broken = ROOT / "tests_airflow" / "pipelines" / "broken.yaml"
    (tmp_path / "broken_dag.py").write_text(
        "from runner.airflow import pipeline_dag\n"
        f"dag = pipeline_dag({str(broken)!r}, dag_id='broken')\n",
        encoding="utf-8",
    )

    run = airflow.dags_test("broken", test_server, USER, PASSWORD, dags_folder=tmp_path)

    assert run.returncode != 0
    assert f"{broken}:5:" in run.output
    assert "lod" in run.output
    assert test_server.ledger.triggers() == []


def test_a_rendered_pipeline_in_sequential_mode_is_one_sequence_task(airflow: Airflow) -> None:
    with serve(EMULATOR_EXAMPLES / "nightly-etl.yaml") as server:
        run = airflow.dags_test("sequential_rendered", server, "etl", "etl")
        calls = server.stats().get("POST /rest/job-execution?sequence=")

    assert run.returncode == 0, run.output[-3000:]
    assert run.states == {"nightly-etl": "success"}
    assert calls == 1
