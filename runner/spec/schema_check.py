"""Validate a document against ``pipeline.schema.json`` (or another shipped schema, e.g. the
emulator's ``scenario.schema.json``); each error becomes a FileProblem.

jsonschema (and ``runner.spec.messages``, built on its errors) is imported only when the
quick check (``runner.spec.quick_check``) says a document is invalid, or cannot answer:
a valid file, what every run reads, never pays for the import (a sixth of a second).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runner.errors import FileProblem
from runner.spec.document import Document, JsonPath
from runner.spec.patterns import compile_pattern
from runner.spec.quick_check import Check, UnsupportedKeywordError, compile_check
from runner.spec.schema_files import load_schema

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]


@functools.cache
def _validator_class() -> Any:
    """jsonschema's Draft 2020-12 validator with ECMA-262's ``$`` in ``pattern``."""
    from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError

    def pattern(
        validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        """jsonschema's ``pattern`` keyword, with ECMA-262's ``$`` (see runner.spec.patterns)."""
        if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


def pipeline_validator() -> Any:
    """The validator of the pipeline schema (built once per process)."""
    return schema_validator("pipeline")


@functools.cache
def schema_validator(name: str) -> Any:
    """The validator of shipped schema ``name`` (built once per process)."""
    return _validator_class()(load_schema(name))


@functools.cache
def _quick_check(name: str) -> Check | None:
    try:
        return compile_check(load_schema(name))
    except UnsupportedKeywordError:  # a keyword added to the schema that quick_check lacks
        return None


def schema_problems(
    document: Document,
    value: Any,
    *,
    skip: frozenset[JsonPath] = frozenset(),
    schema_name: str = "pipeline",
    at: JsonPath = (),
) -> list[FileProblem]:
    """Every schema error in ``value``, located through ``document``.

    Findings at or under a path in ``skip`` are dropped: those values were
    already reported (a failed interpolation) and the schema would only add noise.
    ``value`` is checked against schema ``schema_name``; ``at`` is where it sits in
    ``document`` (a pipeline's inline ``emulator:`` scenario is at ``("emulator",)``),
    so that messages name and locate it from the document's root.
    """
    quick = _quick_check(schema_name)
    if quick is not None and quick(value):
        return []  # valid: skip jsonschema, which takes seconds on a big file
    from runner.spec.messages import describe  # imports jsonschema

    schema = load_schema(schema_name)
    findings = [
        (finding, error.instance is None)
        for error in schema_validator(schema_name).iter_errors(value)
        for finding in describe(_placed(error, at), schema)
        if not any(finding.path[: len(path)] == path for path in skip)
    ]
    misspelt = {(f.path[:-1], f.suggested_key) for f, _ in findings if f.suggested_key}
    return [
        document.problem(finding.path, finding.message, at_key=finding.at_key or empty)
        for finding, empty in findings
        if (finding.path, finding.missing_key) not in misspelt
    ]


def _placed(error: ValidationError, at: JsonPath) -> ValidationError:
    """``error`` with its path starting at ``at`` (its sub-errors' paths follow it)."""
    error.path.extendleft(reversed(at))
    return error
