"""Read a saved ``report.json``, check it against ``report.schema.json``, return typed records.

``read_report`` is for files a user points at (validated); ``parse_report`` turns a
report document into records and is what a run uses on the report it just wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.engine.outcome import JobOutcome
from runner.errors import UsageError
from runner.report.saved import (
    AttemptRecord,
    Drift,
    GateRecord,
    JobRecord,
    RunReport,
    WarningRecord,
)
from runner.report.writer import REPORT_NAME

_SHOWN_PROBLEMS = 5


def report_file(path: Path) -> Path:
    """``path`` itself when it is a file, else ``path/report.json`` (a ``latest`` pointer
    file is followed to its run directory)."""
    from runner.rundir import follow_pointer

    path = follow_pointer(path)
    return path if path.is_file() else path / REPORT_NAME


def read_report(path: Path) -> RunReport:
    """The report in ``path`` (a run directory or a report.json), validated against the schema."""
    return parse_report(checked_document(path))


def checked_document(path: Path) -> dict[str, Any]:
    """The report document in ``path``, read once; UsageError unless the schema accepts it."""
    file = report_file(path)
    document = read_document(file)
    problems = schema_problems(document)
    if problems:
        listed = "\n  ".join(problems)
        raise UsageError(f"{file} is not a valid dmpipe report:\n  {listed}")
    return document


def read_document(file: Path) -> dict[str, Any]:
    """The JSON object in ``file``; UsageError when it is missing or not a JSON object."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no report at {file}: is this a dmpipe run directory?") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {file}: {error}") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"{file}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{file}: a report is a JSON object")
    return document


def schema_problems(document: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``document`` by ``report.schema.json`` (the first few findings)."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    from runner.spec.schema_files import load_schema

    validator = Draft202012Validator(load_schema("report"))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [_describe(error) for error in errors[:_SHOWN_PROBLEMS]]


def parse_report(document: Mapping[str, Any]) -> RunReport:
    """The typed records of a report document; UsageError if a field is missing or wrong."""
    try:
        return _report(document)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UsageError(f"not a dmpipe report of version 1: bad or missing {error}") from error


def _report(document: Mapping[str, Any]) -> RunReport:
    drift = document.get("drift")
    server = document.get("server", {})
    selection = document.get("selection") or {}
    return RunReport(
        pipeline_name=str(document["pipeline"]["name"]),
        pipeline_file=str(document["pipeline"]["file"]),
        pipeline_sha256=document["pipeline"].get("sha256"),
        runner_version=str(document.get("runner", {}).get("version", "")),
        server_url=server.get("url"),
        mode=str(document["mode"]["name"]),
        mode_reason=str(document["mode"]["reason"]),
        started_at=_runner_time(document["started_at"]),
        finished_at=_runner_time(document["finished_at"]),
        exit_code=int(document["exit_code"]),
        interrupted=bool(document.get("interrupted")),
        timed_out=bool(document.get("timed_out")),
        error=document.get("error"),
        ended_by=document.get("ended_by"),
        drift=None if drift is None else _drift(drift),
        counts={str(k): int(v) for k, v in document.get("summary", {}).items()},
        jobs=tuple(_job(job) for job in document["jobs"]),
        mode_requested=str(document["mode"].get("requested") or document["mode"]["name"]),
        mode_fallback=document["mode"].get("fallback"),
        server_user=server.get("user"),
        os_user=document.get("runner", {}).get("os_user"),
        profile=server.get("profile"),
        emulator=bool(server.get("emulator")),
        select=tuple(str(name) for name in selection.get("select", ())),
        exclude=tuple(str(name) for name in selection.get("exclude", ())),
        variables={str(k): str(v) for k, v in (document.get("variables") or {}).items()},
        warnings=tuple(_warning(warning) for warning in document.get("warnings", ())),
    )


def _warning(warning: Mapping[str, Any]) -> WarningRecord:
    return WarningRecord(
        at=_optional(warning.get("at"), _runner_time),
        kind=str(warning["kind"]),
        message=str(warning["message"]),
        job=str(warning.get("job") or ""),
    )


def _drift(drift: Mapping[str, Any]) -> Drift:
    return Drift(
        found=bool(drift["found"]),
        added=tuple(drift.get("added", ())),
        left_out=tuple(drift.get("left_out", ())),
        out_of_order=tuple(drift.get("out_of_order", ())),
    )


def _job(job: Mapping[str, Any]) -> JobRecord:
    return JobRecord(
        name=str(job["name"]),
        ref_kind=str(job["ref"]["kind"]),
        ref_value=str(job["ref"]["value"]),
        outcome=JobOutcome(job["outcome"]),
        needs=tuple(str(need) for need in job.get("needs", ())),
        reason=job.get("reason"),
        resumed=bool(job.get("resumed")),
        configuration_id=job.get("configuration_id"),
        file_id=job.get("file_id"),
        attempts=tuple(_attempt(attempt) for attempt in job.get("attempts", ())),
        line=job.get("line"),
        col=job.get("col"),
        estimate_seconds=job.get("estimate_seconds"),
        estimate_from=job.get("estimate_from"),
        slower_than_usual=bool(job.get("slower_than_usual")),
        gates=tuple(
            GateRecord(str(gate["gate"]), gate.get("actual"), gate.get("met"))
            for gate in job.get("expect", ())
        ),
    )


def _attempt(attempt: Mapping[str, Any]) -> AttemptRecord:
    outcome = attempt.get("outcome")
    return AttemptRecord(
        number=int(attempt["number"]),
        execution_id=attempt.get("execution_id"),
        attached=bool(attempt.get("attached")),
        triggered_at=_optional(attempt.get("triggered_at"), _runner_time),
        detected_at=_optional(attempt.get("detected_at"), _runner_time),
        server_start=_optional(attempt.get("server_start"), datetime.fromisoformat),
        server_stop=_optional(attempt.get("server_stop"), datetime.fromisoformat),
        status=attempt.get("status"),
        raw_status=attempt.get("raw_status"),
        outcome=None if outcome is None else JobOutcome(outcome),
        counters={str(k): int(v) for k, v in (attempt.get("counters") or {}).items()},
        error=attempt.get("error"),
        stop_requested=bool(attempt.get("stop_requested")),
        stop_confirmed=attempt.get("stop_confirmed"),
        stop_method=attempt.get("stop_method"),
        stop_error=attempt.get("stop_error"),
        left_running=attempt.get("left_running"),
        progress=attempt.get("progress"),
        estimate_seconds=attempt.get("estimate_seconds"),
    )


def _runner_time(text: str) -> datetime:
    # dmpipe writes its own times in UTC; a zone-less one can only be that.
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _optional(text: str | None, parse: Callable[[str], datetime]) -> datetime | None:
    return None if text is None else parse(text)


def _describe(error: Any) -> str:
    where = "/".join(str(part) for part in error.absolute_path) or "(top)"
    message = str(error.message)
    return f"{where}: {message[:200]}"
