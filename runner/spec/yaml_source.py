"""YAML text → Document: safe, bounded, and every value's line and column kept.

The composer reads parser events itself (libyaml's when available) instead of
``yaml.safe_load`` so that it can: keep positions, reject duplicate keys (PyYAML
silently keeps the last), bound nesting depth without recursion, bound alias
expansion (billion laughs), resolve scalars by the YAML 1.2 core schema
(``runner.spec.scalars``), and keep keys as the text the user wrote (``on:``
stays ``"on"``).  Merge keys (``<<: *defaults``) work; explicit keys win.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from runner.errors import FileProblem, PipelineFileError
from runner.spec.document import Document, JsonPath, Position
from runner.spec.naming import quoted
from runner.spec.scalars import TagError, check_collection_tag, plain_value, tagged_value
from runner.spec.yaml_errors import MAX_DEPTH, events, to_problem

# Nodes that aliases may add to the document; a real pipeline with an anchor
# merged into every one of 10,000 jobs stays well below it.
MAX_ALIAS_NODES = 500_000


class _FatalError(Exception):
    """Composition cannot go on; carries the one problem to report."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


@dataclass(eq=False)
class _Collection:
    """A mapping or list being composed."""

    value: dict[str, Any] | list[Any]
    path: JsonPath
    anchor: str | None
    is_mapping: bool
    size: int = 1
    key: str | None = None  # a mapping's key waiting for its value
    merge_pending: bool = False
    merges: list[tuple[Any, Position]] = field(default_factory=list)

    def child_path(self) -> JsonPath:
        """The path of the value that comes next in this collection."""
        if self.is_mapping:
            assert self.key is not None
            return (*self.path, self.key)
        return (*self.path, len(self.value))


@dataclass(frozen=True)
class Parsed:
    """A composed document and the problems that did not stop composition (duplicate keys)."""

    document: Document
    problems: tuple[FileProblem, ...]


def parse_document(text: str, filename: str, *, kind: str = "pipeline") -> Parsed:
    """Compose ``text``; raises PipelineFileError for bad YAML, too deep nesting, an alias bomb.

    ``kind`` names the file in messages (``"scenario"`` for an emulator scenario).
    """
    composer = _Composer(filename, kind)
    handlers = composer.handlers
    try:
        for event in events(text):
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
    except yaml.YAMLError as error:
        raise PipelineFileError([to_problem(error, text, filename)]) from error
    except _FatalError as fatal:
        where = fatal.position
        raise PipelineFileError(
            [FileProblem(filename, where.line, where.col, fatal.message)]
        ) from fatal
    return Parsed(composer.document(), tuple(composer.problems))


def _position(event: Event) -> Position:
    mark = event.start_mark
    assert mark is not None  # parsers always mark their events
    return Position(mark.line + 1, mark.column + 1)


