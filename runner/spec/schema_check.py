"""Validate a document against ``pipeline.schema.json``; each error becomes a FileProblem."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

from runner.errors import FileProblem
from runner.spec.document import Document, JsonPath
from runner.spec.messages import describe
from runner.spec.patterns import compile_pattern
from runner.spec.quick_check import Check, UnsupportedKeywordError, compile_check
from runner.spec.schema_files import load_schema


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``pattern`` keyword, with ECMA-262's ``$`` (see runner.spec.patterns)."""
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@functools.cache
def pipeline_validator() -> Any:
    """The validator of the pipeline schema (built once per process)."""
    return _Validator(load_schema("pipeline"))


@functools.cache
def _quick_check() -> Check | None:
    try:
        return compile_check(load_schema("pipeline"))
    except UnsupportedKeywordError:  # a keyword added to the schema that quick_check lacks
        return None


def schema_problems(
    document: Document, value: Any, *, skip: frozenset[JsonPath] = frozenset()
) -> list[FileProblem]:
    """Every schema error in ``value``, located through ``document``.

    Findings at or under a path in ``skip`` are dropped: those values were
    already reported (a failed interpolation) and the schema would only add noise.
    """
    quick = _quick_check()
    if quick is not None and quick(value):
        return []  # valid: skip jsonschema, which takes seconds on a big file
    schema = load_schema("pipeline")
    findings = [
        (finding, error.instance is None)
        for error in pipeline_validator().iter_errors(value)
        for finding in describe(error, schema)
        if not any(finding.path[: len(path)] == path for path in skip)
    ]
    misspelt = {(f.path[:-1], f.suggested_key) for f, _ in findings if f.suggested_key}
    return [
        document.problem(finding.path, finding.message, at_key=finding.at_key or empty)
        for finding, empty in findings
        if (finding.path, finding.missing_key) not in misspelt
    ]
