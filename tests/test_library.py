"""dmpipe as a library: the public names, and a run embedded with no argparse and no
process environment (what the Airflow provider and other schedulers rely on)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import runner
from runner.emulator import EmulatorServer, scenario_from_dict
from testing import scenarios
from testing.engine_runs import on_virtual_time
from testing.environment import subprocess_env
from testing.processes import exit_within
from testing.scenarios import PASSWORD, USER

PUBLIC = {
    "__version__",
    "ApiError",
    "AuthenticationError",
    "DatameerClient",
    "DmpipeError",
    "EmulatorServer",
    "EngineOptions",
    "EventSink",
    "Job",
    "JobOutcome",
    "JobRef",
    "JobState",
    "JobStatus",
    "Mode",
    "NotFoundError",
    "OutcomeUnknownError",
    "Pipeline",
    "PipelineFileError",
    "RunError",
    "RunEvent",
    "RunOptions",
    "RunOutcome",
    "ScenarioError",
    "ServerSettings",
    "UsageError",
    "load_pipeline",
    "load_pipeline_text",
    "load_scenario",
    "run_file",
    "run_job",
}

PIPELINE = """\
version: 1
name: embedded
server:
  url: ${WAREHOUSE_URL}
policies: {poll_interval: 50ms}
jobs:
  load: {file_id: 1}
  report: {file_id: 2, needs: [load]}
