"""Scenario loading: a YAML file or a mapping → a validated ``Scenario``.

A file goes through the pipeline's YAML front end (``runner.spec.yaml_source``: line and
column of every value, duplicate keys refused, aliases and nesting bounded) and is checked
against ``schemas/scenario.schema.json`` with the pipeline's wording
(``runner.spec.messages``).  What the schema cannot say (unique ids, downstream links, a
manual clock with a time scale ...) is checked here and located the same way.  Every
problem is one ``file:line:col: message`` line of a ``ScenarioError``; a mapping that
comes from no file (``scenario_from_dict``) has no positions, its lines read
``source: message``.  Unknown keys are errors: a typo must not silently fall back to a
default.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx  # type: ignore[import-untyped]

from runner.emulator import values
from runner.emulator.scenario import (
    KINDS,
    LIST_RUNNING_ANSWERS,
    OUTCOMES,
    UNKNOWN_OUTCOMES,
    Artifact,
    Faults,
    HistoryRun,
    ListRunningFault,
    Scenario,
    User,
)
from runner.errors import FileProblem, PipelineFileError, ScenarioError
from runner.spec.decoding import decode
from runner.spec.document import Document, JsonPath
from runner.spec.durations import parse_duration
from runner.spec.naming import shown, subject
from runner.spec.schema_check import schema_problems
from runner.spec.yaml_source import parse_document

_MAX_FILE_BYTES = 5 * 1024 * 1024
_HISTORY_STATUSES = (*OUTCOMES, "RUNNING", "QUEUED")
_DEFAULT_USERS = {"admin": {"password": "admin"}}
# Configuration ids default to file id + this, so that mixing the two up is caught.
CONFIGURATION_ID_OFFSET = 1000

# A default path ends like a real artifact of its kind.
_EXTENSIONS = {"import_job": ".imp", "workbook": ".wbk", "export_job": ".exp"}
_KNOWN_EXTENSIONS = frozenset({*_EXTENSIONS.values(), ".upl", ".lnk"})


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file; ``ScenarioError``: one ``file:line:col`` line per
    problem."""
    filename = os.fspath(path)
    try:
        parsed = parse_document(_read(Path(path), filename), filename, kind="scenario")
    except PipelineFileError as error:
        raise ScenarioError("\n".join(map(str, error.problems))) from None
    document = parsed.document
    value = {} if document.value is None else document.value
    return _validated(value, _Source(document), list(parsed.problems))


def scenario_from_dict(data: Mapping[str, Any], source: str = "<inline>") -> Scenario:
    """Validate a scenario mapping that comes from no file (derived, overridden, a test's)."""
    return _validated(data, _Source(Document(source, data), positioned=False), [])


def scenario_in_pipeline(data: Mapping[str, Any], pipeline_file: str) -> Scenario:
    """Validate a pipeline's inline ``emulator:`` scenario; problems point into the pipeline
    file (read again for the positions; without it they name the file alone)."""
    try:
        text = _read(Path(pipeline_file), pipeline_file)
        document = parse_document(text, pipeline_file).document
    except (ScenarioError, PipelineFileError):
        source = _Source(Document(f"{pipeline_file} (emulator:)", data), positioned=False)
    else:
        source = _Source(document, at=("emulator",))
    return _validated(data, source, [])


def faults_from_dict(data: Mapping[str, Any] | None, source: str = "faults") -> Faults:
    """Validate a ``faults:`` mapping alone (``EmulatorServer.set_faults`` takes one)."""
    return scenario_from_dict({"faults": data or {}}, source).faults


def _read(file: Path, filename: str) -> str:
    try:
        with file.open("rb") as stream:
            data = stream.read(_MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{filename}: cannot read the scenario: {error.strerror}") from error
    if len(data) > _MAX_FILE_BYTES:
        raise ScenarioError(f"{filename}: a scenario file is at most 5 MB")
    try:
        return decode(data, filename)
    except PipelineFileError as error:
        raise ScenarioError("\n".join(map(str, error.problems))) from None


@dataclass(frozen=True)
class _Source:
    """Where a scenario value was written: a document, and the scenario's path in it."""

    document: Document
    at: JsonPath = ()
    positioned: bool = True

    def problem(self, path: JsonPath, message: str, *, at_key: bool = False) -> FileProblem:
        """A problem at ``path`` of the scenario, its message led by what is there."""
        full = (*self.at, *path)
        return self.document.problem(full, f"{subject(full)}: {message}", at_key=at_key)

    def error(self, problems: list[FileProblem]) -> ScenarioError:
        """One line per problem, in file order."""
        ordered = sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.col))
        lines = [str(p) if self.positioned else f"{p.file}: {p.message}" for p in ordered]
        return ScenarioError("\n".join(lines))


