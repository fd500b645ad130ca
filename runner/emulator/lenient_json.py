"""A forgiving JSON reader for request bodies, as lax as the servers that accept them.

The reference's sequential-trigger example sends ``{ variables : { "foo": "fooValue" },
"fileIds" : [4, ]}``: unquoted keys and trailing commas.  ``loads`` accepts
strict JSON plus unquoted keys, trailing commas and single-quoted strings;
anything else raises ``ValueError`` with the offset.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MAX_DEPTH = 64
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_SPACE = re.compile(r"\s*")
_LITERALS = {"true": True, "false": False, "null": None}


def loads(text: str) -> Any:
    """Parse ``text``: strict JSON first, then the lenient grammar."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    reader = _Reader(text)
    value = reader.value(0)
    reader.skip_space()
    if reader.pos != len(text):
        raise reader.error("unexpected text after the value")
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> ValueError:
        return ValueError(f"{message} at offset {self.pos}")

    def skip_space(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def value(self, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.error("nested too deeply")
        char = self.peek()
        if char == "{":
            return self.object(depth)
        if char == "[":
            return self.array(depth)
        if char in ("'", '"'):
            return self.string()
        return self.scalar()

    def object(self, depth: int) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        while self.peek() != "}":
            key = self.key()
            self.expect(":")
            result[key] = self.value(depth + 1)
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("}")
        return result

    def array(self, depth: int) -> list[Any]:
        self.expect("[")
        result: list[Any] = []
        while self.peek() != "]":
            result.append(self.value(depth + 1))
            if self.peek() != ",":
                break
            self.pos += 1
        self.expect("]")
        return result

    def key(self) -> str:
        if self.peek() in ("'", '"'):
            return self.string()
        match = _IDENTIFIER.match(self.text, self.pos)
        if not match:
            raise self.error("expected a key")
        self.pos = match.end()
        return match.group()

    def string(self) -> str:
        quote = self.text[self.pos]
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error("unterminated string")
        body = self.text[self.pos + 1 : end]
        if quote == "'":
            body = body.replace("\\'", "'").replace('"', '\\"')
        self.pos = end + 1
        try:
            result: str = json.loads(f'"{body}"')
        except ValueError as error:
            raise self.error(f"bad string ({error})") from None
        return result

    def scalar(self) -> Any:
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            return json.loads(number.group())
        word = _IDENTIFIER.match(self.text, self.pos)
        if word and word.group() in _LITERALS:
            self.pos = word.end()
            return _LITERALS[word.group()]
        raise self.error("expected a value")
