"""Scenarios derived from a pipeline that brings none (``dmpipe run --emulator``)."""

from __future__ import annotations

import pytest

from runner.emulator import EmulatorServer, scenario_from_dict
from runner.emulator.derive import derive_scenario
from runner.model import CounterExpectation, Job, Pipeline, ServerSettings, When
from runner.reference import JobRef
from testing.raw_http import get_json, post_json


def pipeline(*jobs: Job, user: str | None = None) -> Pipeline:
    return Pipeline(
        name="p",
        path="p.yaml",
        version=1,
        jobs={j.name: j for j in jobs},
        server=ServerSettings(user=user),
    )


def job(name: str, ref: str | int, *needs: str, **fields: object) -> Job:
    return Job(name=name, ref=JobRef.parse(ref), needs=needs, **fields)  # type: ignore[arg-type]


def test_every_job_becomes_an_artifact_linked_by_needs() -> None:
    data = derive_scenario(
        pipeline(
            job("import_logs", 48, estimate=120.0),
            job("categorize", "/Analytics/Sales categorization", "import_logs"),
            job("export", "f8d450cd-f065-4abb-a232-27cd20c48c2b", "categorize"),
            user="analyst",
        )
    )
    scenario = scenario_from_dict(data)
    by_name = {a.name: a for a in scenario.artifacts}
    assert by_name["import_logs"].file_id == 48
    assert by_name["import_logs"].kind == "import_job"
    assert by_name["import_logs"].duration == (120.0, 120.0)
    assert by_name["categorize"].path == "/Analytics/Sales categorization"
    assert by_name["export"].uuid == "f8d450cd-f065-4abb-a232-27cd20c48c2b"
    assert by_name["export"].kind == "export_job"
    assert by_name["import_logs"].downstream == (by_name["categorize"].file_id,)
    assert by_name["categorize"].downstream == (by_name["export"].file_id,)
    assert scenario.first_user()[0] == "analyst"
    assert scenario.time_scale == 120.0


def test_made_up_ids_do_not_collide_and_repeated_refs_share_one() -> None:
    data = derive_scenario(
        pipeline(job("a", "/x"), job("b", 9001), job("c", "/x", "a"), job("d", "/y"))
    )
    ids = [a["file_id"] for a in data["artifacts"]]
    assert len(ids) == len(set(ids)) == 3
    assert 9001 in ids


@pytest.mark.parametrize(
    ("operator", "value", "passes"),
    [
        pytest.param("==", 0, lambda v: v == 0, id="eq"),
        pytest.param(">", 0, lambda v: v > 0, id="gt"),
        pytest.param(">=", 1.5, lambda v: v >= 1.5, id="ge-fraction"),
        pytest.param("<", 10, lambda v: v < 10, id="lt"),
        pytest.param("<=", 10, lambda v: v <= 10, id="le"),
        pytest.param("!=", 3, lambda v: v != 3, id="ne"),
    ],
)
def test_counters_pass_the_gates(operator: str, value: float, passes: object) -> None:
    gate = CounterExpectation("IMPORT_DROPPED_RECORDS", operator, value)
    data = derive_scenario(pipeline(job("import_x", 1, expect=(gate,))))
    (artifact,) = scenario_from_dict(data).artifacts
    assert artifact.counters is not None
    assert passes(artifact.counters["IMPORT_DROPPED_RECORDS"])  # type: ignore[operator]


def test_a_derived_scenario_runs_the_chain() -> None:
    data = derive_scenario(pipeline(job("a", 1), job("b", 2, "a")))
    data["clock"], data["time_scale"] = "manual", "manual"
    with EmulatorServer(scenario_from_dict(data)) as server:
        auth = ("admin", "emulator")
        plan = post_json(server.url, "/rest/job-execution?sequence=1", auth)["execution-plan"]
        assert [p["job-configuration-name"] for p in plan] == ["a", "b"]
        server.clock.advance(120)
        assert (
            get_json(server.url, "/api/job-execution/2/status", auth)["job-status"] == "COMPLETED"
        )


def test_failure_handlers_are_not_chained() -> None:
    data = derive_scenario(
        pipeline(
            job("a", 1),
            job("b", 2, "a"),
            job("notify", 3, "b", when=When.ANY_FAILED),
            job("cleanup", 4, "b", when=When.ALL_DONE),
        )
    )
    downstream = {a["name"]: a["downstream"] for a in data["artifacts"]}
    assert downstream == {"a": [2], "b": [], "notify": [], "cleanup": []}


def test_path_and_uuid_artifacts_have_run_before_so_their_file_id_is_known() -> None:
    data = derive_scenario(
        pipeline(job("a", "/Imports/logs"), job("b", "f8d450cd-f065-4abb-a232-27cd20c48c2b"))
    )
    with EmulatorServer(scenario_from_dict(data)) as server:
        auth = ("admin", "emulator")
        for ref in ("Imports/logs", "f8d450cd-f065-4abb-a232-27cd20c48c2b"):
            status = get_json(server.url, f"/api/job-execution/{ref}/status", auth)
            assert status["job-status"] == "COMPLETED"
            assert isinstance(status["file-id"], int)
