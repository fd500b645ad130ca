"""The journal as a file (owner-only) and the records a resume may use after a change."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.engine.events import RunEvent
from runner.engine.journal import (
    JOURNAL_NAME,
    Journal,
    matching_artifacts,
    read_journal,
    resume_jobs,
    run_started_records,
)
from runner.engine.outcome import JobOutcome

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_the_journal_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    path.write_text('{"kind": "journal", "version": 1}\n')
    path.chmod(0o644)  # left readable by an older dmpipe: tightened on the next write
    Journal(tmp_path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Journal(tmp_path / "new").close()
    assert stat.S_IMODE((tmp_path / "new" / JOURNAL_NAME).stat().st_mode) == 0o600


def started(artifacts: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    return ("run_started", "", {"run_id": "r", "artifacts": artifacts})


def journal(tmp_path: Path, *events: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    sink = Journal(tmp_path)
    for kind, job, data in events:
        sink(RunEvent(NOW, kind, job, 1, "", data))
    sink.close()
    return read_journal(tmp_path / JOURNAL_NAME)


def test_a_job_whose_artifact_changed_keeps_nothing_of_the_old_one(tmp_path: Path) -> None:
    records = journal(
        tmp_path,
        started({"load": "file_id:1", "publish": "file_id:2"}),
        ("triggered", "load", {"execution_id": 10}),
        ("finished", "load", {"outcome": "SUCCEEDED"}),
        ("triggered", "publish", {"execution_id": 11}),
    )
    now = {"load": "file_id:3", "publish": "file_id:2"}
    jobs = resume_jobs(matching_artifacts(records, now), list(now))
    assert jobs["load"].state.outcome is JobOutcome.PENDING
    assert jobs["load"].state.attempts == []
    assert jobs["publish"].in_flight == 11
    assert matching_artifacts(records, None) == records
    assert len(run_started_records(records)) == 1


def test_records_written_after_the_change_count_again(tmp_path: Path) -> None:
    records = journal(
        tmp_path,
        started({"load": "file_id:1"}),
        ("triggered", "load", {"execution_id": 10}),
        started({"load": "file_id:3"}),  # resumed with --force on the changed pipeline
        ("triggered", "load", {"execution_id": 12}),
    )
    jobs = resume_jobs(matching_artifacts(records, {"load": "file_id:3"}), ["load"])
    assert jobs["load"].in_flight == 12
    assert [a.execution_id for a in jobs["load"].state.attempts] == [12]
