"""The YAML composer: values, positions, keys as text, YAML 1.2 scalars, duplicates, merges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import PipelineFileError
from runner.spec import yaml_errors
from runner.spec.document import Position, format_path
from runner.spec.yaml_source import parse_document


def value_of(text: str) -> Any:
    return parse_document(text, "f.yaml").document.value["v"]


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        pytest.param("42", 42, id="int"),
        pytest.param("-7", -7, id="negative"),
        pytest.param("0o17", 15, id="octal"),
        pytest.param("0x1F", 31, id="hex"),
        pytest.param("1.5", 1.5, id="float"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param(".inf", ".inf", id="infinity-is-not-json"),
        pytest.param(".nan", ".nan", id="nan-is-not-json"),
        pytest.param("1e999", "1e999", id="overflow-is-not-a-number"),
        pytest.param("true", True, id="true"),
        pytest.param("False", False, id="false"),
        pytest.param("null", None, id="null"),
        pytest.param("~", None, id="tilde"),
        pytest.param("", None, id="empty"),
        pytest.param("yes", "yes", id="yes-is-text"),
        pytest.param("NO", "NO", id="norway-is-text"),
        pytest.param("on", "on", id="on-is-text"),
        pytest.param("2026-11-28", "2026-11-28", id="date-is-text"),
        pytest.param("017", 17, id="leading-zero-is-decimal"),
        pytest.param("1_000", "1_000", id="underscores-are-text"),
        pytest.param("30s", "30s", id="duration-text"),
        pytest.param("'42'", "42", id="quoted-number"),
        pytest.param('"true"', "true", id="quoted-bool"),
        pytest.param("!!str 42", "42", id="str-tag"),
        pytest.param("!!int '42'", 42, id="int-tag"),
        pytest.param("!!float 1", 1.0, id="float-tag"),
        pytest.param("! 42", "42", id="non-specific-tag"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(scalar: str, expected: Any) -> None:
    value = value_of(f"v: {scalar}\n")
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("v: !!int abc\n", "1:4: 'abc' is not a valid !!int", id="bad-int"),
        pytest.param("v: !!bool yes\n", "1:4: 'yes' is not a valid !!bool", id="bad-bool"),
        pytest.param(
            "v: !!timestamp 2026-11-28\n", "1:4: unsupported YAML tag !!timestamp", id="ts"
        ),
        pytest.param("v: !local x\n", "1:4: unsupported YAML tag !local", id="local-tag"),
        pytest.param("v: !!set {a}\n", "1:4: unsupported YAML tag !!set", id="set"),
        pytest.param("v: !!omap [a: 1]\n", "1:4: unsupported YAML tag !!omap", id="omap"),
    ],
)
def test_tags_other_than_the_core_ones_are_refused(text: str, message: str) -> None:
    with pytest.raises(PipelineFileError) as caught:
        parse_document(text, "f.yaml")
    assert str(caught.value) == f"f.yaml:{message}"


def test_keys_are_the_text_written() -> None:
    value = parse_document("on: 1\n2: b\nnull: c\ntrue: d\n", "f.yaml").document.value
    assert value == {"on": 1, "2": "b", "null": "c", "true": "d"}


def test_positions_of_values_and_keys() -> None:
    text = "version: 1\njobs:\n  load:\n    needs: [a, b]\n    file_id: 3\n"
    document = parse_document(text, "f.yaml").document

    assert document.values[()] == Position(1, 1)
    assert document.keys[("jobs",)] == Position(2, 1)
    assert document.keys[("jobs", "load")] == Position(3, 3)
    assert document.values[("jobs", "load")] == Position(4, 5)
    assert document.values[("jobs", "load", "needs", 1)] == Position(4, 16)
    assert document.values[("jobs", "load", "file_id")] == Position(5, 14)
    # A path with no node of its own is found at its nearest ancestor.
    assert document.position(("jobs", "load", "retry", "delay")) == Position(4, 5)
    assert document.position(("jobs", "load"), at_key=True) == Position(3, 3)


def test_positions_count_characters_not_bytes() -> None:
    document = parse_document("é: ü\nv: [ä, ö]\n", "f.yaml").document
    assert document.values[("v", 1)] == Position(2, 8)


def test_every_duplicate_key_is_reported_and_the_last_value_kept() -> None:
    text = "a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n"
    parsed = parse_document(text, "f.yaml")

    assert [str(problem) for problem in parsed.problems] == [
        "f.yaml:3:1: duplicate key 'a' (first on line 1)",
        "f.yaml:6:3: duplicate key 'x' (first on line 5)",
    ]
    assert parsed.document.value == {"a": 3, "b": 2, "c": {"x": 2}}


def test_merge_keys_explicit_keys_win_then_earlier_merges() -> None:
    text = (
        "base: &base {a: 1, b: 1, c: 1}\n"
        "more: &more {b: 2, d: 2}\n"
        "v:\n"
        "  c: 3\n"
        "  <<: [*base, *more]\n"
    )
    assert value_of(text) == {"c": 3, "a": 1, "b": 1, "d": 2}


def test_aliases_share_values_without_copying_positions() -> None:
    text = "x: &x {retries: 2}\nv: [*x, *x]\n"
    document = parse_document(text, "f.yaml").document

    assert document.value["v"] == [{"retries": 2}, {"retries": 2}]
    assert document.position(("v", 1, "retries")) == Position(2, 9)


def test_a_document_of_only_comments_is_empty() -> None:
    assert parse_document("# nothing\n", "f.yaml").document.value is None


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param((), "$", id="root"),
        pytest.param(("jobs", "load", "needs", 0), "$.jobs.load.needs[0]", id="simple"),
        pytest.param(("jobs", "load-it", "x"), "$.jobs['load-it'].x", id="dash"),
        pytest.param(("variables", "it's"), "$.variables['it\\'s']", id="quote"),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_the_python_parser_composes_what_libyaml_composes(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = example.read_text(encoding="utf-8")
    with_libyaml = parse_document(text, "f.yaml").document
    monkeypatch.setattr(yaml_errors, "_CParser", None)  # as when PyYAML lacks libyaml
    pure_python = parse_document(text, "f.yaml").document

    assert pure_python == with_libyaml


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("v: " + "[" * 10_000, id="flow"),
        pytest.param("".join(f"{' ' * depth}- \n" for depth in range(2_000)), id="block"),
    ],
)
def test_the_python_parser_also_stops_at_the_depth_bound(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yaml_errors, "_CParser", None)
    with pytest.raises(PipelineFileError, match="nests deeper than 100 levels"):
        parse_document(text, "f.yaml")
