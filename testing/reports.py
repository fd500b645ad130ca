"""Report documents for tests: schema-valid report.json pieces, and a finished run's files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from runner.engine.events import RunEvent

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
