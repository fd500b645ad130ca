"""The run's record: ``report.json``, built from the job states and written atomically.

The report is versioned; ``schemas/report.schema.json`` describes it.  It
carries no credentials: the server appears as its URL without user info.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runner import __version__
from runner.datameer.credentials import redact_url
from runner.engine.options import EngineOptions
from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.engine.plan_drift import PlanDrift
from runner.engine.trigger import MAX_TRIGGER_SENDS
from runner.engine.verdicts import MAX_START_ROUNDS
from runner.model import Job, Pipeline
from runner.spec.durations import slower_than_usual

REPORT_NAME = "report.json"
REPORT_VERSION = 1


@dataclass(frozen=True)
class RunSummary:
    """How a run went, as the command line needs it."""

    exit_code: int
    interrupted: bool
    timed_out: bool
    mode: str
    mode_reason: str
    started_at: datetime
    finished_at: datetime
    error: str | None = None  # why the run ended early (credentials refused, server lost, ...)
    ended_by: str | None = None  # interrupted | run_timeout | server_lost | credentials_refused
    mode_requested: str | None = None  # what the file or --mode asked for (auto, ...)
    mode_fallback: str | None = None  # why auto mode fell back to client mode


@dataclass(frozen=True)
class RunFacts:
    """The run's context beyond the pipeline and its jobs: who ran it, where, with what.

    ``variables`` are already masked (``runner.plan.masking``); nothing here is a secret.
    """

    server_user: str | None = None  # the Datameer user
    os_user: str | None = None  # who ran dmpipe
    profile: str | None = None
    emulator: bool = False
    mode_requested: str | None = None
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    # Warnings known before the run began (the mode choice's); the run's own come as events.
    warnings: tuple[str, ...] = ()


def build_report(
    pipeline: Pipeline,
    states: Mapping[str, JobState],
    summary: RunSummary,
    *,
    server_url: str | None,
    drift: PlanDrift | None = None,
    options: EngineOptions | None = None,
    facts: RunFacts | None = None,
    warnings: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report document (plain JSON types); ``warnings`` are ``RunWarning.to_data()``."""
    counts = Counter(state.outcome.value for state in states.values())
    options = options or EngineOptions()
    facts = facts or RunFacts()
    return {
        "version": REPORT_VERSION,
        "pipeline": {
            "name": pipeline.name,
            "file": pipeline.path,
            "sha256": _file_hash(pipeline.path),
        },
        "runner": {"name": "dmpipe", "version": __version__, "os_user": facts.os_user},
        "server": {
            "url": redact_url(server_url),
            "user": facts.server_user,
            "profile": facts.profile,
            "emulator": facts.emulator,
        },
        "mode": {
            "name": summary.mode,
            "requested": summary.mode_requested or facts.mode_requested or summary.mode,
            "reason": summary.mode_reason,
            "fallback": summary.mode_fallback,
        },
        "selection": {"select": list(facts.select), "exclude": list(facts.exclude)},
        "variables": dict(facts.variables),
        "warnings": [dict(warning) for warning in warnings],
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "duration_seconds": round((summary.finished_at - summary.started_at).total_seconds(), 3),
        "exit_code": summary.exit_code,
        "interrupted": summary.interrupted,
        "timed_out": summary.timed_out,
        "error": summary.error,
        "ended_by": summary.ended_by,
        "contract": {
            "max_trigger_sends": MAX_TRIGGER_SENDS,
            "max_trigger_rounds": MAX_START_ROUNDS,
            "trigger_search_seconds": options.trigger_resolve_timeout,
            "unseen_grace_seconds": options.unseen_grace,
            "stop_confirm_seconds": options.stop_confirm_timeout,
        },
        "left_running": left_running(states),
        "drift": _drift(drift),
        "summary": {"jobs": len(states), **dict(sorted(counts.items()))},
        "jobs": [_job(pipeline, state) for state in states.values()],
    }


def write_report(directory: Path, report: Mapping[str, Any]) -> Path:
    """Write ``report.json`` into ``directory`` atomically; returns its path."""
    return write_atomically(directory / REPORT_NAME, json.dumps(report, indent=2) + "\n")


