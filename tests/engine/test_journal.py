"""The journal: written per event, read back after a crash, turned into resume states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from runner.engine.events import EventKind, RunEvent
from runner.engine.journal import JOURNAL_NAME, Journal, read_journal, resume_jobs
from runner.engine.outcome import JobOutcome
from runner.errors import UsageError

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def write(directory: Path, *events: tuple[str, str, int, dict[str, object]]) -> Path:
    journal = Journal(directory)
    for kind, job, attempt, data in events:
        journal(RunEvent(NOW, kind, job, attempt, "", dict(data)))
    journal.close()
    return directory / JOURNAL_NAME


def test_resume_states(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ("triggered", "done", 1, {"execution_id": 10}),
        ("finished", "done", 1, {"outcome": "SUCCEEDED"}),
        ("triggered", "flying", 1, {"execution_id": 11}),
        ("trigger_sent", "lost", 1, {"previous_execution_id": 7}),
        ("triggered", "failed", 1, {"execution_id": 12}),
        ("retry_scheduled", "failed", 1, {"outcome": "FAILED"}),
        ("triggered", "failed", 2, {"execution_id": 13}),
        ("finished", "failed", 2, {"outcome": "FAILED"}),
    )
    jobs = resume_jobs(read_journal(path), ["done", "flying", "lost", "failed", "never"])
    assert jobs["done"].state.outcome is JobOutcome.SUCCEEDED
    assert jobs["done"].state.resumed
    assert jobs["flying"].state.outcome is JobOutcome.RUNNING
    assert jobs["flying"].in_flight == 11
    assert jobs["lost"].unresolved_trigger
    assert jobs["lost"].previous_execution_id == 7
    assert jobs["lost"].state.outcome is JobOutcome.PENDING
    assert jobs["failed"].state.outcome is JobOutcome.PENDING
    assert [a.execution_id for a in jobs["failed"].state.attempts] == [12, 13]
    assert jobs["never"].state.outcome is JobOutcome.PENDING
    assert jobs["never"].state.attempts == []


def test_a_line_is_ascii_json_with_sorted_keys(tmp_path: Path) -> None:
    # The exact bytes: resuming reads any JSON, but a journal stays comparable across versions.
    at = datetime(2026, 11, 29, 12, 0, 1, 250, tzinfo=UTC)
    data = {"outcome": "SUCCEEDED", "at": NOW, "ids": [1, None]}
    journal = Journal(tmp_path)
    journal(RunEvent(at, EventKind.FINISHED, "l\u00e4dt", 2, 'done \u2014 "ok"\n', data))
    journal(RunEvent(NOW, EventKind.PROGRESS, "l\u00e4dt", 2, "40% done", {"progress": 40.0}))
    journal.close()
    assert (tmp_path / JOURNAL_NAME).read_bytes().decode("ascii").splitlines() == [
        '{"kind": "journal", "version": 1}',
        '{"at": "2026-11-29T12:00:01.000250+00:00", "attempt": 2, "data": {"at": '
        '"2026-11-29 00:00:00+00:00", "ids": [1, null], "outcome": "SUCCEEDED"}, '
        '"job": "l\\u00e4dt", "kind": "finished", "message": "done \\u2014 \\"ok\\"\\n"}',
    ]


def test_torn_last_line_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, ("triggered", "a", 1, {"execution_id": 5}))
    with path.open("a", encoding="utf-8") as file:
        file.write('{"kind": "finished", "job": "a", "da')
    jobs = resume_jobs(read_journal(path), ["a"])
    assert jobs["a"].in_flight == 5


def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, ("triggered", "a", 1, {"execution_id": 5}))
    text = path.read_text(encoding="utf-8").splitlines()
    text.insert(1, "garbage")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(UsageError, match=":2: the journal is damaged"):
        read_journal(path)


def test_missing_journal_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no journal"):
        read_journal(tmp_path / JOURNAL_NAME)


def test_a_closed_journal_refuses_a_late_event_and_closes_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.close()
    other = (tmp_path / "other.txt").open("w")  # may take the journal's old descriptor
    with pytest.raises(ValueError, match="closed"):
        journal(RunEvent(datetime.now(UTC), EventKind.FINISHED, "a", 1))
    journal.close()  # a second close does nothing
    other.close()
    assert (tmp_path / "other.txt").read_text() == ""