class _Composer:
    """Builds plain values from parser events with an explicit stack (no recursion)."""

    def __init__(self, filename: str, kind: str = "pipeline") -> None:
        self.filename = filename
        self.kind = kind
        self.stack: list[_Collection] = []
        self.top: _Collection | None = None
        self.root: Any = None
        self.documents = 0
        self.values: dict[JsonPath, Position] = {}
        self.keys: dict[JsonPath, Position] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.alias_nodes = 0
        self.problems: list[FileProblem] = []
        # Dispatch on the exact event class: the loader sees ~12 events per job.
        self.handlers: dict[type[Event], Callable[[Any], None]] = {
            ScalarEvent: self._scalar,
            AliasEvent: self._alias,
            MappingStartEvent: self._start_collection,
            SequenceStartEvent: self._start_collection,
            MappingEndEvent: self._end_collection,
            SequenceEndEvent: self._end_collection,
            DocumentStartEvent: self._start_document,
        }

    def document(self) -> Document:
        """The composed document."""
        return Document(self.filename, self.root, self.values, self.keys)

    def _start_document(self, event: Event) -> None:
        self.documents += 1
        if self.documents > 1:
            raise _FatalError(
                _position(event), f"a {self.kind} file holds one YAML document; found a second one"
            )

    def _awaits_key(self) -> bool:
        top = self.top
        return top is not None and top.is_mapping and top.key is None

    def _scalar(self, event: ScalarEvent) -> None:
        if self._awaits_key():
            self._key(event)
            return
        try:
            if event.tag is None:
                value = plain_value(event.value) if event.implicit[0] else event.value
            else:
                value = tagged_value(event.value, event.tag)
        except TagError as error:
            raise _FatalError(_position(event), str(error)) from error
        path = () if self.top is None else self.top.child_path()
        self.values[path] = _position(event)
        self._place(value, 1, event.anchor)

    def _key(self, event: ScalarEvent) -> None:
        top = self.top
        assert top is not None
        assert isinstance(top.value, dict)
        key = event.value
        if key == "<<" and event.implicit[0]:
            top.key, top.merge_pending = key, True
            return
        position = _position(event)
        path = (*top.path, key)
        if key in top.value:
            first = self.keys[path]
            self.problems.append(
                FileProblem(
                    self.filename,
                    position.line,
                    position.col,
                    f"duplicate key {quoted(key)} (first on line {first.line})",
                )
            )
        top.key = key
        self.keys[path] = position

    def _alias(self, event: AliasEvent) -> None:
        position = _position(event)
        if self._awaits_key():
            raise _FatalError(position, "an alias cannot be a mapping key here; write the key out")
        if event.anchor not in self.anchors:
            raise _FatalError(
                position, f"unknown alias '*{event.anchor}': no anchor &{event.anchor}"
            )
        value, size = self.anchors[event.anchor]
        self.alias_nodes += size
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise _FatalError(
                position,
                f"aliases expand to more than {MAX_ALIAS_NODES} values (an alias bomb?)",
            )
        self.values[() if self.top is None else self.top.child_path()] = position
        self._place(value, size, None)

    def _start_collection(self, event: MappingStartEvent | SequenceStartEvent) -> None:
        position = _position(event)
        if self._awaits_key():
            raise _FatalError(
                position, "a mapping key must be a plain value, not a mapping or a list"
            )
        if len(self.stack) >= MAX_DEPTH:
            raise _FatalError(position, f"the file nests deeper than {MAX_DEPTH} levels")
        try:
            check_collection_tag(event.tag)
        except TagError as error:
            raise _FatalError(position, str(error)) from error
        path = () if self.top is None else self.top.child_path()
        self.values[path] = position
        is_mapping = isinstance(event, MappingStartEvent)
        value: dict[str, Any] | list[Any] = {} if is_mapping else []
        self.top = _Collection(value, path, event.anchor, is_mapping)
        self.stack.append(self.top)

    def _end_collection(self, event: Event) -> None:
        done = self.stack.pop()
        self.top = self.stack[-1] if self.stack else None
        if done.merges:
            self._merge(done)
        self._place(done.value, done.size, done.anchor)

    def _place(self, value: Any, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)
        top = self.top
        if top is None:
            self.root = value
            return
        top.size += size
        if not top.is_mapping:
            top.value.append(value)  # type: ignore[union-attr]
        elif top.merge_pending:
            merge_path = (*top.path, "<<")
            top.merges.append((value, self.values[merge_path]))
            top.merge_pending = False
            top.key = None
        else:
            assert top.key is not None
            top.value[top.key] = value  # type: ignore[call-overload]
            top.key = None

    def _merge(self, mapping: _Collection) -> None:
        """Apply ``<<`` merges: keys written in the mapping win, then earlier merges win."""
        assert isinstance(mapping.value, dict)
        for source, position in mapping.merges:
            sources = source if isinstance(source, list) else [source]
            for part in sources:
                if not isinstance(part, dict):
                    raise _FatalError(position, "'<<' merges a mapping or a list of mappings")
                for key, value in part.items():
                    if key not in mapping.value:
                        mapping.value[key] = value
                        path = (*mapping.path, key)
                        self.keys[path] = position
                        self.values[path] = position
