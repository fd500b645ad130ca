"""Run event kinds: one enum, exactly the kinds the engine emits, strings round-trip."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import runner
from runner.engine.events import EventKind, ProgressLines, RunEvent
from runner.engine.journal import JOURNAL_NAME, Journal, read_journal, record_kind, resume_jobs
from runner.engine.outcome import JobOutcome
from testing.sources import syntax_tree

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
_EMITTERS = frozenset({"emit", "_emit", "RunEvent"})


def _kind_argument(call: ast.Call) -> ast.expr | None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name not in _EMITTERS:
        return None
    index = 1 if name == "RunEvent" else 0
    keyword = next((k.value for k in call.keywords if k.arg == "kind"), None)
    return keyword or (call.args[index] if len(call.args) > index else None)


def _kinds_in(node: ast.expr, assigned: dict[str, list[ast.expr]]) -> set[str]:
    """The kinds an expression can be: ``"text"``, ``EventKind.X``, ``a if c else b``, or a
    local name assigned one of those (a parameter, assigned nowhere, adds nothing)."""
    if isinstance(node, ast.Constant):
        return {str(node.value)}
    if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "EventKind":
        return {EventKind[node.attr].value}
    if isinstance(node, ast.IfExp):
        return _kinds_in(node.body, assigned) | _kinds_in(node.orelse, assigned)
    if isinstance(node, ast.Name):
        return {kind for value in assigned.get(node.id, []) for kind in _kinds_in(value, {})}
    return {f"<not a kind: {ast.unparse(node)}>"}


def _emitted_kinds() -> set[str]:
    """Every kind the code under runner/ (the emulator aside) hands to an emitter."""
    kinds: set[str] = set()
    for path in Path(runner.__file__).parent.rglob("*.py"):
        if "emulator" in path.parts:
            continue
        for function in ast.walk(syntax_tree(path)):
            if isinstance(function, ast.FunctionDef):
                kinds |= _kinds_emitted_by(function)
    return kinds


def _kinds_emitted_by(function: ast.FunctionDef) -> set[str]:
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    kinds: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and (argument := _kind_argument(node)) is not None:
            kinds |= _kinds_in(argument, assigned)
    return kinds


def test_the_enum_lists_exactly_the_kinds_emitted() -> None:
    emitted = _emitted_kinds()
    assert emitted - {kind.value for kind in EventKind} == set()  # nothing emitted unlisted
    assert {kind.value for kind in EventKind} - emitted == set()  # nothing listed unemitted


def test_a_kind_given_as_text_becomes_the_member() -> None:
    event = RunEvent(AT, "retry_scheduled", "load", 2)
    assert event.kind is EventKind.RETRY_SCHEDULED
    assert event.data == {}


def test_a_misspelt_kind_fails_at_once() -> None:
    with pytest.raises(ValueError, match="retry_sheduled"):
        RunEvent(AT, "retry_sheduled")


def test_events_are_immutable() -> None:
    event = RunEvent(AT, EventKind.STATUS, "load", 1, "execution 7 is RUNNING")
    with pytest.raises(AttributeError):
        event.kind = EventKind.FINISHED  # type: ignore[misc]


def test_progress_lines_print_the_kind_when_there_is_no_message() -> None:
    lines: list[str] = []

    class Stream:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    ProgressLines(Stream(), verbose=True)(RunEvent(AT, EventKind.SERVER_BACK, "load"))  # type: ignore[arg-type]
    assert "".join(lines) == "12:00:00 load: server_back\n"


def test_the_journal_stores_kinds_as_text_and_reads_them_back(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal(RunEvent(AT, EventKind.TRIGGERED, "load", 1, "", {"execution_id": 7}))
    journal(RunEvent(AT, EventKind.FINISHED, "load", 1, "", {"outcome": "SUCCEEDED"}))
    journal.close()
    lines = (tmp_path / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["journal", "triggered", "finished"]
    records = read_journal(tmp_path / JOURNAL_NAME)
    assert [record_kind(r) for r in records] == [None, EventKind.TRIGGERED, EventKind.FINISHED]
    assert resume_jobs(records, ["load"])["load"].state.outcome is JobOutcome.SUCCEEDED


def test_a_kind_this_version_does_not_know_is_passed_over_on_resume(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    records = [
        {"version": 1, "kind": "journal"},
        {
            "at": AT.isoformat(),
            "kind": "triggered",
            "job": "load",
            "attempt": 1,
            "message": "",
            "data": {"execution_id": 7},
        },
        {
            "at": AT.isoformat(),
            "kind": "mode_chosen",
            "job": "load",
            "attempt": 1,
            "message": "",
            "data": {"outcome": "FAILED"},
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    resumed = resume_jobs(read_journal(path), ["load"])["load"]
    assert resumed.in_flight == 7
    assert resumed.state.outcome is JobOutcome.RUNNING
