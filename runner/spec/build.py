"""A schema-valid pipeline value → the typed ``runner.model.Pipeline``.

Durations become seconds, references ``JobRef``s, and ``defaults`` are merged
into every job: a job's own ``retry:`` keys override the defaults' keys one by
one, its other policies replace the default whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from runner.model import (
    AlreadyRunning,
    CounterExpectation,
    Job,
    Location,
    Mode,
    OnFailure,
    Pipeline,
    RetryPolicy,
    RunPolicies,
    ServerSettings,
    WarningsAs,
    When,
)
from runner.reference import JobRef, RefKind
from runner.spec.document import Document
from runner.spec.durations import parse_duration
from runner.spec.fields import beside_file, needs_of, reference_key

_COMPARISON = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*")


def build_pipeline(
    value: Mapping[str, Any], document: Document, *, path: str, base_dir: str
) -> Pipeline:
    """The typed pipeline of ``value`` (which the schema and the checks accepted)."""
    defaults = value.get("defaults", {})
    jobs = {name: _job(name, spec, defaults, document) for name, spec in value["jobs"].items()}
    emulator = value.get("emulator")
    return Pipeline(
        name=value["name"],
        path=path,
        version=int(value["version"]),
        jobs=jobs,
        mode=Mode(value.get("mode", Mode.AUTO.value)),
        server=_server(value.get("server", {}), base_dir),
        variables={name: workbook_value(v) for name, v in value.get("variables", {}).items()},
        policies=_policies(value.get("policies", {})),
        emulator_scenario=beside_file(emulator, base_dir)
        if isinstance(emulator, str)
        else emulator,
    )


def workbook_value(value: str | float | bool) -> str:
    """A workbook variable as the API sends it: text; ``true``/``false``; ``5`` not ``5.0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _job(
    name: str, spec: Mapping[str, Any], defaults: Mapping[str, Any], document: Document
) -> Job:
    where = document.position(("jobs", name), at_key=True)
    timeout = spec.get("timeout", defaults.get("timeout"))
    estimate = spec.get("estimate")
    return Job(
        name=name,
        ref=_reference(spec),
        needs=tuple(need for need, _ in needs_of(spec)),
        when=When(spec.get("when", When.ALL_SUCCESS.value)),
        retry=_retry(_frozen({**defaults.get("retry", {}), **spec.get("retry", {})})),
        timeout=None if timeout is None else parse_duration(timeout),
        warnings=WarningsAs(spec.get("warnings", defaults.get("warnings", "success"))),
        already_running=AlreadyRunning(
            spec.get("already_running", defaults.get("already_running", "wait"))
        ),
        expect=tuple(_expectation(c, v) for c, v in spec.get("expect", {}).items()),
        estimate=None if estimate is None else parse_duration(estimate),
        location=Location(document.filename, where.line, where.col),
        configuration_id=spec.get("configuration_id"),
    )


def _reference(spec: Mapping[str, Any]) -> JobRef:
    key = reference_key(spec)
    if key == "file_id":
        return JobRef(RefKind.FILE_ID, str(int(spec[key])))
    if key == "uuid":
        return JobRef(RefKind.UUID, str(spec[key]).lower())
    return JobRef(RefKind.PATH, str(spec[key]))


def _frozen(retry: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(retry.items()))


# Most jobs share their retry policy: build each distinct one once.
@functools.lru_cache(maxsize=256)
def _retry(items: tuple[tuple[str, Any], ...]) -> RetryPolicy:
    merged = dict(items)
    base = RetryPolicy()
    return RetryPolicy(
        retries=int(merged.get("retries", base.retries)),
        delay=parse_duration(merged.get("delay", base.delay)),
        backoff=float(merged.get("backoff", base.backoff)),
        max_delay=parse_duration(merged.get("max_delay", base.max_delay)),
        jitter=bool(merged.get("jitter", base.jitter)),
        retry_on=frozenset(merged.get("retry_on", base.retry_on)),
    )


def _expectation(counter: str, expected: float | str) -> CounterExpectation:
    if isinstance(expected, int | float):
        return CounterExpectation(counter, "==", float(expected))
    match = _COMPARISON.fullmatch(expected)
    assert match is not None, "the schema admits only comparisons"
    return CounterExpectation(counter, match.group(1), float(match.group(2)))


def _server(server: Mapping[str, Any], base_dir: str) -> ServerSettings:
    # An empty value (``${DATAMEER_URL:-}``) means "not set here".
    ca_bundle = server.get("ca_bundle") or None
    return ServerSettings(
        url=server.get("url") or None,
        user=server.get("user") or None,
        password=server.get("password") or None,
        ca_bundle=None if ca_bundle is None else beside_file(ca_bundle, base_dir),
        verify_tls=bool(server.get("verify_tls", True)),
        profile=server.get("profile") or None,
        version=(server.get("version") or "").strip() or None,
        path_encoding=server.get("path_encoding") or None,
    )


def _policies(policies: Mapping[str, Any]) -> RunPolicies:
    base = RunPolicies()
    timeout = policies.get("timeout")
    return RunPolicies(
        on_failure=OnFailure(policies.get("on_failure", base.on_failure.value)),
        max_parallel=policies.get("max_parallel"),
        timeout=None if timeout is None else parse_duration(timeout),
        poll_interval=parse_duration(policies.get("poll_interval", base.poll_interval)),
        max_poll_interval=parse_duration(policies.get("max_poll_interval", base.max_poll_interval)),
    )
