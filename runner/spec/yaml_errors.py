"""The YAML event stream, and its syntax errors as ``file:line:col`` problems.

Events come from libyaml when PyYAML was built with it (fast), else from the
pure-Python parser, whose messages are worded differently.  A syntax error is
not re-parsed with the Python parser for its wording: that parser is quadratic
on deep flow nesting and slow on big files, and a bad file must fail fast.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml
from yaml.events import Event
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from runner.errors import FileProblem

MAX_DEPTH = 100

try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None  # type: ignore[assignment,misc]


class _PythonParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python reader, scanner and parser, without composer or constructor."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


def events(text: str) -> Iterator[Event]:
    """The parser events of ``text``; raises yaml.YAMLError."""
    if _CParser is None:
        yield from _python_events(text)
        return
    parser = _CParser(text)
    try:
        while (event := parser.get_event()) is not None:
            yield event
    finally:
        parser.dispose()


def _python_events(text: str) -> Iterator[Event]:
    parser = _PythonParser(text)
    while (event := parser.get_event()) is not None:  # type: ignore[no-untyped-call]
        yield event


def to_problem(error: yaml.YAMLError, text: str, filename: str) -> FileProblem:
    """A parser or scanner error as a problem at the position it names."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        message = _message(error, mark, text)
        return FileProblem(filename, mark.line + 1, mark.column + 1, message)
    if isinstance(error, yaml.reader.ReaderError):
        offset = error.position
        if error.encoding != "unicode":  # libyaml counts UTF-8 bytes, not characters
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))
        line, col = _line_col(text, offset)
        return FileProblem(
            filename, line, col, f"invalid YAML: character U+{error.character:04X} is not allowed"
        )
    return FileProblem(filename, 1, 1, f"invalid YAML: {error}")


def _message(error: yaml.MarkedYAMLError, where: yaml.Mark, text: str) -> str:
    problem = error.problem or "syntax error"
    index = where.index
    if "'\\t'" in problem or text[index : index + 1] == "\t":
        return "invalid YAML: a tab cannot indent YAML; use spaces"
    if "maximum nesting depth" in problem:
        return f"the file nests deeper than {MAX_DEPTH} levels"
    if index > 0 and text[index - 1 : index + 1] == "${":
        return f"invalid YAML: {problem}; inside [ ] or {{ }}, quote a value that uses ${{...}}"
    context, mark = error.context, error.context_mark
    if context and mark is not None and mark.line != where.line:
        return f"invalid YAML: {problem} ({context} started on line {mark.line + 1})"
    return f"invalid YAML: {problem}"


def _line_col(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
