"""A fast yes/no JSON Schema check for the keywords the pipeline schema uses.

jsonschema takes seconds on a 10,000-job file, almost all of it on files that
are valid.  ``compile_check(schema)`` turns the schema into nested closures
that only answer "valid?"; the loader asks jsonschema for the detailed errors
only when the answer is no.  The schema stays the single truth: the closures
are built from it, and a keyword outside the subset raises
``UnsupportedKeywordError`` so that the loader falls back to jsonschema for
everything.  A test compares the two answers on generated documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from runner.spec.patterns import compile_pattern

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default"}
)


class UnsupportedKeywordError(ValueError):
    """The schema uses a keyword this checker does not implement."""


def compile_check(schema: Mapping[str, Any]) -> Check:
    """A function answering whether a value is valid against ``schema`` (refs: ``#/$defs/...``)."""
    return _Compiler(schema).compile(schema)


def json_equal(one: Any, other: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1`` (Python says it is)."""
    if isinstance(one, bool) or isinstance(other, bool):
        return isinstance(one, bool) and isinstance(other, bool) and one == other
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(json_equal(one[k], other[k]) for k in one)
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(json_equal, one, other))
    containers = (dict, list)
    return not isinstance(one, containers) and not isinstance(other, containers) and one == other


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": lambda v: (
        _is_number(v) and (isinstance(v, int) or (math.isfinite(v) and float(v).is_integer()))
    ),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


_OBJECT_KEYWORDS = ("properties", "patternProperties", "additionalProperties")


class _Compiler:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.builders: dict[str, Callable[[Any], Check]] = {
            "$ref": self._ref,
            "type": self._type,
            "enum": self._enum,
            "const": self._const,
            "pattern": self._pattern,
            "minLength": lambda n: _when(str, lambda v: len(v) >= n),
            "maxLength": lambda n: _when(str, lambda v: len(v) <= n),
            "minimum": lambda n: _when_number(lambda v: v >= n),
            "maximum": lambda n: _when_number(lambda v: v <= n),
            "exclusiveMinimum": lambda n: _when_number(lambda v: v > n),
            "exclusiveMaximum": lambda n: _when_number(lambda v: v < n),
            "required": lambda keys: _when(dict, lambda v: all(k in v for k in keys)),
            "minProperties": lambda n: _when(dict, lambda v: len(v) >= n),
            "minItems": lambda n: _when(list, lambda v: len(v) >= n),
            "maxItems": lambda n: _when(list, lambda v: len(v) <= n),
            "propertyNames": self._property_names,
            "items": self._items,
            "uniqueItems": lambda unique: _when(list, _all_different if unique else _anything),
            "anyOf": self._any_of,
            "oneOf": self._one_of,
        }

    def compile(self, schema: Any) -> Check:
        if schema is True or schema is False:
            return lambda _: bool(schema)
        checks = [self._object(schema)] if any(k in schema for k in _OBJECT_KEYWORDS) else []
        for key, value in schema.items():
            if key in _ANNOTATIONS or key in _OBJECT_KEYWORDS:
                continue
            if key not in self.builders:
                raise UnsupportedKeywordError(f"keyword {key!r}")
            checks.append(self.builders[key](value))
        return _every(checks)

    def _ref(self, ref: str) -> Check:
        prefix = "#/$defs/"
        if not ref.startswith(prefix):
            raise UnsupportedKeywordError(f"$ref {ref!r}")
        name = ref[len(prefix) :]
        if name not in self.refs:
            # A placeholder first, so that a recursive definition compiles.
            self.refs[name] = lambda value: self.refs[name](value)
            self.refs[name] = self.compile(self.root["$defs"][name])
        return self.refs[name]

    def _type(self, names: str | list[str]) -> Check:
        if isinstance(names, str):
            return _TYPES[names]
        checks = [_TYPES[name] for name in names]
        return lambda value: any(check(value) for check in checks)

    def _enum(self, options: list[Any]) -> Check:
        return lambda value: any(json_equal(value, option) for option in options)

    def _const(self, constant: Any) -> Check:
        return lambda value: json_equal(value, constant)

    def _pattern(self, pattern: str) -> Check:
        # Compiled at its first use (then cached): most of the schema's patterns check
        # fields a given file does not have, and compiling them all cost each run ~2 ms.
        return _when(str, lambda value: compile_pattern(pattern).search(value) is not None)

    def _property_names(self, schema: Any) -> Check:
        check = self.compile(schema)
        return _when(dict, lambda value: all(check(key) for key in value))

    def _items(self, schema: Any) -> Check:
        check = self.compile(schema)
        return _when(list, lambda value: all(check(item) for item in value))

    def _any_of(self, schemas: list[Any]) -> Check:
        checks = [self.compile(schema) for schema in schemas]
        return lambda value: any(check(value) for check in checks)

    def _one_of(self, schemas: list[Any]) -> Check:
        checks = [self.compile(schema) for schema in schemas]
        return lambda value: sum(1 for check in checks if check(value)) == 1

    def _object(self, schema: Mapping[str, Any]) -> Check:
        """``properties``, ``patternProperties`` and ``additionalProperties`` together."""
        named = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        patterns = [
            (pattern, self.compile(sub))
            for pattern, sub in schema.get("patternProperties", {}).items()
        ]
        others = self.compile(schema.get("additionalProperties", True))

        def entry(key: str, item: Any) -> bool:
            matched = (
                [sub for pattern, sub in patterns if compile_pattern(pattern).search(key)]
                if patterns
                else []
            )
            if key in named:
                if not named[key](item):
                    return False
            elif not matched:
                return others(item)
            return all(sub(item) for sub in matched)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            # A loop rather than all(<generator>): this runs per job, and the
            # generator's set-up was a tenth of the check's time.
            for key, item in value.items():  # noqa: SIM110
                if not entry(key, item):
                    return False
            return True

        return check


def _every(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 - see _object
            if not check(value):
                return False
        return True

    return every


def _when(kind: type, check: Check) -> Check:
    """``check`` for values of ``kind``; others pass (a JSON Schema keyword applies to one type)."""
    return lambda value: not isinstance(value, kind) or check(value)


def _when_number(check: Check) -> Check:
    return lambda value: not _is_number(value) or check(value)


def _anything(_: Any) -> bool:
    return True


def _all_different(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(
        json_equal(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )
