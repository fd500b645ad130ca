"""The run journal: one JSON line per event, flushed as it happens, read back by ``--resume``.

The journal is append-only, so a crash can at worst tear its last line; reading
tolerates exactly that and nothing else.  Resuming rebuilds each job's state:
what succeeded stays done, an execution still in flight is re-attached (no new
trigger), a trigger whose answer never came is looked for before anything is
sent, and everything else runs again.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.datameer.status import parse_status
from runner.engine.events import EventKind, RunEvent
from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.errors import UsageError

JOURNAL_NAME = "journal.jsonl"
JOURNAL_VERSION = 1
# The first line's kind: the header, not an event.
_HEADER_KIND = "journal"
# One encoder for every line (json.dumps with options builds a new one per call).  No
# circular check: event data holds no cycles, and a cycle fails the line either way (a
# RecursionError instead of a ValueError, logged by the fan-out).
_ENCODER = json.JSONEncoder(default=str, sort_keys=True, check_circular=False)


def _event_line(event: RunEvent) -> str:
    """The journal line of ``event``: what ``_ENCODER`` makes of its record (keys sorted),
    with only ``data`` left to the encoder; the time and the kind never need escaping."""
    return (
        f'{{"at": "{event.at.isoformat()}", "attempt": {event.attempt:d}, '
        f'"data": {_ENCODER.encode(event.data)}, "job": {_ENCODER.encode(event.job)}, '
        f'"kind": "{event.kind.value}", "message": {_ENCODER.encode(event.message)}}}'
    )


class Journal:
    """An event sink appending to ``DIR/journal.jsonl``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / JOURNAL_NAME
        _drop_torn_tail(self.path)
        self._descriptor = _open_private(self.path)
        # Guards the descriptor against a late event racing close(): a closed descriptor's
        # number is soon another file's, which a write must never reach.
        self._lock = threading.Lock()
        if self.path.stat().st_size == 0:
            self._write({"version": JOURNAL_VERSION, "kind": _HEADER_KIND})

    # Progress changes on every poll and matters to nobody resuming a run.
    _SKIPPED_KINDS = frozenset({EventKind.PROGRESS})

    def __call__(self, event: RunEvent) -> None:
        if event.kind not in self._SKIPPED_KINDS:
            self._append(_event_line(event))

    def _write(self, record: dict[str, Any]) -> None:
        self._append(_ENCODER.encode(record))

    def _append(self, line: str) -> None:
        # One write system call per line, no buffer in between: once it returns the line
        # is in the kernel's page cache, so a killed process leaves whole lines, and at
        # most the last one torn.
        data = (line + "\n").encode("utf-8")
        with self._lock:
            if self._descriptor < 0:
                raise ValueError(f"{self.path}: the journal is closed")
            written = os.write(self._descriptor, data)
            while written < len(data):  # a short write (a full disk): the rest, or the error
                written += os.write(self._descriptor, data[written:])

    def close(self) -> None:
        """Flush to disk and close; a later event is refused, not written elsewhere."""
        with self._lock:
            descriptor, self._descriptor = self._descriptor, -1
        if descriptor >= 0:
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


def _open_private(path: Path) -> int:
    """Open ``path`` for appending, readable by its owner only, like the reports (it names
    the server and its executions); a journal an older dmpipe left readable is tightened."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line a crash left half-written (reading ignores it anyway): appended to,
    it would become damage in the middle of the journal."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as file:
            file.truncate(data.rfind(b"\n") + 1)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every record of a journal; a torn last line is dropped, any other damage is an error."""
    if not path.is_file():
        raise UsageError(f"--resume: no journal at {path}; is this a dmpipe run directory?")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # torn by a crash mid-write
            raise UsageError(f"{path}:{number}: the journal is damaged (not JSON)") from None
        if isinstance(record, dict):
            records.append(record)
    if not records or records[0].get("version") != JOURNAL_VERSION:
        raise UsageError(f"{path}: not a dmpipe journal of version {JOURNAL_VERSION}")
    return records


@dataclass
class ResumedJob:
    """What an earlier run left of one job."""

    state: JobState
    in_flight: int | None = None  # execution to re-attach to
    unresolved_trigger: bool = False  # a trigger was sent and never answered
    previous_execution_id: int | None = None
    attempts: list[Attempt] = field(default_factory=list)


