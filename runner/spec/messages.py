"""jsonschema errors → one sentence each, saying what was expected, where, and what was found.

A schema error says *which keyword* failed; the user wants to know which key is
wrong and what to write instead.  Each keyword has a handler; subschemas whose
``title`` is listed in ``_EXPECTED`` (durations, UUIDs, job names ...) are
described by that phrase instead of by their regex.  ``anyOf``/``oneOf`` errors
report the best-matching branch rather than every branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import (  # type: ignore[import-untyped]
    ValidationError,
    best_match,
)

from runner.spec.document import JsonPath
from runner.spec.fields import REFERENCE_KEYS
from runner.spec.naming import (
    closest,
    did_you_mean,
    is_secret,
    quoted,
    shown,
    subject,
    where,
)

_EXPECTED = {
    "Slug": "a slug: lowercase letters and digits, words joined by - or _",
    "Job name": "a job name (letters, digits, _, . and -, starting with a letter or _)",
    "UUID": "a UUID like f8d450cd-f065-4abb-a232-27cd20c48c2b",
    "Artifact path": (
        "an absolute path starting with /, like /Analytics/Sales, with no . or .. segment "
        "and no control character"
    ),
    "Server URL": "an http:// or https:// URL",
    "Duration": "a duration like 30s, 5m or 2h",
    "Positive duration": "a duration longer than 0, like 30s, 5m or 2h",
    "Counter expectation": "a number or a comparison like '> 0', '>= 10' or '== 0'",
    "Job": "a mapping with file_id, uuid or path",
    # Titles of the emulator's scenario.schema.json.
    "Whole number": "a whole number",
    "Datameer version": "a Datameer version like '7.5.2'",
    "Time scale": "a number >= 0.000001 (emulated seconds per real second) or 'manual'",
    "Clock": "one of real, manual",
    "Duration range": "a duration like 20s, 2m or 1h30m, or [min, max] of two durations",
    "Outcomes": (
        "at least one outcome of COMPLETED, COMPLETED_WITH_WARNINGS, ERROR, CANCELED "
        "(or KILLED, FAILED, ABORTED, null), or a list of them"
    ),
    "Run outcome": (
        "one of COMPLETED, COMPLETED_WITH_WARNINGS, ERROR, CANCELED (or KILLED, FAILED, "
        "ABORTED, null)"
    ),
    "History status": (
        "one of COMPLETED, COMPLETED_WITH_WARNINGS, ERROR, CANCELED, RUNNING, QUEUED"
    ),
    "Final outcome": "one of COMPLETED, COMPLETED_WITH_WARNINGS, ERROR, CANCELED",
    "Artifact kind": "one of import_job, workbook, export_job",
    "Data state": "one of present, deleted",
    "Emulated path": (
        "a path that starts with '/' and has no empty segment, like /Analytics/Sales"
    ),
    "Counters": ("a mapping of counter name to whole number (or a list of them, one per run)"),
    "Counter values": "a mapping of counter name to whole number",
    "File ids": "a file id or a list of file ids",
    "Permissions": "'all' or a list of file ids, uuids and path globs",
    "Latency": "a duration, [min, max] or {min: ..., max: ...}",
    "List-running answer": "one of html, garbage, huge, 429",
    "List-running fault": (
        "one of html, garbage, huge, 429, or a mapping {answer, rate, after, calls}"
    ),
    "Artifacts": "a list of artifacts",
    "Scenario user": "a mapping like {password: ..., can: [...]}",
}
# For an anyOf whose every branch wants another type than the value has.
_EXPECTED_TYPES = {
    "Needs": "a job name or a list of job names",
    "Emulator scenario": "a scenario mapping or the path of a scenario file",
}
_NAME_RULES = {
    "Job name": "use letters, digits, _, . and -, starting with a letter or _",
    "Counter name": "use letters, digits, _ and ., starting with a letter or _",
    "Variable name": "a name cannot be empty",
}
_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


_DESCRIBED_BY_TITLE = ("type", "pattern", "anyOf", "oneOf")


@dataclass(frozen=True)
class Finding:
    """One problem the schema found: where (a path, at its key or its value) and what."""

    path: JsonPath
    message: str
    at_key: bool = False
    # An unknown key that looks like a misspelt missing one explains both:
    # the loader drops the "missing" finding then.
    missing_key: str | None = None
    suggested_key: str | None = None


Handler = Callable[[ValidationError, JsonPath, Mapping[str, Any]], list[Finding]]


def describe(error: ValidationError, schema: Mapping[str, Any]) -> list[Finding]:
    """The findings one jsonschema error stands for (several for several unknown keys)."""
    path = tuple(error.absolute_path)
    if "propertyNames" in error.schema_path:
        return [_bad_name(error, path)]
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    # The job's oneOf is about file_id/uuid/path, not about the job's shape.
    job_reference = title == "Job" and error.validator == "oneOf"
    if error.validator in _DESCRIBED_BY_TITLE and title in _EXPECTED and not job_reference:
        return [_expected(path, _EXPECTED[title], error.instance)]
    handler = _HANDLERS.get(str(error.validator), _generic)
    return handler(error, path, schema)


def _expected(path: JsonPath, expected: str, got: Any) -> Finding:
    return Finding(path, f"{subject(path)}: expected {expected}, got {shown(got, path)}")


def _bad_name(error: ValidationError, path: JsonPath) -> Finding:
    name = str(error.instance)
    title = str(error.schema.get("title", "Name")) if isinstance(error.schema, dict) else "Name"
    rule = _NAME_RULES.get(title, error.message)
    if error.validator == "maxLength":
        rule = f"at most {error.validator_value} characters"
    return Finding((*path, name), f"invalid {title.lower()} {name!r}: {rule}", at_key=True)


def _unknown_keys(
    error: ValidationError, path: JsonPath, schema: Mapping[str, Any]
) -> list[Finding]:
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    extras = [
        key
        for key in error.instance
        if key not in known and not any(re.search(pattern, key) for pattern in patterns)
    ]
    return [_unknown_key(key, path, known, schema) for key in extras]


def _unknown_key(
    key: str, path: JsonPath, known: Mapping[str, Any], schema: Mapping[str, Any]
) -> Finding:
    suggestion = closest(key, known)
    hint = f"; did you mean '{suggestion}'?" if suggestion else _elsewhere(key, known, schema)
    message = f"unknown key {quoted(key)} {where(path)}{hint}"
    return Finding((*path, key), message, at_key=True, suggested_key=suggestion)


def _elsewhere(key: str, known: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """``"; max_parallel belongs under policies"`` when ``key`` is valid in another place."""
    top = schema["properties"]
    if "defaults" not in top:  # not the pipeline schema: no other place to point at
        return ""
    defs = schema["$defs"]
    places = (
        ("under defaults", top["defaults"]["properties"]),
        ("under policies", top["policies"]["properties"]),
        ("under retry", defs["retry"]["properties"]),
        ("in a job", defs["job"]["properties"]),
        ("under server", defs["server"]["properties"]),
        ("at the top level", top),
    )
    found = [place for place, keys in places if key in keys and keys is not known]
    return f"; {key} belongs {' or '.join(found[:2])}" if found else ""


def _missing(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    missing = [key for key in error.validator_value if key not in error.instance]
    return [
        Finding(path, f"missing required key '{key}' {where(path)}", True, missing_key=key)
        for key in missing
    ]


def _one_of(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    if error.schema.get("title") != "Job":
        return _any_of(error, path, schema)
    if not isinstance(error.instance, dict):
        return []  # the type error says it all
    present = [key for key in REFERENCE_KEYS if key in error.instance]
    has = f"it has {_listed(present)}" if present else "it has none"
    message = f"job {quoted(path[-1])} needs exactly one of file_id, uuid, path ({has})"
    return [Finding(path, message, at_key=True)]


def _listed(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else words[0]


def _any_of(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    branches = list(error.context or ())
    # A branch wanting another type than the value has is not what the user meant.
    fitting = [b for b in branches if not (b.validator == "type" and not b.relative_path)]
    if branches and not fitting:
        expected = _EXPECTED_TYPES.get(str(error.schema.get("title")))
        if expected is None:
            names = [name for b in branches for name in _type_names(b.validator_value)]
            expected = _type_phrase(list(dict.fromkeys(names)))
        return [_expected(path, expected, error.instance)]
    best = best_match(fitting) if fitting else None
    return describe(best, schema) if best is not None else _generic(error, path, schema)


def _type_names(types: str | list[str]) -> list[str]:
    return [types] if isinstance(types, str) else list(types)


def _type_phrase(types: str | list[str]) -> str:
    names = _type_names(types)
    if len(names) == 1:
        return _TYPES.get(names[0], names[0])
    phrases = ["true/false" if name == "boolean" else _TYPES.get(name, name) for name in names]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _type(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    return [_expected(path, _type_phrase(error.validator_value), error.instance)]


def _enum(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    options = [str(option) for option in error.validator_value]
    hint = did_you_mean(error.instance, options) if isinstance(error.instance, str) else ""
    got = shown(error.instance, path)
    message = f"{subject(path)}: expected one of {', '.join(options)}, got {got}{hint}"
    return [Finding(path, message)]


def _const(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    return [_expected(path, repr(error.validator_value), error.instance)]


def _bound(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    words = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
    }
    expected = f"{words[str(error.validator)]} {error.validator_value}"
    return [_expected(path, expected, error.instance)]


def _few_entries(
    error: ValidationError, path: JsonPath, schema: Mapping[str, Any]
) -> list[Finding]:
    if path == ("jobs",):
        return [Finding(path, "jobs: expected at least one job, got none", at_key=True)]
    return [Finding(path, f"{subject(path)}: expected at least {error.validator_value} entries")]


def _duplicates(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    seen: list[Any] = []
    for index, item in enumerate(error.instance):
        if item in seen:
            return [Finding((*path, index), f"{subject(path)} lists {shown(item)} more than once")]
        seen.append(item)
    return _generic(error, path, schema)


def _length(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    if error.validator == "minLength":
        if error.validator_value == 1:
            return [_expected(path, "a non-empty string", error.instance)]
        expected = f"at least {error.validator_value} characters"
    else:
        expected = f"at most {error.validator_value} characters"
    return [_expected(path, expected, error.instance)]


def _generic(error: ValidationError, path: JsonPath, schema: Mapping[str, Any]) -> list[Finding]:
    # jsonschema's own message quotes the value: never for a password.
    detail = "the value (hidden) is not valid" if is_secret(path) else error.message
    return [Finding(path, f"{subject(path)}: {detail}")]


_HANDLERS: dict[str, Handler] = {
    "additionalProperties": _unknown_keys,
    "required": _missing,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "minProperties": _few_entries,
    "uniqueItems": _duplicates,
    "minLength": _length,
    "maxLength": _length,
}
