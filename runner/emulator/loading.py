"""Scenario loading: a YAML file or a mapping → a validated ``Scenario``.

Every problem raises ``ScenarioError`` naming the source and the key, e.g.
``faulty.yaml: artifacts[2].duration: expected a duration like 20, '20s' ...``.
Unknown keys are errors: a typo must not silently fall back to a default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

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
from runner.errors import ScenarioError

T = TypeVar("T")

_MAX_FILE_BYTES = 5 * 1024 * 1024
_TOP_KEYS = {
    "version",
    "time_scale",
    "clock",
    "max_concurrent",
    "status_lag",
    "api_v2",
    "seed",
    "first_execution_id",
    "users",
    "artifacts",
    "faults",
    "description",
}
_ARTIFACT_KEYS = {
    "file_id",
    "configuration_id",
    "uuid",
    "path",
    "name",
    "kind",
    "duration",
    "queue_time",
    "outcomes",
    "counters",
    "downstream",
    "data_driven",
    "data_id",
    "data",
    "history",
    "list_running",
}
_HISTORY_KEYS = {"id", "status", "ago", "duration", "outcome", "counters", "user"}
_FAULT_KEYS = {
    "seed",
    "latency",
    "error_rate",
    "error_status",
    "retry_after",
    "drop_rate",
    "lost_trigger_rate",
    "paths",
    "trigger_without_id",
    "reuse_execution_id",
    "not_visible_for",
    "file_ids",
    "forbidden",
    "list_running",
    "hang_after",
}
_LIST_RUNNING_FAULT_KEYS = {"answer", "rate", "after", "calls"}
_HISTORY_STATUSES = (*OUTCOMES, "RUNNING", "QUEUED")
# Configuration ids default to file id + this, so that mixing the two up is caught.
CONFIGURATION_ID_OFFSET = 1000


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; ``ScenarioError`` names the file and the key."""
    import yaml

    file = Path(path)
    try:
        if file.stat().st_size > _MAX_FILE_BYTES:
            raise ScenarioError(f"{file}: a scenario file is at most 5 MB")
        text = file.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ScenarioError(f"{file}: cannot read the scenario: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ScenarioError(f"{file}: a scenario file must be UTF-8 ({error.reason})") from error
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError(f"{file}{where}: invalid YAML: {problem}") from error
    _refuse_alias_bombs(data, file)
    return scenario_from_dict({} if data is None else data, source=str(file))


# More values than any real scenario has; a few kilobytes of nested aliases stand for billions.
_MAX_EXPANDED_VALUES = 1_000_000


def _refuse_alias_bombs(data: object, file: Path) -> None:
    """ScenarioError when ``data`` refers to itself or its aliases expand too far: checking
    (or printing) it would never end."""
    size = _expanded_size(data)
    if size is None:
        raise ScenarioError(f"{file}: an alias refers to the value that contains it")
    if size > _MAX_EXPANDED_VALUES:
        raise ScenarioError(
            f"{file}: aliases expand to more than {_MAX_EXPANDED_VALUES} values (an alias bomb?)"
        )


def _expanded_size(data: object) -> int | None:
    """How many values ``data`` holds with every alias expanded, without expanding them (a
    reused anchor is one shared object, sized once); None for a cycle."""
    sizes: dict[int, int] = {}
    pending: list[tuple[object, bool]] = [(data, False)]
    open_nodes: set[int] = set()
    while pending:
        node, children_done = pending.pop()
        parts = _parts(node)
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(part), 1) for part in parts)
            continue
        if not parts or id(node) in sizes:
            continue
        if id(node) in open_nodes:
            return None
        open_nodes.add(id(node))
        pending.append((node, True))
        pending.extend((part, False) for part in parts if id(part) not in sizes)
    return sizes.get(id(data), 1)


def _parts(node: object) -> list[object]:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    return list(node) if isinstance(node, list) else []


