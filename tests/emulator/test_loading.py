"""Scenario loading: defaults, every value format, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.commands.serve_emulator import DEFAULT_SCENARIO
from runner.emulator import load_scenario, scenario_from_dict
from runner.emulator.loading import CONFIGURATION_ID_OFFSET, merge_overrides, with_overrides
from runner.emulator.values import derived_uuid
from runner.errors import ScenarioError
from testing.scenarios import EXAMPLES, REFERENCE, artifact, scenario


def test_empty_mapping_gives_the_defaults() -> None:
    loaded = scenario_from_dict({})
    assert loaded.version == "7.5.2"
    assert loaded.time_scale == 1.0
    assert loaded.max_concurrent == 0
    assert loaded.first_user() == ("admin", "admin")
    assert loaded.artifacts == ()
    assert not loaded.faults.active


def test_artifact_defaults_are_derived_from_the_file_id() -> None:
    (item,) = scenario_from_dict({"artifacts": [{"file_id": 7}]}).artifacts
    assert item.configuration_id == 7 + CONFIGURATION_ID_OFFSET
    assert item.uuid == derived_uuid(7)
    assert item.path == "/Emulated/artifact-7.wbk"
    assert item.name == "artifact-7"
    assert item.kind == "workbook"
    assert item.duration == (10.0, 10.0)
    assert item.outcomes == ("COMPLETED",)


def test_a_full_artifact_is_read() -> None:
    (item,) = scenario_from_dict(
        {
            "artifacts": [
                {
                    "file_id": 48,
                    "configuration_id": 12,
                    "uuid": "F8D450CD-F065-4ABB-A232-27CD20C48C2B",
                    "path": "/Analytics/Sales categorization",
                    "kind": "import_job",
                    "duration": ["10s", "1m"],
                    "queue_time": "500ms",
                    "outcomes": ["error", "COMPLETED"],
                    "counters": [{"IMPORT_RECORDS": 1}, {"IMPORT_RECORDS": 2}],
                    "data_id": 272,
                    "data": "deleted",
                    "list_running": {"execution_id": False},
                    "history": [{"id": 3, "status": "COMPLETED", "ago": "1h"}],
                }
            ]
        }
    ).artifacts
    assert item.uuid == "f8d450cd-f065-4abb-a232-27cd20c48c2b"
    assert item.name == "Sales categorization"
    assert item.duration == (10.0, 60.0)
    assert item.queue_time == 0.5
    assert item.outcomes == ("ERROR", "COMPLETED")
    assert item.run_counters == ({"IMPORT_RECORDS": 1}, {"IMPORT_RECORDS": 2})
    assert item.data_state == "deleted"
    assert not item.list_execution_id
    assert item.list_estimate
    assert item.history[0].execution_id == 3
    assert item.history[0].started_ago == 3600


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param(20, 20.0, id="int"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param("20s", 20.0, id="seconds"),
        pytest.param("2m", 120.0, id="minutes"),
        pytest.param("1h30m", 5400.0, id="compound"),
        pytest.param("500ms", 0.5, id="millis"),
        pytest.param("1d", 86400.0, id="day"),
        pytest.param("1.5h", 5400.0, id="fraction"),
    ],
)
def test_durations(text: Any, seconds: float) -> None:
    assert scenario_from_dict({"status_lag": text}).status_lag == seconds


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        pytest.param(
            {"colour": 1}, "at the top level", "unknown key 'colour'", id="unknown-top-key"
        ),
        pytest.param({"version": "latest"}, "version", "Datameer version", id="bad-version"),
        pytest.param({"time_scale": 0}, "time_scale", ">=", id="zero-time-scale"),
        pytest.param(
            {"clock": "manual", "time_scale": 5}, "clock", "manual clock", id="manual-and-scale"
        ),
        pytest.param({"clock": "fast"}, "clock", "real, manual", id="bad-clock"),
        pytest.param({"max_concurrent": -1}, "max_concurrent", "at least 0", id="negative-limit"),
        pytest.param({"status_lag": "soon"}, "status_lag", "duration", id="bad-lag"),
        pytest.param({"users": {}}, "users", "at least 1", id="no-users"),
        pytest.param(
            {"users": {"bob": {}}}, "users.bob", "missing required key 'password'", id="no-password"
        ),
        pytest.param(
            {"users": {"bob": {"password": "x", "can": "some"}}}, "users.bob.can", "list", id="can"
        ),
        pytest.param({"artifacts": {}}, "artifacts", "list of artifacts", id="artifacts-map"),
        pytest.param(
            {"artifacts": [{}]}, "artifacts[0]", "missing required key 'file_id'", id="no-file-id"
        ),
        pytest.param(
            {"artifacts": [{"file_id": "x"}]}, "artifacts[0].file_id", "whole number", id="file-id"
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "duration": "fast"}]},
            "artifacts[0].duration",
            "duration",
            id="duration",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "duration": [30, 10]}]},
            "artifacts[0].duration",
            "above max",
            id="duration-range",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "outcomes": ["DONE"]}]},
            "artifacts[0].outcomes",
            "COMPLETED",
            id="outcome",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "outcomes": []}]},
            "artifacts[0].outcomes",
            "at least one",
            id="no-outcomes",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "kind": "dashboard"}]},
            "artifacts[0].kind",
            "import_job",
            id="kind",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "uuid": "nope"}]}, "artifacts[0].uuid", "UUID", id="uuid"
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "path": "Analytics/x"}]},
            "artifacts[0].path",
            "starts with '/'",
            id="relative-path",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "counters": {"A": "many"}}]},
            "artifacts[0].counters",
            "whole number",
            id="counter",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "downstream": [2]}]},
            "artifacts[0].downstream",
            "not an artifact",
            id="downstream-unknown",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "downstream": [2]}, {"file_id": 2, "downstream": [1]}]},
            "artifacts",
            "cycle: 1 → 2 → 1",
            id="downstream-cycle",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1}, {"file_id": 1}]},
            "artifacts[1].file_id",
            "already used by artifacts[0]",
            id="duplicate-file-id",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "path": "/a"}, {"file_id": 2, "path": "/a"}]},
            "artifacts[1].path",
            "already used",
            id="duplicate-path",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "history": [{"ago": 5}]}]},
            "artifacts[0].history[0]",
            "missing required key 'status'",
            id="history-status",
        ),
        pytest.param(
            {"artifacts": [{"file_id": 1, "history": [{"status": "RUNNING", "ago": 90}]}]},
            "artifacts[0].history[0]",
            "less than its duration",
            id="history-running-finished",
        ),
        pytest.param(
            {
                "artifacts": [
                    {"file_id": 1, "history": [{"id": 5, "status": "ERROR"}]},
                    {"file_id": 2, "history": [{"id": 5, "status": "ERROR"}]},
                ]
            },
            "artifacts[1].history",
            "used twice",
            id="history-id-twice",
        ),
        pytest.param({"faults": {"error_rate": 2}}, "faults.error_rate", "at most 1", id="rate"),
        pytest.param(
            {"faults": {"error_rate": 0.6, "drop_rate": 0.6}}, "faults", "exceed 1", id="rates-sum"
        ),
        pytest.param(
            {"faults": {"error_status": 404}}, "faults.error_status", "at least 500", id="status"
        ),
        pytest.param(
            {"faults": {"latency": {"min": 1, "max": 0}}}, "faults.latency", "above max", id="lat"
        ),
        pytest.param({"faults": {"chaos": 1}}, "faults", "unknown key 'chaos'", id="fault-key"),
    ],
)
def test_invalid_scenarios_name_the_key(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, source="mine.yaml")
    # Messages worded as the pipeline's: "<key>: expected ..." or "... in <key>".
    assert str(caught.value).startswith("mine.yaml: ")
    assert f" {key}: " in str(caught.value) or str(caught.value).endswith(f" {key}")
    assert message in str(caught.value)


def test_a_password_is_never_echoed_in_an_error() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"users": {"bob": "s3cret-value"}})
    assert "s3cret-value" not in str(caught.value)


def test_a_scenario_must_be_a_mapping() -> None:
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        scenario_from_dict(["version"], source="x")  # type: ignore[arg-type]


def test_yaml_errors_give_the_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text("version: '7.5.2'\nartifacts: [\n  {file_id: 1\n")
    with pytest.raises(ScenarioError, match=r"broken\.yaml:\d+:\d+: invalid YAML"):
        load_scenario(file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "cannot read the scenario", id="missing"),
        pytest.param(
            b"version: \xff\xfe\n", r"scenario\.yaml:1:10: the file is not UTF-8", id="not-utf8"
        ),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    file = tmp_path / "scenario.yaml"
    if content is not None:
        file.write_bytes(content)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(file)


def test_an_empty_file_is_the_default_scenario(tmp_path: Path) -> None:
    file = tmp_path / "empty.yaml"
    file.write_text("# nothing yet\n")
    assert load_scenario(file).first_user() == ("admin", "admin")


@pytest.mark.parametrize(
    "name", [pytest.param(p.name, id=p.stem) for p in sorted(EXAMPLES.glob("*.yaml"))]
)
def test_every_shipped_scenario_loads(name: str) -> None:
    loaded = load_scenario(EXAMPLES / name)
    assert loaded.artifacts
    assert loaded.source.endswith(name)


def test_the_packaged_default_is_the_reference_scenario() -> None:
    assert DEFAULT_SCENARIO.read_text() == REFERENCE.read_text()


def test_overrides_are_validated_again() -> None:
    loaded = scenario_from_dict(scenario(artifact(1)), source="s")
    assert with_overrides(loaded, time_scale=50).time_scale == 50
    assert with_overrides(loaded, version="7.4").version == "7.4"
    with pytest.raises(ScenarioError, match="s: version"):
        with_overrides(loaded, version="new")


@pytest.mark.parametrize(
    ("data", "overrides", "time_scale"),
    [
        pytest.param({"clock": "manual"}, {"time_scale": 10}, 10.0, id="scale-starts-the-clock"),
        pytest.param({"time_scale": 10}, {"clock": "manual"}, None, id="manual-drops-the-scale"),
        pytest.param({"time_scale": 10}, {"time_scale": "manual"}, None, id="scale-manual"),
    ],
)
def test_clock_overrides(
    data: dict[str, Any], overrides: dict[str, Any], time_scale: float | None
) -> None:
    assert scenario_from_dict(merge_overrides(data, overrides)).time_scale == time_scale