def resume_jobs(records: list[dict[str, Any]], job_names: list[str]) -> dict[str, ResumedJob]:
    """Rebuild every job's state from a journal's records."""
    jobs = {name: ResumedJob(JobState(name)) for name in job_names}
    for record in records[1:]:
        job = jobs.get(str(record.get("job", "")))
        if job is not None:
            _apply(job, record)
    for job in jobs.values():
        _settle(job)
    return jobs


def _attempt(job: ResumedJob, number: int) -> Attempt:
    while len(job.state.attempts) < max(number, 1):
        job.state.attempts.append(Attempt(number=len(job.state.attempts) + 1))
    return job.state.attempts[max(number, 1) - 1]


def _apply(job: ResumedJob, record: dict[str, Any]) -> None:
    kind = record_kind(record)
    data = record.get("data") or {}
    attempt = _attempt(job, int(record.get("attempt") or 1))
    if kind is EventKind.TRIGGER_SENT:
        job.unresolved_trigger = True
        job.previous_execution_id = data.get("previous_execution_id")
    elif kind in (EventKind.TRIGGERED, EventKind.ATTACHED):
        job.unresolved_trigger = False
        attempt.execution_id = data.get("execution_id")
        attempt.attached = kind is EventKind.ATTACHED
        attempt.triggered_at = _time(data.get("triggered_at") or record.get("at"))
        job.in_flight = attempt.execution_id
        # Sequential mode names the artifact it matched: a resumed run need not look again.
        job.state.file_id = data.get("file_id") or job.state.file_id
        job.state.configuration_id = data.get("configuration_id") or job.state.configuration_id
    elif kind is EventKind.STATUS and data.get("status"):
        attempt.raw_status = str(data["status"])
        attempt.status = parse_status(attempt.raw_status)
    elif kind is EventKind.STOP_REQUESTED:
        attempt.stop_requested = True
    elif kind is EventKind.SEQUENCE_FAILED:
        job.unresolved_trigger = False  # the sequential trigger was refused: nothing started
    elif kind in (EventKind.FINISHED, EventKind.RETRY_SCHEDULED, EventKind.CHAIN_WAIT):
        job.in_flight = None
        job.unresolved_trigger = False
        outcome = data.get("outcome")
        attempt.outcome = JobOutcome(outcome) if outcome else JobOutcome.FAILED
        if attempt.status is not None and attempt.status.is_terminal:
            attempt.detected_at = _time(record.get("at"))
        if kind is EventKind.FINISHED and outcome:
            job.state.outcome = JobOutcome(outcome)
    elif kind is EventKind.SKIPPED:
        job.state.outcome = JobOutcome.SKIPPED


def _settle(job: ResumedJob) -> None:
    """Decide what the resumed run does with the job."""
    state = job.state
    if state.outcome is JobOutcome.SUCCEEDED:
        state.resumed = True
        return
    state.outcome = JobOutcome.PENDING
    state.reason = None
    if job.in_flight is not None:
        state.outcome = JobOutcome.RUNNING
    elif state.attempts and state.attempts[-1].execution_id is None and not job.unresolved_trigger:
        state.attempts.pop()  # started but never sent: nothing to carry over


def record_kind(record: Mapping[str, Any]) -> EventKind | None:
    """The kind of a journal record; None for the header and for a kind this dmpipe does
    not know (a journal written by another version), which resuming then passes over."""
    try:
        return EventKind(str(record.get("kind")))
    except ValueError:
        return None


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def run_started_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The data of every ``run_started`` record (the run, then each resume), in order."""
    return [
        dict(record.get("data") or {})
        for record in records
        if record_kind(record) is EventKind.RUN_STARTED
    ]


def matching_artifacts(
    records: list[dict[str, Any]], artifacts: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """The records ``resume_jobs`` may use for a run of jobs on ``artifacts``.

    A job's records written while it referred to another artifact (a pipeline changed and
    resumed with ``--force``) are left out, so the job runs afresh instead of taking over an
    execution of the old artifact.  None (no identity to compare) keeps every record.
    """
    if artifacts is None:
        return records
    kept = records[:1]
    then: Mapping[str, Any] = {}
    for record in records[1:]:
        if record_kind(record) is EventKind.RUN_STARTED:
            then = (record.get("data") or {}).get("artifacts") or {}
        job = str(record.get("job") or "")
        if not job or then.get(job) == artifacts.get(job):
            kept.append(record)
    return kept
