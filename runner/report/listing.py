"""``dmpipe report list``: the runs kept in a runs folder, newest first, one line each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.errors import DmpipeError
from runner.rundir import RUN_FILES, describe_run, holds_run

LISTING_VERSION = 1


@dataclass(frozen=True)
class ListedRun:
    """One run directory as ``report list`` shows it."""

    directory: Path
    pipeline: str | None
    outcome: str  # succeeded | failed | interrupted | no report
    exit_code: int | None
    started_at: datetime | None
    duration_seconds: float | None
    jobs: int | None
    note: str = ""

    def to_data(self) -> dict[str, Any]:
        """The run as JSON data (``report list --json``)."""
        return {
            "run": self.directory.name,
            "directory": str(self.directory),
            "pipeline": self.pipeline,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "duration_seconds": self.duration_seconds,
            "jobs": self.jobs,
            "note": self.note,
        }


def list_runs(runs: Path) -> list[ListedRun]:
    """The run directories directly in ``runs`` (pointers such as ``latest`` left out),
    newest first."""
    if not runs.is_dir():
        return []
    found = [
        _listed(entry)
        for entry in runs.iterdir()
        if entry.is_dir() and not entry.is_symlink() and holds_run(entry)
    ]
    return sorted(found, key=_newest_first)


def _newest_first(run: ListedRun) -> tuple[float, str]:
    started = run.started_at.timestamp() if run.started_at else 0.0
    return (-started, run.directory.name)


def render_listing(runs: list[ListedRun]) -> str:
    """Aligned columns, never cut: a pipe or a CI log gets every character."""
    from runner.spec.durations import format_elapsed as duration

    if not runs:
        return "no runs\n"
    rows = [("started", "outcome", "took", "jobs", "pipeline", "run")]
    for run in runs:
        started = f"{run.started_at:%Y-%m-%d %H:%M:%S}" if run.started_at else "?"
        outcome = run.outcome if run.exit_code in (None, 0) else f"{run.outcome} ({run.exit_code})"
        rows.append(
            (
                started,
                outcome,
                duration(run.duration_seconds) if run.duration_seconds is not None else "",
                "" if run.jobs is None else str(run.jobs),
                run.pipeline or "",
                str(run.directory) + (f"  {run.note}" if run.note else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _listed(directory: Path) -> ListedRun:
    from runner.report.load import read_report

    if not (directory / RUN_FILES[1]).exists():
        why = f"{describe_run(directory)}: still running, or killed before its report"
        return ListedRun(directory, None, "no report", None, _modified(directory), None, None, why)
    try:
        report = read_report(directory)
    except DmpipeError as error:
        first = str(error).splitlines()[0]
        modified = _modified(directory)
        return ListedRun(directory, None, "unreadable", None, modified, None, None, first)
    if report.exit_code == 0:
        outcome = "succeeded"
    elif report.interrupted:
        outcome = "interrupted"
    else:
        outcome = "failed"
    return ListedRun(
        directory,
        report.pipeline_name,
        outcome,
        report.exit_code,
        report.started_at,
        report.duration_seconds,
        len(report.jobs),
        report.error or "",
    )


def _modified(directory: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(directory.stat().st_mtime).astimezone()
    except OSError:
        return None
