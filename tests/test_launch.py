"""One pipeline on every emulated Datameer version: the run picks the endpoints the version
has (the ledger and the request counts show which), and never repeats a permanent 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

import runner
from runner.clock import VirtualClock
from runner.datameer.protocol import JobApi
from runner.emulator import EmulatorServer, scenario_from_dict
from runner.engine.driver import RunRequest, run_pipeline
from runner.engine.preflight import start_preflight
from runner.errors import ServerError
from testing import scenarios
from testing.scenarios import PASSWORD, USER

PIPELINE = """\
version: 1
name: versions
mode: {mode}
server: {{url: "${{DATAMEER_URL}}"}}
policies: {{poll_interval: 0.05s, max_poll_interval: 0.2s}}
{variables}
jobs:
  load: {{{load}, configuration_id: 101}}
  report: {{{report}, configuration_id: 102, needs: [load]}}
  ship: {{{ship}, configuration_id: 103, needs: [report]}}
"""
BY_PATH = {
    "load": "path: /Data/ImportJobs/Web logs.imp",
    "report": "path: /Analytics/Sales report.wbk",
    "ship": "path: /Exports/Sales report.exp",
}
# The sequential trigger takes file ids, which a never-run path does not tell.
BY_ID = {"load": "file_id: 1", "report": "file_id: 2", "ship": "file_id: 3"}

ARTIFACTS = [
    scenarios.artifact(
        1, configuration_id=101, path="/Data/ImportJobs/Web logs.imp", downstream=[2]
    ),
    scenarios.artifact(2, configuration_id=102, path="/Analytics/Sales report.wbk", downstream=[3]),
    scenarios.artifact(3, configuration_id=103, path="/Exports/Sales report.exp"),
]
V2_ROUTES = (
    "GET /api/job-execution/{ref}/status",
    "POST /api/job-execution/{ref}/trigger",
    "POST /api/job-execution/{ref}/stop",
)


@contextmanager
def emulated(version: str, **fields: Any) -> Iterator[EmulatorServer]:
    """The emulator, on a virtual clock the test's runs wait on too (``options``): poll
    intervals and retry delays take no real time."""
    scenario = scenarios.scenario(
        *ARTIFACTS, version=version, clock="real", time_scale=200, **fields
    )
    with EmulatorServer(scenario_from_dict(scenario)) as server:
        server.clock.follow(VirtualClock())
        yield server


def options(server: EmulatorServer, tmp_path: Path, **fields: Any) -> runner.RunOptions:
    """A library run on ``server``, on the server's virtual clock (``RunOptions.clock``)."""
    return runner.RunOptions(
        environ={"DATAMEER_URL": server.url, "DATAMEER_USER": USER, "DATAMEER_PASSWORD": PASSWORD},
        runs_dir=tmp_path / "runs",
        clock=server.clock.source,
        **fields,
    )


def run(
    tmp_path: Path,
    server: EmulatorServer,
    mode: str = "client",
    variables: str = "",
    refs: dict[str, str] = BY_PATH,
) -> runner.RunOutcome:
    pipeline = tmp_path / "pipeline.yaml"
    text = PIPELINE.format(mode=mode, variables=variables, **refs)
    pipeline.write_text(text, encoding="utf-8")
    return runner.run_file(pipeline, options(server, tmp_path))


@pytest.mark.parametrize(
    ("version", "trigger", "v2"),
    [
        pytest.param("6.4", "legacy_trigger", False, id="6.4-legacy"),
        pytest.param("7.2.5", "trigger", True, id="7.2.5"),
        pytest.param("7.4", "trigger", True, id="7.4"),
        pytest.param("7.5.2", "trigger", True, id="7.5.2"),
        pytest.param("11.1", "trigger", True, id="X-11"),
    ],
)
def test_the_same_pipeline_runs_on_every_version_with_its_endpoints(
    tmp_path: Path, version: str, trigger: str, v2: bool
) -> None:
    with emulated(version) as server:
        outcome = run(tmp_path, server)
        stats = server.stats()
        ledger = server.ledger.entries()

    assert outcome.exit_code == 0, outcome.states
    assert [(entry.action, entry.file_id) for entry in ledger] == [
        (trigger, 1),
        (trigger, 2),
        (trigger, 3),
    ]
    assert stats["GET /rest/license-details"] == 1  # asked once per run
    if v2:
        assert stats.get("GET /rest/job-configuration/job-status/{id}", 0) == 0
    else:
        # Never a request to /api/... on a server known to lack it.
        assert not any(stats.get(route) for route in V2_ROUTES)
        assert stats["GET /rest/job-configuration/job-status/{id}"] >= 3


def test_a_server_without_the_plugin_meets_one_404_then_the_legacy_calls(
    tmp_path: Path,
) -> None:
    # 7.5.2 by its version, but the REST v2 plugin is missing: the first /api/... call
    # answers a servlet 404, which is never sent again (and never retried).
    with emulated("7.5.2", api_v2=False) as server:
        outcome = run(tmp_path, server)
        stats = server.stats()
        actions = [entry.action for entry in server.ledger.entries()]

    assert outcome.exit_code == 0, outcome.states
    assert actions == ["legacy_trigger"] * 3
    assert sum(stats.get(route, 0) for route in V2_ROUTES) == 1