def scenario_from_dict(data: Mapping[str, Any], source: str = "<inline>") -> Scenario:
    """Validate a scenario mapping (e.g. a pipeline's inline ``emulator:``) into a ``Scenario``."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a mapping, got {type(data).__name__}")
    return _Reader(source).scenario(data)


def faults_from_dict(data: Mapping[str, Any] | None, source: str = "faults") -> Faults:
    """Validate a ``faults:`` mapping alone (``EmulatorServer.set_faults`` takes one)."""
    return _Reader(source).faults(data or {}, "faults")


class _Reader:
    """Reads one source; every error it raises names ``source`` and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {key}: {message}")

    def get(self, key: str, parse: Callable[[Any], T], value: Any) -> T:
        try:
            return parse(value)
        except ValueError as error:
            raise self.fail(key, str(error)) from None

    def mapping(self, key: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {value!r}")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise self.fail(key, f"unknown key {unknown[0]!r} (known keys: {known})")
        return value

    def scenario(self, data: Mapping[str, Any]) -> Scenario:
        data = self.mapping("(top level)", data, _TOP_KEYS)
        users = self.users(data.get("users", {"admin": {"password": "admin"}}))
        artifacts = self.artifacts(data.get("artifacts", []))
        return Scenario(
            version=self.get("version", _version, data.get("version", "7.5.2")),
            time_scale=self.time_scale(data),
            max_concurrent=self.get(
                "max_concurrent", values.integer, data.get("max_concurrent", 0)
            ),
            status_lag=self.get("status_lag", values.duration, data.get("status_lag", 0)),
            api_v2=self.get("api_v2", values.boolean, data.get("api_v2", True)),
            seed=self.get("seed", values.integer, data.get("seed", 0)),
            first_execution_id=self.optional(data, "first_execution_id", values.integer),
            users=users,
            artifacts=artifacts,
            faults=self.faults(data.get("faults") or {}, "faults"),
            source=self.source,
            data=dict(data),
        )

    def optional(self, data: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> T | None:
        value = data.get(key)
        return None if value is None else self.get(key, parse, value)

    def time_scale(self, data: Mapping[str, Any]) -> float | None:
        clock = self.get(
            "clock", lambda v: values.choice(v, ("real", "manual")), data.get("clock", "real")
        )
        scale = data.get("time_scale", 1)
        if clock == "manual" and "time_scale" in data and scale != "manual":
            raise self.fail("clock", "a manual clock has no time_scale: remove one of the two")
        if clock == "manual" or scale == "manual":
            return None
        return self.get("time_scale", lambda v: values.number(v, minimum=1e-6), scale)

    def users(self, value: Any) -> tuple[User, ...]:
        if not isinstance(value, Mapping) or not value:
            raise self.fail("users", "expected a mapping of user name to {password: ...}")
        return tuple(self.user(str(name), spec) for name, spec in value.items())

    def user(self, name: str, spec: Any) -> User:
        key = f"users.{name}"
        if not isinstance(spec, Mapping):
            # Never echo the value: it is probably the password.
            raise self.fail(key, "expected a mapping like {password: ..., can: [...]}")
        spec = self.mapping(key, spec, {"password", "can"})
        if "password" not in spec:
            raise self.fail(key, "every user needs a password")
        password = self.get(f"{key}.password", lambda v: str(values.text(str(v))), spec["password"])
        can = spec.get("can", "all")
        if can in ("all", "*"):
            return User(name, password)
        if not isinstance(can, list):
            raise self.fail(f"{key}.can", f"expected 'all' or a list of ids and paths, got {can!r}")
        return User(name, password, tuple(self.grant(f"{key}.can", item) for item in can))

    def grant(self, key: str, item: Any) -> int | str:
        if isinstance(item, int) and not isinstance(item, bool):
            return item
        return self.get(key, values.text, item)

    def artifacts(self, value: Any) -> tuple[Artifact, ...]:
        if not isinstance(value, list):
            raise self.fail("artifacts", f"expected a list of artifacts, got {value!r}")
        artifacts = tuple(self.artifact(f"artifacts[{i}]", item) for i, item in enumerate(value))
        _check_unique(self, artifacts)
        _check_downstream(self, artifacts)
        return artifacts

    def artifact(self, key: str, value: Any) -> Artifact:
        spec = self.mapping(key, value, _ARTIFACT_KEYS)
        if "file_id" not in spec:
            raise self.fail(key, "every artifact needs a file_id")
        file_id = self.get(f"{key}.file_id", values.integer, spec["file_id"])
        path = self.get(
            f"{key}.path", values.path, spec.get("path", f"/Emulated/artifact-{file_id}")
        )
        counters = spec.get("counters")
        return Artifact(
            file_id=file_id,
            configuration_id=self.get(
                f"{key}.configuration_id",
                values.integer,
                spec.get("configuration_id", file_id + CONFIGURATION_ID_OFFSET),
            ),
            uuid=self.get(
                f"{key}.uuid", values.uuid, spec.get("uuid", values.derived_uuid(file_id))
            ),
            path=path,
            name=self.get(f"{key}.name", values.text, spec.get("name", path.rsplit("/", 1)[-1])),
            kind=self.get(
                f"{key}.kind", lambda v: values.choice(v, KINDS), spec.get("kind", "workbook")
            ),
            duration=self.get(f"{key}.duration", values.duration_range, spec.get("duration", 10)),
            queue_time=self.get(f"{key}.queue_time", values.duration, spec.get("queue_time", 1)),
            outcomes=self.outcomes(f"{key}.outcomes", spec.get("outcomes", ["COMPLETED"])),
            counters=None if isinstance(counters, list) else self.counters(key, counters),
            run_counters=self.run_counters(key, counters),
            downstream=self.ids(f"{key}.downstream", spec.get("downstream", [])),
            data_driven=self.get(
                f"{key}.data_driven", values.boolean, spec.get("data_driven", True)
            ),
            data_id=self.optional(spec, "data_id", values.integer),
            data_state=self.get(
                f"{key}.data",
                lambda v: values.choice(v, ("present", "deleted")),
                spec.get("data", "present"),
            ),
            history=self.history(f"{key}.history", spec.get("history", [])),
            **self.list_running(f"{key}.list_running", spec.get("list_running", {})),
        )

    def outcomes(self, key: str, value: Any) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.fail(key, "give at least one outcome")
        return tuple(self.get(key, _outcome, item) for item in items)

    def counters(self, key: str, value: Any) -> dict[str, int] | None:
        return None if value is None else self.get(f"{key}.counters", values.counters, value)

    def run_counters(self, key: str, value: Any) -> tuple[dict[str, int], ...]:
        if not isinstance(value, list):
            return ()
        if not value:
            raise self.fail(f"{key}.counters", "an empty list: give a mapping per run")
        return tuple(
            self.get(f"{key}.counters[{i}]", values.counters, item) for i, item in enumerate(value)
        )

    def ids(self, key: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list):
            value = [value]
        return tuple(self.get(key, values.integer, item) for item in value)

    def list_running(self, key: str, value: Any) -> dict[str, bool]:
        spec = self.mapping(key, value, {"execution_id", "estimate"})
        return {
            "list_execution_id": self.get(
                f"{key}.execution_id", values.boolean, spec.get("execution_id", True)
            ),
            "list_estimate": self.get(
                f"{key}.estimate", values.boolean, spec.get("estimate", True)
            ),
        }

    def history(self, key: str, value: Any) -> tuple[HistoryRun, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of past executions, got {value!r}")
        count = len(value)
        return tuple(
            self.history_run(f"{key}[{i}]", item, default_ago=3600.0 * (count - i))
            for i, item in enumerate(value)
        )

    def history_run(self, key: str, value: Any, default_ago: float) -> HistoryRun:
        spec = self.mapping(key, value, _HISTORY_KEYS)
        if "status" not in spec:
            raise self.fail(key, "every past execution needs a status")
        status = self.get(
            f"{key}.status", lambda v: values.choice(v, _HISTORY_STATUSES), spec["status"]
        )
        run = HistoryRun(
            status=status,
            started_ago=self.get(f"{key}.ago", values.duration, spec.get("ago", default_ago)),
            duration=self.get(f"{key}.duration", values.duration, spec.get("duration", 60)),
            execution_id=self.optional(spec, "id", lambda v: values.integer(v, minimum=1)),
            outcome=self.get(
                f"{key}.outcome",
                lambda v: values.choice(v, OUTCOMES),
                spec.get("outcome", "COMPLETED"),
            ),
            counters=self.counters(key, spec.get("counters")),
            user=self.get(f"{key}.user", values.text, spec.get("user", "admin")),
        )
        if status == "RUNNING" and run.started_ago >= run.duration:
            raise self.fail(key, "a RUNNING execution must have started less than its duration ago")
        return run

    def faults(self, value: Any, key: str) -> Faults:
        spec = self.mapping(key, value, _FAULT_KEYS)

        def rate(name: str) -> float:
            return self.get(f"{key}.{name}", _fraction, spec.get(name, 0))

        faults = Faults(
            seed=self.get(f"{key}.seed", values.integer, spec.get("seed", 0)),
            latency=self.latency(f"{key}.latency", spec.get("latency", 0)),
            error_rate=rate("error_rate"),
            error_status=self.get(
                f"{key}.error_status",
                lambda v: _http_error(values.integer(v)),
                spec.get("error_status", 500),
            ),
            retry_after=self.optional(spec, "retry_after", values.duration),
            drop_rate=rate("drop_rate"),
            lost_trigger_rate=rate("lost_trigger_rate"),
            paths=self.globs(f"{key}.paths", spec.get("paths", ["/api/*", "/rest/*"])),
            trigger_without_id=rate("trigger_without_id"),
            reuse_execution_id=rate("reuse_execution_id"),
            not_visible_for=self.get(
                f"{key}.not_visible_for", values.duration, spec.get("not_visible_for", 0)
            ),
            file_ids=self.ids(f"{key}.file_ids", spec.get("file_ids", [])),
            forbidden=self.ids(f"{key}.forbidden", spec.get("forbidden", [])),
            list_running=self.list_running_fault(f"{key}.list_running", spec.get("list_running")),
            hang_after=self.optional(spec, "hang_after", values.integer),
        )
        if faults.error_rate + faults.drop_rate > 1:
            raise self.fail(key, "error_rate + drop_rate cannot exceed 1")
        return faults

    def list_running_fault(self, key: str, value: Any) -> ListRunningFault | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = {"answer": value}
        spec = self.mapping(key, value, _LIST_RUNNING_FAULT_KEYS)
        calls = spec.get("calls")
        return ListRunningFault(
            answer=self.get(
                f"{key}.answer",
                lambda v: values.choice(str(v), LIST_RUNNING_ANSWERS),
                spec.get("answer", "html"),
            ),
            rate=self.get(f"{key}.rate", _fraction, spec.get("rate", 1)),
            after=self.get(f"{key}.after", values.integer, spec.get("after", 0)),
            calls=None if calls is None else self.get(f"{key}.calls", values.integer, calls),
        )

    def latency(self, key: str, value: Any) -> tuple[float, float]:
        if isinstance(value, Mapping):
            spec = self.mapping(key, value, {"min", "max"})
            low = self.get(f"{key}.min", values.duration, spec.get("min", 0))
            high = self.get(f"{key}.max", values.duration, spec.get("max", low))
            if low > high:
                raise self.fail(key, f"min {low} is above max {high}")
            return low, high
        return self.get(key, values.duration_range, value)

    def globs(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of path patterns like '/api/*', got {value!r}")
        return tuple(self.get(key, values.text, item) for item in value)


def _version(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    parts = text.split(".")
    if not text or not all(part.isdigit() for part in parts):
        raise ValueError(f"expected a Datameer version like '7.5.2', got {value!r}")
    return text


def _outcome(value: Any) -> str:
    """A known outcome, or one of the raw statuses a careless server ends runs with."""
    if value is None:
        return "null"
    return values.choice(value, (*OUTCOMES, *UNKNOWN_OUTCOMES))


def _fraction(value: Any) -> float:
    return values.number(value, 0.0, 1.0)


def _http_error(code: int) -> int:
    if not 500 <= code <= 599:
        raise ValueError(f"expected a 5xx status, got {code}")
    return code


def _check_unique(reader: _Reader, artifacts: tuple[Artifact, ...]) -> None:
    for label in ("file_id", "configuration_id", "uuid", "path", "data_id"):
        seen: dict[Any, int] = {}
        for index, artifact in enumerate(artifacts):
            value = getattr(artifact, label)
            if value is not None and value in seen:
                raise reader.fail(
                    f"artifacts[{index}].{label}",
                    f"{value!r} is already used by artifacts[{seen[value]}]",
                )
            seen[value] = index
    _check_history_ids(reader, artifacts)


def _check_history_ids(reader: _Reader, artifacts: tuple[Artifact, ...]) -> None:
    seen: set[int] = set()
    for index, artifact in enumerate(artifacts):
        for run in artifact.history:
            if run.execution_id is not None and run.execution_id in seen:
                raise reader.fail(
                    f"artifacts[{index}].history",
                    f"execution id {run.execution_id} is used twice",
                )
            if run.execution_id is not None:
                seen.add(run.execution_id)


def _check_downstream(reader: _Reader, artifacts: tuple[Artifact, ...]) -> None:
    known = {a.file_id: a for a in artifacts}
    for index, artifact in enumerate(artifacts):
        for target in artifact.downstream:
            if target not in known:
                raise reader.fail(
                    f"artifacts[{index}].downstream", f"file id {target} is not an artifact"
                )
    cycle = _find_cycle({a.file_id: a.downstream for a in artifacts})
    if cycle:
        raise reader.fail(
            "artifacts", "downstream links form a cycle: " + " → ".join(map(str, cycle))
        )


def _find_cycle(links: Mapping[int, tuple[int, ...]]) -> list[int]:
    """One cycle of the downstream graph (iterative DFS), or an empty list."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    for root in links:
        if state.get(root):
            continue
        path = [root]
        stack = [iter(links[root])]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(links[child]))
    return []


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
