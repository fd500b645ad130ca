"""The lenient request-body reader: strict JSON, and the reference's non-strict example."""

from __future__ import annotations

from typing import Any

import pytest

from runner.emulator.lenient_json import loads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('{"a": [1, 2]}', {"a": [1, 2]}, id="strict"),
        pytest.param(
            '{ variables : { "foo": "fooValue" }, "fileIds" : [4, ]}',
            {"variables": {"foo": "fooValue"}, "fileIds": [4]},
            id="reference-example",
        ),
        pytest.param("{a: 1, b: 2,}", {"a": 1, "b": 2}, id="trailing-comma-object"),
        pytest.param("{'k': 'it\\'s'}", {"k": "it's"}, id="single-quotes"),
        pytest.param("{k: 'say \"hi\"'}", {"k": 'say "hi"'}, id="double-in-single"),
        pytest.param('{k: "tab\\there"}', {"k": "tab\there"}, id="escape"),
        pytest.param(
            "{k: [true, false, null, -1.5e2]}", {"k": [True, False, None, -150.0]}, id="lit"
        ),
        pytest.param("[]", [], id="empty-array"),
        pytest.param("{}", {}, id="empty-object"),
        pytest.param("{run-date: 1}", {"run-date": 1}, id="dash-key"),
    ],
)
def test_accepted(text: str, expected: Any) -> None:
    assert loads(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{a: }", id="missing-value"),
        pytest.param("{a 1}", id="missing-colon"),
        pytest.param("{a: 1", id="unclosed"),
        pytest.param("{a: 'x}", id="unterminated-string"),
        pytest.param("{a: 1} trailing", id="trailing-text"),
        pytest.param("{a: yes}", id="bare-word-value"),
        pytest.param("{a: " + "[" * 100 + "]" * 100 + "}", id="too-deep"),
        pytest.param("", id="empty"),
    ],
)
def test_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"offset|Expecting"):
        loads(text)