@pytest.mark.parametrize(
    ("version", "actions"),
    [
        pytest.param("7.4", ["trigger"] * 3, id="7.4-falls-back"),
        pytest.param("7.5.2", ["sequence"] * 3, id="7.5.2-sequential"),
        pytest.param("11.1", ["sequence"] * 3, id="X-11-sequential"),
    ],
)
def test_auto_mode_uses_the_sequential_trigger_only_where_it_exists(
    tmp_path: Path, version: str, actions: list[str]
) -> None:
    with emulated(version) as server:
        outcome = run(tmp_path, server, "auto", "variables: {day: '1'}", BY_ID)
        stats = server.stats()
        ledger = [entry.action for entry in server.ledger.entries()]

    assert outcome.exit_code == 0, outcome.states
    assert ledger == actions
    if version == "7.4":
        # Known from the version: the sequential trigger is not even tried.
        assert stats.get("POST /rest/job-execution?sequence=", 0) == 0


def test_server_version_setting_overrides_the_server(
    tmp_path: Path,
) -> None:
    # The server says 7.5.2; the file says 6.4: the legacy calls are used, no version asked.
    with emulated("7.5.2") as server:
        pipeline = PIPELINE.replace(
            'server: {{url: "${{DATAMEER_URL}}"}}',
            'server: {{url: "${{DATAMEER_URL}}", version: "6.4"}}',
        )
        assert "6.4" in pipeline
        file = tmp_path / "pipeline.yaml"
        file.write_text(pipeline.format(mode="client", variables="", **BY_PATH), "utf-8")
        outcome = runner.run_file(file, options(server, tmp_path))
        stats = server.stats()
        actions = {entry.action for entry in server.ledger.entries()}

    assert outcome.exit_code == 0, outcome.states
    assert actions == {"legacy_trigger"}
    assert stats.get("GET /rest/license-details", 0) == 0


def test_a_job_without_configuration_id_fails_at_once_on_a_server_without_rest_v2(
    tmp_path: Path,
) -> None:
    file = tmp_path / "pipeline.yaml"
    file.write_text(
        "version: 1\nname: no-cfg\nmode: client\n"
        "defaults: {retry: {retries: 3, delay: 0.05s}}\n"
        "policies: {poll_interval: 0.05s, max_poll_interval: 0.2s}\n"
        "jobs:\n  load: {path: /Data/ImportJobs/Web logs.imp}\n",
        encoding="utf-8",
    )
    with emulated("6.4") as server:
        outcome = runner.run_file(file, options(server, tmp_path))
        stats = server.stats()

    assert outcome.exit_code == 1
    attempts = outcome.states["load"].attempts
    assert "add configuration_id: to the job" in str(attempts[-1].error)
    assert len(attempts) == 1  # a permanent failure is not retried
    assert server.ledger.entries() == []
    assert not any(stats.get(route) for route in V2_ROUTES)


def test_the_first_call_goes_out_once_beside_the_version_look(
    tmp_path: Path,
) -> None:
    # list-running is sent as soon as the client is made (the engine loads meanwhile) and
    # the driver waits for that answer: not a second preflight.  Without batch polling it
    # is the run's only list-running.
    with emulated("7.4") as server:
        file = tmp_path / "pipeline.yaml"
        file.write_text(PIPELINE.format(mode="client", variables="", **BY_PATH), "utf-8")
        outcome = runner.run_file(
            file, options(server, tmp_path, engine=runner.EngineOptions(batch_polling=False))
        )
        stats = server.stats()

    assert outcome.exit_code == 0, outcome.states
    assert stats["GET /rest/jobs/list-running"] == 1
    assert stats["GET /rest/license-details"] == 1


def test_a_run_waits_on_the_clock_its_options_give(tmp_path: Path) -> None:
    # RunOptions.clock: the run's events, report and waits are on that clock, not on the
    # process's (an embedder's or a test's virtual time, no monkeypatching).
    start = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    with emulated("7.4") as server:
        clock = VirtualClock(start)
        server.clock.follow(clock)
        heard: list[runner.RunEvent] = []
        file = tmp_path / "pipeline.yaml"
        file.write_text(PIPELINE.format(mode="client", variables="", **BY_PATH), "utf-8")
        outcome = runner.run_file(file, options(server, tmp_path), heard.append)

    assert outcome.exit_code == 0, outcome.states
    assert outcome.summary.started_at == start
    assert heard[0].at == start
    # Three jobs one after another, each a virtual poll interval or more: time went by on
    # the virtual clock alone.
    assert outcome.summary.finished_at > start
    assert clock.now() >= outcome.summary.finished_at


class _BusyOnce:
    """A JobApi whose first list-running meets a busy server (only what the preflight uses)."""

    def __init__(self) -> None:
        self.listed = 0

    def list_running(self) -> list[object]:
        self.listed += 1
        if self.listed == 1:
            raise ServerError("list of running jobs", "http://datameer", "busy", 503)
        return []


def test_a_preflight_sent_early_that_meets_a_busy_server_is_asked_again(tmp_path: Path) -> None:
    # The early list-running's answer is the driver's first try: a busy server is asked
    # again (after a virtual second), as when the driver sends the call itself.
    api = _BusyOnce()
    early = start_preflight(api.list_running)
    pipeline = runner.Pipeline(name="none", path=str(tmp_path / "p.yaml"), version=1, jobs={})
    request = RunRequest(mode=runner.Mode.CLIENT, mode_reason="test", report_dir=tmp_path / "r")
    outcome = run_pipeline(
        pipeline,
        cast(JobApi, api),
        request,
        lambda event: None,
        clock=VirtualClock(),
        preflight=early,
    )
    assert outcome.exit_code == 0
    assert api.listed == 2
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert [w["kind"] for w in report["warnings"]] == ["server_busy"]