def write_atomically(path: Path, text: str) -> Path:
    """Write a whole file through a temporary file in the same folder, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _file_hash(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _drift(drift: PlanDrift | None) -> dict[str, Any] | None:
    if drift is None:
        return None
    return {
        "found": bool(drift),
        "added": list(drift.added),
        "left_out": list(drift.left_out),
        "out_of_order": list(drift.out_of_order),
    }


def _job(pipeline: Pipeline, state: JobState) -> dict[str, Any]:
    job = pipeline.jobs[state.name]
    return {
        "name": state.name,
        "ref": {"kind": job.ref.kind.value, "value": job.ref.value},
        # Where the job is written in the pipeline file (CI annotations point there).
        "line": job.location.line if job.location else None,
        "col": job.location.col if job.location else None,
        "needs": list(job.needs),
        "expect": _gates(job, state),
        "outcome": state.outcome.value,
        "reason": state.reason,
        "resumed": state.resumed,
        **_usual(job, state),
        "configuration_id": state.configuration_id,
        "file_id": state.file_id,
        "attempts": [_attempt(attempt) for attempt in state.attempts],
    }


def _usual(job: Job, state: JobState) -> dict[str, Any]:
    """The job's estimate (its ``estimate:``, or the median of its history), and whether
    its last attempt took more than twice that on Datameer's clock (dmpipe's, failing it)."""
    if job.estimate is None:
        return {"estimate_seconds": None, "estimate_from": None, "slower_than_usual": False}
    last = state.attempts[-1] if state.attempts else None
    took = None
    if last is not None:
        took = _seconds(last.server_start, last.server_stop)
        if took is None:
            took = _seconds(last.triggered_at, last.detected_at)
    return {
        "estimate_seconds": job.estimate,
        "estimate_from": job.estimate_from,
        "slower_than_usual": took is not None and slower_than_usual(took, job.estimate),
    }


def _gates(job: Job, state: JobState) -> list[dict[str, Any]]:
    """The job's ``expect`` gates, judged on the counters of its last attempt that has any."""
    from runner.engine.policy import gate_met

    counted = [attempt for attempt in state.attempts if attempt.counters]
    counters = counted[-1].counters if counted else {}
    return [
        {
            "gate": str(gate),
            "counter": gate.counter,
            "operator": gate.operator,
            "value": gate.value,
            "actual": counters.get(gate.counter),
            "met": gate_met(gate, counters) if counted else None,
        }
        for gate in job.expect
    ]


def _attempt(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "execution_id": attempt.execution_id,
        "attached": attempt.attached,
        "triggered_at": _iso(attempt.triggered_at),
        "server_start": _iso(attempt.server_start),
        "server_stop": _iso(attempt.server_stop),
        "detected_at": _iso(attempt.detected_at),
        "status": attempt.status.value if attempt.status else None,
        "raw_status": attempt.raw_status,
        "outcome": attempt.outcome.value if attempt.outcome else None,
        "counters": dict(attempt.counters),
        "error": attempt.error,
        "stop_requested": attempt.stop_requested,
        "stop_sent": attempt.stop_sent,
        "stop_method": attempt.stop_method,
        "stop_error": attempt.stop_error,
        "stop_confirmed": attempt.stop_confirmed,
        "left_running": _left_running_why(attempt),
        "trigger_sends": attempt.trigger_sends,
        "recovered": attempt.recovered,
        "progress": attempt.progress,
        "estimate_seconds": attempt.estimate_seconds,
        # Two clocks, never mixed: dmpipe's own (trigger sent -> final status seen) and
        # Datameer's (start -> stop, server-local); their difference is not an overhead.
        "observed_seconds": _seconds(attempt.triggered_at, attempt.detected_at),
        "server_seconds": _seconds(attempt.server_start, attempt.server_stop),
    }


def left_running(states: Mapping[str, JobState]) -> list[dict[str, Any]]:
    """Every execution this run started and did not see end (contract C2), with why."""
    found = []
    for state in states.values():
        for attempt in state.attempts:
            why = _left_running_why(attempt)
            if why is not None:
                found.append(
                    {
                        "job": state.name,
                        "attempt": attempt.number,
                        "execution_id": attempt.execution_id,
                        "why": why,
                    }
                )
    return found


def _left_running_why(attempt: Attempt) -> str | None:
    """Why the run ended without seeing this attempt's execution end; None if it did."""
    if attempt.attached or attempt.outcome is JobOutcome.SUCCEEDED:
        return None  # not this run's execution, or watched to success
    if attempt.execution_id is None:
        if attempt.trigger_sends == 0:
            return None  # nothing was sent
        if attempt.stop_sent:
            return "trigger outcome unknown: stop sent by artifact, not confirmed"
        return "trigger outcome unknown: an execution may be running"
    if attempt.detected_at is not None or (attempt.status and attempt.status.is_terminal):
        return None  # seen ending (in a status dmpipe may not know)
    if attempt.stop_confirmed is False and attempt.stop_sent:
        return f"stop sent ({attempt.stop_method or 'outcome unknown'}), not confirmed"
    if attempt.stop_error:
        return f"stop not sent: {attempt.stop_error}"
    if attempt.stop_requested:
        return "stop requested, not confirmed"
    return "not stopped: the run ended while it was running"


def _seconds(start: datetime | None, stop: datetime | None) -> float | None:
    from runner.report.saved import span  # its records are for reading reports back

    seconds = span(start, stop)
    return None if seconds is None else round(seconds, 3)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
