"""Report tests' helpers: a real run on the emulator with every outcome, and report documents."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from runner.emulator import EmulatorServer
from runner.engine.events import RunEvent
from runner.model import OnFailure
from runner.reference import JobRef
from testing.emulators import build_scenario
from tests.engine.support import artifact, job, pipeline, run, scenario

# A path no server has, holding markup: the client's failure message quotes it.
MARKUP_PATH = "/Shared/<script>alert('path')</script>"

# job → (outcome, attempts) of the mixed run.
MIXED_OUTCOMES = {
    "extract": ("SUCCEEDED", 2),
    "transform": ("SUCCEEDED", 1),
    "load_bad": ("FAILED", 2),
    "long_running": ("CANCELED", 1),
    "publish": ("SKIPPED", 0),
    "other": ("SUCCEEDED", 1),
}


@dataclasses.dataclass(frozen=True)
class MixedRun:
    """A finished run and the events it emitted."""

    directory: Path
    events: tuple[RunEvent, ...]

    @property
    def document(self) -> dict[str, Any]:
        """The report.json the engine wrote."""
        data: dict[str, Any] = json.loads((self.directory / "report.json").read_text("utf-8"))
        return data


def run_mixed(directory: Path) -> MixedRun:
    """Run a pipeline where a job is retried then succeeds, one fails twice (retried),
    a long one is cancelled by it, a dependant is skipped and an independent one succeeds.
    """
    server = EmulatorServer(
        build_scenario(
            scenario(
                artifact(1, duration=20, outcomes=["ERROR", "COMPLETED"]),
                artifact(2, duration=30),
                artifact(3, duration=30, outcomes=["ERROR"]),
                artifact(4, duration=100_000),
                artifact(5),
                artifact(6, duration=20),
            )
        )
    ).start()
    try:
        pipe = pipeline(
            job("extract", 1, retries=1),
            job("transform", 2, "extract"),
            job("load_bad", 3, "extract", retries=1),
            job("long_running", 4, "extract"),
            job("publish", 5, "transform", "load_bad"),
            job("other", 6),
            on_failure=OnFailure.CANCEL,
        )
        result = run(server, pipe, directory)
    finally:
        server.stop()
    return MixedRun(directory, tuple(result.events))


def run_markup(directory: Path) -> MixedRun:
    """A run whose only job names an artifact by a path full of markup; it fails."""
    server = EmulatorServer(build_scenario(scenario(artifact(1)))).start()
    try:
        ghost = dataclasses.replace(job("ghost", 1), ref=JobRef.parse(MARKUP_PATH))
        result = run(server, pipeline(ghost), directory)
    finally:
        server.stop()
    return MixedRun(directory, tuple(result.events))


def attempt(number: int = 1, **fields: Any) -> dict[str, Any]:
    """A report attempt (schema-valid) with the given fields."""
    return {
        "number": number,
        "execution_id": 100 + number,
        "attached": False,
        "triggered_at": "2026-11-28T10:00:00+00:00",
        "server_start": "2026-11-28T11:00:01",
        "server_stop": "2026-11-28T11:00:09",
        "detected_at": "2026-11-28T10:00:10+00:00",
        "status": "COMPLETED",
        "raw_status": "COMPLETED",
        "outcome": "SUCCEEDED",
        "counters": {"IMPORT_RECORDS": 10},
        "error": None,
        "stop_requested": False,
        "stop_confirmed": None,
        **fields,
    }


def report_job(name: str, *attempts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A report job (schema-valid)."""
    return {
        "name": name,
        "ref": {"kind": "file_id", "value": "1"},
        "needs": [],
        "outcome": "SUCCEEDED",
        "reason": None,
        "resumed": False,
        "configuration_id": 11,
        "file_id": 1,
        "attempts": list(attempts),
        **fields,
    }


def report_document(*jobs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A whole report.json document (schema-valid) around ``jobs``."""
    return {
        "version": 1,
        "pipeline": {"name": "handmade", "file": "handmade.yaml", "sha256": None},
        "runner": {"name": "dmpipe", "version": "0.1.0"},
        "server": {"url": "https://datameer.example.com"},
        "mode": {"name": "client", "reason": "test"},
        "started_at": "2026-11-28T10:00:00+00:00",
        "finished_at": "2026-11-28T10:01:00+00:00",
        "duration_seconds": 60.0,
        "exit_code": 1,
        "interrupted": False,
        "timed_out": False,
        "drift": None,
        "summary": {"jobs": len(jobs)},
        "jobs": list(jobs),
        **fields,
    }