"""


def test_the_public_names_are_pinned() -> None:
    assert set(runner.__all__) == PUBLIC
    assert sorted(dir(runner)) == sorted(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC - {"__version__"}))
def test_each_public_name_resolves_to_its_definition(name: str) -> None:
    value = getattr(runner, name)
    assert value.__name__ == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'run_pipeline'"):
        _ = runner.run_pipeline  # type: ignore[attr-defined]


def emulator(duration: float) -> EmulatorServer:
    """A server with artifacts 1 and 2, each running ``duration`` emulated seconds."""
    scenario = scenarios.scenario(
        scenarios.artifact(1, duration=duration),
        scenarios.artifact(2, duration=duration),
        clock="real",
        time_scale=100,
    )
    return EmulatorServer(scenario_from_dict(scenario))


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with emulator(duration=2) as running:
        yield running


def test_run_file_reads_only_the_environment_it_is_given(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process environment names another server and another summary file: a library
    # run that read it would fail to connect, or write where the caller did not ask.
    monkeypatch.setenv("WAREHOUSE_URL", "http://192.0.2.1:9")
    monkeypatch.setenv("DATAMEER_PASSWORD", "not-this-one")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "process-summary.md"))
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE, encoding="utf-8")
    summary = tmp_path / "summary.md"
    heard: list[runner.RunEvent] = []
    options = runner.RunOptions(
        environ={
            "WAREHOUSE_URL": server.url,
            "DATAMEER_USER": USER,
            "DATAMEER_PASSWORD": PASSWORD,
            "GITHUB_STEP_SUMMARY": str(summary),
        },
        runs_dir=tmp_path / "runs",
    )

    outcome = runner.run_file(pipeline, options, heard.append)

    assert outcome.exit_code == 0
    assert {name: state.outcome for name, state in outcome.states.items()} == {
        "load": runner.JobOutcome.SUCCEEDED,
        "report": runner.JobOutcome.SUCCEEDED,
    }
    assert outcome.report_path.parent.parent == tmp_path / "runs"
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["exit_code"] == 0
    assert summary.is_file()
    assert not (tmp_path / "process-summary.md").exists()
    assert [entry.file_id for entry in server.ledger.triggers()] == [1, 2]
    kinds = [event.kind for event in heard]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"


def test_run_file_without_a_server_url_says_where_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAMEER_URL", "http://192.0.2.1:9")
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE.replace("${WAREHOUSE_URL}", "${WAREHOUSE_URL:-}"), "utf-8")

    with pytest.raises(runner.DmpipeError, match="no Datameer server") as raised:
        runner.run_file(pipeline, runner.RunOptions(runs_dir=tmp_path / "runs"))

    assert raised.value.exit_code == 2


def test_a_cancelled_run_file_stops_its_jobs_and_writes_the_report(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE, encoding="utf-8")
    cancelled = threading.Event()

    def cancel_once_running(event: runner.RunEvent) -> None:
        if event.kind == "triggered":
            cancelled.set()

    options = runner.RunOptions(
        environ={"DATAMEER_USER": USER, "DATAMEER_PASSWORD": PASSWORD},
        report_dir=tmp_path / "run",
    )
    with emulator(duration=6000) as server:
        options = replace(options, environ={**options.environ, "WAREHOUSE_URL": server.url})
        outcome = runner.run_file(pipeline, options, cancel_once_running, cancelled)

    assert outcome.exit_code == 130
    assert (tmp_path / "run" / "report.json").is_file()
    assert outcome.states["load"].outcome is runner.JobOutcome.CANCELED
    assert outcome.states["report"].outcome is runner.JobOutcome.SKIPPED
    assert [entry.file_id for entry in server.ledger.triggers()] == [1]
    assert [entry.file_id for entry in server.ledger.stops()] == [1]


def test_run_job_triggers_one_artifact_once_and_watches_it(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_virtual_time(monkeypatch, server)
    options = runner.RunOptions(
        environ={"DATAMEER_URL": server.url, "DATAMEER_USER": USER, "DATAMEER_PASSWORD": PASSWORD},
        runs_dir=tmp_path / "runs",
    )

    outcome = runner.run_job(2, options)

    assert outcome.exit_code == 0
    [state] = outcome.states.values()
    assert state.outcome is runner.JobOutcome.SUCCEEDED
    assert [entry.file_id for entry in server.ledger.triggers()] == [2]
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["exit_code"] == 0


@pytest.mark.parametrize("ref", [pytest.param("", id="empty"), pytest.param(-1, id="negative")])
def test_run_job_refuses_a_reference_that_names_nothing(ref: int | str, tmp_path: Path) -> None:
    with pytest.raises(runner.UsageError, match="run_job: ") as raised:
        runner.run_job(ref, runner.RunOptions(runs_dir=tmp_path / "runs"))

    assert raised.value.exit_code == 2


def test_every_public_name_has_a_home() -> None:
    assert set(runner._EXPORTS) | {"__version__"} == set(runner.__all__)


# A library caller who sets ``cancelled`` from its own signal handler, in the main thread,
# while the run waits: the run stops its job and returns 130 (the signal may land inside a
# wait of the run's, where an ``Event.set`` on the event waited on would deadlock).
SETS_CANCELLED_FROM_A_HANDLER = """
import signal, sys, threading
from pathlib import Path
import runner

cancelled = threading.Event()
signal.signal(signal.SIGINT, lambda signum, frame: cancelled.set())

def tell(event):
    if event.kind == "triggered":
        print("triggered", flush=True)

options = runner.RunOptions(
    environ={"WAREHOUSE_URL": sys.argv[2], "DATAMEER_USER": "admin", "DATAMEER_PASSWORD": "admin"},
    report_dir=Path(sys.argv[3]),
)
outcome = runner.run_file(sys.argv[1], options, tell, cancelled)
print(f"exit {outcome.exit_code}", flush=True)
"""


@pytest.mark.slow
def test_a_signal_handler_may_set_cancelled(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE, encoding="utf-8")
    with emulator(duration=6000) as server:
        arguments = [str(pipeline), server.url, str(tmp_path / "run")]
        process = subprocess.Popen(
            [sys.executable, "-c", SETS_CANCELLED_FROM_A_HANDLER, *arguments],
            env=subprocess_env(server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        if process.stdout.readline() != "triggered\n":
            pytest.fail(f"the run did not start: {exit_within(process, 30)[1]}")
        process.send_signal(signal.SIGINT)
        out, err = exit_within(process, 30)
        assert (process.returncode, out) == (0, "exit 130\n"), err
        assert [entry.file_id for entry in server.ledger.stops()] == [1]
