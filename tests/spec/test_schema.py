"""The pipeline schema: a valid, documented 2020-12 schema, shipped in the package, and the
fast yes/no check agrees with jsonschema on it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from runner.errors import PipelineFileError, UsageError
from runner.spec.quick_check import UnsupportedKeywordError, compile_check, json_equal
from runner.spec.schema_check import pipeline_validator
from runner.spec.schema_files import known_schemas, load_schema, schema_text
from runner.spec.yaml_source import parse_document
from tests.spec.strategies import NEAR_VALID, PIPELINES

SCHEMA = load_schema("pipeline")
REPOSITORY_SCHEMA = Path(__file__).parents[2] / "schemas" / "pipeline.schema.json"
CORPUS = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://dmpipe.dev/schemas/pipeline.schema.json"


def test_the_package_ships_the_repository_schema() -> None:
    shipped = resources.files("runner") / "schemas" / "pipeline.schema.json"
    assert shipped.read_text(encoding="utf-8") == REPOSITORY_SCHEMA.read_text(encoding="utf-8")
    assert schema_text("pipeline") == REPOSITORY_SCHEMA.read_text(encoding="utf-8")


def test_known_schemas_and_an_unknown_name() -> None:
    assert "pipeline" in known_schemas()
    with pytest.raises(UsageError, match=r"no such schema 'nope'; known schemas: .*pipeline"):
        schema_text("nope")


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` chain merged in (siblings win, as for annotations)."""
    merged = dict(schema)
    while "$ref" in merged:
        target = SCHEMA["$defs"][merged.pop("$ref").rsplit("/", 1)[-1]]
        merged = {**target, **merged}
    return merged


def properties(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema below ``schema``, with a dotted name."""
    schema = resolve(schema)
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", resolve(sub)
        yield from properties(sub, f"{where}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from properties(schema["additionalProperties"], f"{where}.*")


def test_every_property_has_a_title_and_a_description() -> None:
    undocumented = [
        name
        for name, schema in properties(SCHEMA, "$")
        if not schema.get("title") or not schema.get("description")
    ]
    assert undocumented == []


def test_closed_objects_say_so() -> None:
    open_objects = [
        name
        for name, schema in properties(SCHEMA, "$")
        if "properties" in schema and "additionalProperties" not in schema
    ]
    assert open_objects == []


def examples(schema: Any) -> Iterator[tuple[dict[str, Any], Any]]:
    if isinstance(schema, dict):
        for example in schema.get("examples", []):
            yield schema, example
        for value in schema.values():
            yield from examples(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from examples(item)


def test_every_example_is_valid_where_it_stands() -> None:
    invalid = []
    for schema, example in examples(SCHEMA):
        subschema = {**resolve(schema), "$defs": SCHEMA["$defs"]}
        subschema.pop("examples")
        if any(Draft202012Validator(subschema).iter_errors(example)):
            invalid.append(example)
    assert invalid == []


# -- quick_check: the fast answer jsonschema is skipped for -----------------------------

QUICK = compile_check(SCHEMA)


def agrees(value: Any) -> bool:
    return QUICK(value) == (not any(pipeline_validator().iter_errors(value)))


def corpus_values() -> list[Any]:
    values = []
    for path in [*CORPUS, *EXAMPLES]:
        # The YAML-level cases of the corpus have no value to check.
        with contextlib.suppress(PipelineFileError):
            values.append(parse_document(path.read_text("utf-8"), path.name).document.value)
    return values


def test_quick_check_agrees_on_the_corpus_and_the_examples() -> None:
    values = corpus_values()
    assert len(values) > 40
    assert [agrees(value) for value in values] == [True] * len(values)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(PIPELINES | NEAR_VALID)
def test_quick_check_agrees_with_jsonschema(value: dict[str, Any]) -> None:
    assert agrees(value)


@pytest.mark.slow
def test_the_near_valid_strategy_reaches_both_answers() -> None:
    found: list[bool] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(NEAR_VALID)
    def collect(value: dict[str, Any]) -> None:
        found.append(QUICK(value))

    collect()
    assert any(found)
    assert not all(found)


@pytest.mark.parametrize(
    ("one", "other", "equal"),
    [
        pytest.param(1, 1.0, True, id="int-float"),
        pytest.param(True, 1, False, id="bool-int"),
        pytest.param(False, 0, False, id="bool-zero"),
        pytest.param([1, {"a": True}], [1.0, {"a": True}], True, id="nested"),
        pytest.param({"a": 1}, {"a": True}, False, id="nested-bool"),
        pytest.param([1], {"0": 1}, False, id="list-dict"),
    ],
)
def test_json_equality(one: Any, other: Any, equal: bool) -> None:
    assert json_equal(one, other) is equal


def test_schema_text_is_json() -> None:
    assert json.loads(schema_text("pipeline")) == SCHEMA


def test_quick_check_refuses_keywords_it_does_not_implement() -> None:
    # The loader then validates with jsonschema alone: slower, never wrong.
    with pytest.raises(UnsupportedKeywordError, match="dependentRequired"):
        compile_check({"type": "object", "dependentRequired": {"a": ["b"]}})