def _validated(value: Any, source: _Source, problems: list[FileProblem]) -> Scenario:
    if not isinstance(value, Mapping):
        message = (
            f"a scenario is a mapping of keys like version, users and artifacts, got {shown(value)}"
        )
        where = source.document.position(source.at)
        problems.append(FileProblem(source.document.filename, where.line, where.col, message))
        raise source.error(problems)
    problems += schema_problems(source.document, value, schema_name="scenario", at=source.at)
    if problems:
        raise source.error(problems)
    scenario = _scenario(value, source.document.filename)
    problems += _checks(value, scenario, source)
    if problems:
        raise source.error(problems)
    return scenario


def _scenario(data: Mapping[str, Any], source: str) -> Scenario:
    """A schema-valid scenario mapping → the typed records, defaults filled in."""
    users = data.get("users", _DEFAULT_USERS)
    return Scenario(
        version=str(data.get("version", "7.5.2")).strip(),
        time_scale=_time_scale(data),
        max_concurrent=data.get("max_concurrent", 0),
        status_lag=parse_duration(data.get("status_lag", 0)),
        api_v2=data.get("api_v2", True),
        paths=data.get("paths", "lenient"),
        path_encoding=data.get("path_encoding", "plus"),
        seed=data.get("seed", 0),
        first_execution_id=data.get("first_execution_id"),
        users=tuple(_user(str(name), spec) for name, spec in users.items()),
        artifacts=tuple(_artifact(spec) for spec in data.get("artifacts", [])),
        faults=_faults(data.get("faults") or {}),
        source=source,
        data=dict(data),
    )


def _time_scale(data: Mapping[str, Any]) -> float | None:
    scale = data.get("time_scale", 1)
    return None if _manual(data) or scale == "manual" else float(scale)


def _manual(data: Mapping[str, Any]) -> bool:
    return values.choice(data.get("clock", "real"), ("real", "manual")) == "manual"


def _user(name: str, spec: Mapping[str, Any]) -> User:
    can = spec.get("can", "all")
    password = str(spec["password"])
    return User(name, password, None if can in ("all", "*") else tuple(can))


def _artifact(spec: Mapping[str, Any]) -> Artifact:
    file_id: int = spec["file_id"]
    kind = values.choice(spec.get("kind", "workbook"), KINDS)
    path = str(spec.get("path", f"/Emulated/artifact-{file_id}{_EXTENSIONS[kind]}")).strip()
    counters = spec.get("counters")
    listed = spec.get("list_running", {})
    return Artifact(
        file_id=file_id,
        configuration_id=spec.get("configuration_id", file_id + CONFIGURATION_ID_OFFSET),
        uuid=str(spec.get("uuid", values.derived_uuid(file_id))).lower(),
        path=path,
        name=spec.get("name", _display_name(path)),
        kind=kind,
        duration=values.duration_range(spec.get("duration", 10)),
        queue_time=parse_duration(spec.get("queue_time", 1)),
        outcomes=tuple(_outcome(item) for item in _listed(spec.get("outcomes", ["COMPLETED"]))),
        counters=counters if isinstance(counters, dict) else None,
        run_counters=tuple(counters) if isinstance(counters, list) else (),
        downstream=tuple(_listed(spec.get("downstream", []))),
        data_driven=spec.get("data_driven", True),
        data_id=spec.get("data_id"),
        data_state=values.choice(spec.get("data", "present"), ("present", "deleted")),
        history=_history(spec.get("history", [])),
        list_execution_id=listed.get("execution_id", True),
        list_estimate=listed.get("estimate", True),
    )


def _display_name(path: str) -> str:
    """The name Datameer shows for a path: its last segment without the artifact extension
    (``/Data/ImportJobs/URLS.imp`` is ``URLS``)."""
    name = path.rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    return stem if dot and stem and f".{extension.lower()}" in _KNOWN_EXTENSIONS else name


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _outcome(value: Any) -> str:
    """A known outcome, or one of the raw statuses a careless server ends runs with."""
    return "null" if value is None else values.choice(value, (*OUTCOMES, *UNKNOWN_OUTCOMES))


def _history(runs: list[Mapping[str, Any]]) -> tuple[HistoryRun, ...]:
    count = len(runs)
    return tuple(
        HistoryRun(
            status=values.choice(spec["status"], _HISTORY_STATUSES),
            started_ago=parse_duration(spec.get("ago", 3600.0 * (count - index))),
            duration=parse_duration(spec.get("duration", 60)),
            execution_id=spec.get("id"),
            outcome=values.choice(spec.get("outcome", "COMPLETED"), OUTCOMES),
            counters=spec.get("counters"),
            user=spec.get("user", "admin"),
        )
        for index, spec in enumerate(runs)
    )


def _faults(spec: Mapping[str, Any]) -> Faults:
    def rate(name: str) -> float:
        return float(spec.get(name, 0))

    retry_after = spec.get("retry_after")
    return Faults(
        seed=spec.get("seed", 0),
        latency=_latency(spec.get("latency", 0)),
        error_rate=rate("error_rate"),
        error_status=spec.get("error_status", 500),
        retry_after=None if retry_after is None else parse_duration(retry_after),
        drop_rate=rate("drop_rate"),
        lost_trigger_rate=rate("lost_trigger_rate"),
        paths=tuple(spec.get("paths", ["/api/*", "/rest/*"])),
        trigger_without_id=rate("trigger_without_id"),
        reuse_execution_id=rate("reuse_execution_id"),
        phantom_execution_id=rate("phantom_execution_id"),
        not_visible_for=parse_duration(spec.get("not_visible_for", 0)),
        file_ids=tuple(_listed(spec.get("file_ids", []))),
        forbidden=tuple(_listed(spec.get("forbidden", []))),
        list_running=_list_running_fault(spec.get("list_running")),
        hang_after=spec.get("hang_after"),
    )


def _latency(value: Any) -> tuple[float, float]:
    if isinstance(value, Mapping):
        low = parse_duration(value.get("min", 0))
        return low, parse_duration(value.get("max", low))
    return values.duration_range(value)


def _list_running_fault(value: Any) -> ListRunningFault | None:
    if value is None:
        return None
    spec = value if isinstance(value, Mapping) else {"answer": value}
    return ListRunningFault(
        answer=values.choice(str(spec.get("answer", "html")), LIST_RUNNING_ANSWERS),
        rate=float(spec.get("rate", 1)),
        after=spec.get("after", 0),
        calls=spec.get("calls"),
    )


# -- what the schema cannot say ---------------------------------------------------------


def _checks(data: Mapping[str, Any], scenario: Scenario, source: _Source) -> Iterator[FileProblem]:
    if _manual(data) and data.get("time_scale", "manual") != "manual":
        yield source.problem(("clock",), "a manual clock has no time_scale: remove one of the two")
    for index, artifact in enumerate(scenario.artifacts):
        yield from _range(source, ("artifacts", index, "duration"), artifact.duration)
    faults = scenario.faults
    yield from _range(source, ("faults", "latency"), faults.latency)
    if faults.error_rate + faults.drop_rate > 1:
        yield source.problem(("faults",), "error_rate + drop_rate cannot exceed 1", at_key=True)
    yield from _history_runs(scenario, source)
    yield from _unique(scenario, source)
    yield from _downstream(scenario, source)


def _range(source: _Source, path: JsonPath, bounds: tuple[float, float]) -> Iterator[FileProblem]:
    low, high = bounds
    if low > high:
        yield source.problem(path, f"min {low:g} is above max {high:g}")


def _history_runs(scenario: Scenario, source: _Source) -> Iterator[FileProblem]:
    seen: set[int] = set()
    for index, artifact in enumerate(scenario.artifacts):
        for number, run in enumerate(artifact.history):
            if run.status == "RUNNING" and run.started_ago >= run.duration:
                message = "a RUNNING execution must have started less than its duration ago"
                yield source.problem(("artifacts", index, "history", number), message)
            if run.execution_id in seen:
                message = f"execution id {run.execution_id} is used twice"
                yield source.problem(("artifacts", index, "history"), message)
            if run.execution_id is not None:
                seen.add(run.execution_id)


def _unique(scenario: Scenario, source: _Source) -> Iterator[FileProblem]:
    """Ids used twice; after a file id used twice, not the ids derived from it as well."""
    for label in ("file_id", "configuration_id", "uuid", "path", "data_id"):
        seen: dict[Any, int] = {}
        found = False
        for index, artifact in enumerate(scenario.artifacts):
            value = getattr(artifact, label)
            if value is not None and value in seen:
                found = True
                message = f"{value!r} is already used by artifacts[{seen[value]}]"
                yield source.problem(("artifacts", index, label), message)
            seen.setdefault(value, index)
        if found and label == "file_id":
            return


def _downstream(scenario: Scenario, source: _Source) -> Iterator[FileProblem]:
    graph = nx.DiGraph()
    graph.add_nodes_from(artifact.file_id for artifact in scenario.artifacts)
    for index, artifact in enumerate(scenario.artifacts):
        for target in artifact.downstream:
            if target not in graph:
                message = f"file id {target} is not an artifact"
                yield source.problem(("artifacts", index, "downstream"), message)
            else:
                graph.add_edge(artifact.file_id, target)
    try:
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
    except nx.NetworkXNoCycle:
        return
    links = " → ".join(map(str, [*cycle, cycle[0]]))
    message = f"downstream links form a cycle: {links}"
    yield source.problem(("artifacts",), message, at_key=True)


def with_overrides(scenario: Scenario, **overrides: Any) -> Scenario:
    """The scenario with some top-level keys replaced (YAML spelling), validated again."""
    if not overrides:
        return scenario
    return scenario_from_dict(merge_overrides(scenario.data, overrides), source=scenario.source)


def merge_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``overrides`` on top; a new ``time_scale`` or ``clock`` replaces both."""
    merged = {**data, **overrides}
    if "time_scale" in overrides and "clock" not in overrides:
        merged["clock"] = "manual" if overrides["time_scale"] == "manual" else "real"
    elif overrides.get("clock") == "manual" and "time_scale" not in overrides:
        merged.pop("time_scale", None)
    return merged
