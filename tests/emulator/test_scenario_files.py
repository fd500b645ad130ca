"""Scenario files through the pipeline's YAML front end: ``file:line:col`` problems, duplicate
keys refused, one duration grammar, downstream graphs checked and ordered by networkx."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from runner.commands.main import main
from runner.emulator import EmulatorServer, load_scenario, scenario_from_dict
from runner.emulator.loading import faults_from_dict
from runner.errors import ScenarioError
from runner.spec.durations import parse_duration
from runner.spec.quick_check import compile_check
from runner.spec.schema_files import known_schemas, load_schema
from testing.raw_http import post_json
from testing.scenarios import EXAMPLES, artifact, scenario

SCHEMA = load_schema("scenario")
LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def problems_of(text: str, tmp_path: Path) -> list[str]:
    """The problem lines of a scenario file holding ``text``, without the file name."""
    file = tmp_path / "scenario.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(file)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{file}:") for line in lines), lines
    return [line[len(f"{file}:") :] for line in lines]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("colour: red\n", "1:1: unknown key 'colour' at the top level", id="top-key"),
        pytest.param(
            "users:\n  admin: {password: admin, cann: all}\n",
            "2:28: unknown key 'cann' in users.admin; did you mean 'can'?",
            id="misspelt-key",
        ),
        pytest.param(
            "artifacts:\n  - file_id: 1\n    duration: soon\n",
            "3:15: artifacts[0].duration: expected a duration like 20s, 2m or 1h30m, "
            "or [min, max] of two durations, got 'soon'",
            id="duration",
        ),
        pytest.param(
            "artifacts:\n  - {path: /a}\n",
            "2:5: missing required key 'file_id' in artifacts[0]",
            id="missing-file-id",
        ),
        pytest.param(
            "artifacts:\n  - {file_id: 1}\n  - {file_id: 1}\n",
            "3:15: artifacts[1].file_id: 1 is already used by artifacts[0]",
            id="file-id-twice",
        ),
        pytest.param(
            "artifacts:\n  - {file_id: 1, downstream: [7]}\n",
            "2:30: artifacts[0].downstream: file id 7 is not an artifact",
            id="unknown-downstream",
        ),
        pytest.param(
            "clock: manual\ntime_scale: 5\n",
            "1:8: clock: a manual clock has no time_scale: remove one of the two",
            id="manual-clock-scale",
        ),
        pytest.param(
            "faults:\n  error_rate: 0.6\n  drop_rate: 0.6\n",
            "1:1: faults: error_rate + drop_rate cannot exceed 1",
            id="rates",
        ),
        pytest.param(
            "artifacts:\n  - file_id: 1\n    history:\n"
            "      - {status: RUNNING, ago: 2m, duration: 1m}\n",
            "4:9: artifacts[0].history[0]: a RUNNING execution must have started less than "
            "its duration ago",
            id="history-running",
        ),
        pytest.param(
            "artifacts:\n  - file_id: 1\n    file_id: 2\n",
            "3:5: duplicate key 'file_id' (first on line 2)",
            id="duplicate-key",
        ),
        pytest.param(
            "users:\n  admin: {password: a}\n  admin: {password: b}\n",
            "3:3: duplicate key 'admin' (first on line 2)",
            id="duplicate-user",
        ),
        pytest.param("a: 1\n---\nb: 2\n", "2:1: a scenario file holds one YAML document", id="two"),
        pytest.param("- 1\n- 2\n", "1:1: a scenario is a mapping of keys like version", id="list"),
    ],
)
def test_problems_carry_line_and_column(text: str, expected: str, tmp_path: Path) -> None:
    (problem,) = problems_of(text, tmp_path)
    assert problem.startswith(expected)


def test_every_problem_is_one_line_in_file_order(tmp_path: Path) -> None:
    text = (
        "version: latest\n"
        "artifacts:\n"
        "  - {file_id: 1, kind: dashboard}\n"
        "  - {file_id: 2, outcomes: [DONE], file_id: 3}\n"
        "faults: {error_rate: 2}\n"
    )
    problems = problems_of(text, tmp_path)
    assert [p.split(": ", 1)[0] for p in problems] == ["1:10", "3:24", "4:28", "4:36", "5:22"]
    assert "duplicate key 'file_id'" in problems[3]


def test_a_password_written_as_the_user_is_never_shown(tmp_path: Path) -> None:
    (problem,) = problems_of("users:\n  bob: s3cret-value\n", tmp_path)
    assert problem.startswith("2:8: users.bob: expected a mapping like {password: ...")
    assert "s3cret-value" not in problem


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    file = tmp_path / "scenario.yaml"
    file.write_text(
        "artifacts:\n"
        "  - &slow {file_id: 1, duration: 5m, kind: import_job}\n"
        "  - {<<: *slow, file_id: 2, duration: 1m}\n"
    )
    one, two = load_scenario(file).artifacts
    assert (one.duration, two.duration) == ((300.0, 300.0), (60.0, 60.0))
    assert two.kind == "import_job"


def test_a_mapping_without_a_file_names_the_source_without_a_position() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"artifacts": [{"file_id": 1, "duration": "soon"}]}, source="derived")
    assert str(caught.value).startswith("derived: artifacts[0].duration: expected a duration")


def test_set_faults_problems_name_the_key() -> None:
    with pytest.raises(ScenarioError, match=r"^set_faults: unknown key 'chaos' in faults$"):
        faults_from_dict({"chaos": 1}, source="set_faults")


# -- the command line -------------------------------------------------------------------------


def test_the_emulator_command_prints_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text("version: latest\nartifacts:\n  - {file_id: 1, duration: 1.5m30s}\n")

    assert main(["emulator", "--port", "0", "--scenario", str(file)]) == 2

    lines = capsys.readouterr().err.removeprefix("dmpipe: error: ").splitlines()
    assert [LINE.match(line) is not None for line in lines] == [True, True]
    assert lines[0].startswith(f"{file}:1:10: version: expected a Datameer version")
    assert lines[1].startswith(f"{file}:3:28: artifacts[0].duration: expected a duration")


def test_an_inline_scenario_reports_positions_in_the_pipeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "version: 1\n"
        "name: p\n"
        "jobs: {a: {file_id: 1}}\n"
        "emulator:\n"
        "  users: {admin: {password: admin}}\n"
        "  artifacts:\n"
        "    - {file_id: 1, duration: soon, downstream: [2]}\n"
        "    - {file_id: 2, downstream: [1], colour: red}\n"
    )

    code = main(["run", str(pipeline), "--emulator", "--report-dir", str(tmp_path / "r")])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.removeprefix("dmpipe: error: ").splitlines()
    assert lines == [
        f"{pipeline}:7:30: emulator.artifacts[0].duration: expected a duration like 20s, 2m or "
        "1h30m, or [min, max] of two durations, got 'soon'",
        f"{pipeline}:8:37: unknown key 'colour' in emulator.artifacts[1]",
    ]


def test_an_inline_scenario_cycle_points_at_the_artifacts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        "version: 1\nname: p\njobs: {a: {file_id: 1}}\nemulator:\n"
        "  artifacts:\n    - {file_id: 1, downstream: 2}\n    - {file_id: 2, downstream: [1]}\n"
    )

    assert main(["run", str(pipeline), "--emulator", "--report-dir", str(tmp_path / "r")]) == 2

    err = capsys.readouterr().err
    assert err == (
        f"dmpipe: error: {pipeline}:5:3: emulator.artifacts: downstream links form a cycle: "
        "1 → 2 → 1\n"
    )


# -- one duration grammar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1.5m30s", id="fraction-then-more"),
        pytest.param("20", id="digits-as-text"),
        pytest.param(" 20s", id="leading-space"),
        pytest.param("20 s", id="inner-space"),
        pytest.param("30s1m", id="units-out-of-order"),
        pytest.param("1m1m", id="unit-twice"),
        pytest.param("-5s", id="negative-text"),
        pytest.param("5S", id="upper-case-unit"),
        pytest.param("", id="empty"),
        pytest.param("1.5", id="fraction-without-unit"),
    ],
)
def test_a_duration_the_pipeline_refuses_the_scenario_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
    with pytest.raises(ScenarioError, match="status_lag: expected a duration"):
        scenario_from_dict({"status_lag": text})


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(0, 0.0, id="zero"),
        pytest.param("0s", 0.0, id="zero-text"),
        pytest.param("1.5m", 90.0, id="fraction"),
        pytest.param("1d2h3m4s5ms", 93784.005, id="every-unit"),
        pytest.param("90m", 5400.0, id="minutes-over-an-hour"),
        pytest.param(0.25, 0.25, id="fraction-of-a-second"),
    ],
)
def test_the_scenario_and_the_pipeline_read_a_duration_alike(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)
    assert scenario_from_dict({"status_lag": value}).status_lag == pytest.approx(seconds)


@pytest.mark.parametrize("value", [pytest.param(-1, id="negative"), pytest.param(True, id="bool")])
def test_a_duration_that_is_not_a_length_of_time_is_refused(value: Any) -> None:
    with pytest.raises(ScenarioError, match="status_lag: expected a duration"):
        scenario_from_dict({"status_lag": value})


def test_a_cached_number_of_seconds_does_not_make_true_a_duration() -> None:
    # The parser caches its answers: 1 and True are equal keys unless the cache is typed.
    assert parse_duration(1) == 1.0
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(True)


def test_both_schemas_share_one_duration_grammar() -> None:
    assert SCHEMA["$defs"]["duration"] == load_schema("pipeline")["$defs"]["duration"]


# -- the downstream graph -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("links", "cycle"),
    [
        pytest.param({1: [1]}, "1 → 1", id="self"),
        pytest.param({1: [2], 2: [3], 3: [1]}, "1 → 2 → 3 → 1", id="three"),
        pytest.param({1: [2, 3], 2: [], 3: [4], 4: [3]}, "3 → 4 → 3", id="below-a-fork"),
    ],
)
def test_a_downstream_cycle_is_refused(links: dict[int, list[int]], cycle: str) -> None:
    artifacts = [artifact(file_id, downstream=down) for file_id, down in links.items()]
    with pytest.raises(ScenarioError, match=f"artifacts: downstream links form a cycle: {cycle}$"):
        scenario_from_dict(scenario(*artifacts), source="s")


def test_a_diamond_is_planned_in_dependency_order_ties_in_discovery_order() -> None:
    loaded = scenario_from_dict(
        scenario(
            artifact(1, downstream=[3, 2]),
            artifact(2, downstream=[4]),
            artifact(3, downstream=[4, 5]),
            artifact(4),
            artifact(5, downstream=[4]),
        )
    )
    with EmulatorServer(loaded) as server:
        body = {"variables": {}, "fileIds": [1]}
        plan = post_json(server.url, "/rest/job-execution?sequence=", json=body)["execution-plan"]
    assert [step["job-configuration-id"] - 1000 for step in plan] == [1, 3, 2, 5, 4]


# -- the schema ---------------------------------------------------------------------------------


def test_the_scenario_schema_is_shipped_and_valid() -> None:
    assert "scenario" in known_schemas()
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] == "https://dmpipe.dev/schemas/scenario.schema.json"


def _properties(schema: Any, path: str = "$") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(schema, dict):
        for name, value in schema.get("properties", {}).items():
            found.append((f"{path}.{name}", value))
        for key, value in schema.items():
            if key != "properties":
                found += _properties(value, f"{path}/{key}")
        for name, value in schema.get("properties", {}).items():
            found += _properties(value, f"{path}.{name}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _properties(value, f"{path}[{index}]")
    return found


def test_every_property_of_the_schema_is_described() -> None:
    undescribed = [path for path, value in _properties(SCHEMA) if "description" not in value]
    assert undescribed == []


@pytest.mark.parametrize(
    "name", [pytest.param(p.name, id=p.stem) for p in sorted(EXAMPLES.glob("*.yaml"))]
)
def test_the_quick_check_accepts_every_shipped_scenario(name: str) -> None:
    from runner.spec.yaml_source import parse_document

    value = parse_document((EXAMPLES / name).read_text("utf-8"), name).document.value
    assert compile_check(SCHEMA)(value)
    assert not list(Draft202012Validator(SCHEMA).iter_errors(value))


@pytest.mark.parametrize(
    "value",
    [
        {"artifacts": [{"file_id": 1, "duration": [1, 2, 3]}]},
        {"artifacts": [{"file_id": 1, "duration": []}]},
        {"artifacts": [{"file_id": 1, "outcomes": []}]},
        {"artifacts": [{"file_id": 1, "outcomes": ["error", None]}]},
        {"artifacts": [{"file_id": 1, "counters": []}]},
        {"faults": {"list_running": {"answer": 429, "calls": None}}},
        {"faults": None, "time_scale": "manual"},
        {"users": {"a": {"password": 1, "can": "*"}}},
    ],
    ids=json.dumps,
)
def test_the_quick_check_agrees_with_jsonschema(value: dict[str, Any]) -> None:
    valid = not list(Draft202012Validator(SCHEMA).iter_errors(value))
    assert compile_check(SCHEMA)(value) is valid


def test_the_defaults_the_schema_documents_are_the_loaders() -> None:
    loaded = scenario_from_dict({"artifacts": [{"file_id": 1, "history": [{"status": "ERROR"}]}]})
    top, defs = SCHEMA["properties"], SCHEMA["$defs"]
    (item,) = loaded.artifacts
    documented = {
        "version": (top["version"]["default"], loaded.version),
        "time_scale": (top["time_scale"]["default"], loaded.time_scale),
        "max_concurrent": (top["max_concurrent"]["default"], loaded.max_concurrent),
        "status_lag": (top["status_lag"]["default"], loaded.status_lag),
        "api_v2": (top["api_v2"]["default"], loaded.api_v2),
        "seed": (top["seed"]["default"], loaded.seed),
        "kind": (defs["artifact"]["properties"]["kind"]["default"], item.kind),
        "duration": (defs["artifact"]["properties"]["duration"]["default"], item.duration[0]),
        "queue_time": (defs["artifact"]["properties"]["queue_time"]["default"], item.queue_time),
        "outcomes": (defs["artifact"]["properties"]["outcomes"]["default"], list(item.outcomes)),
        "data_driven": (defs["artifact"]["properties"]["data_driven"]["default"], item.data_driven),
        "data": (defs["artifact"]["properties"]["data"]["default"], item.data_state),
        "history.duration": (
            defs["history_run"]["properties"]["duration"]["default"],
            item.history[0].duration,
        ),
        "history.user": (
            defs["history_run"]["properties"]["user"]["default"],
            item.history[0].user,
        ),
        "error_status": (
            defs["faults"]["properties"]["error_status"]["default"],
            loaded.faults.error_status,
        ),
        "paths": (defs["faults"]["properties"]["paths"]["default"], list(loaded.faults.paths)),
    }
    assert {key: a for key, (a, _) in documented.items()} == {
        key: b for key, (_, b) in documented.items()
    }
