"""The counters overview of a run: records, dropped records and bytes per job, from
Datameer's job-details counters, and every ``expect`` gate with its verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runner.report.saved import RunReport

# Which counters go in which column (Datameer names them <KIND>_RECORDS, <KIND>_BYTES ...).
COLUMNS_NOTE = (
    "records: *_RECORDS (previews left out) · dropped: *_DROPPED_RECORDS · "
    "bytes: *_BYTES (output bytes left out); the job's last attempt with counters"
)


@dataclass(frozen=True)
class CounterLine:
    """One job's totals; None where the job reported no such counter."""

    job: str
    records: int | None
    dropped: int | None
    bytes: int | None


@dataclass(frozen=True)
class GateLine:
    """One gate of one job."""

    job: str
    gate: str
    actual: int | None
    verdict: str  # met | not met | not judged


def counter_lines(report: RunReport) -> list[CounterLine]:
    """A line per job that reported counters, in file order."""
    return [CounterLine(job.name, *_totals(job.counters)) for job in report.jobs if job.counters]


def gate_lines(report: RunReport) -> list[GateLine]:
    """A line per ``expect`` gate, in file order."""
    words = {True: "met", False: "not met", None: "not judged"}
    return [
        GateLine(job.name, gate.gate, gate.actual, words[gate.met])
        for job in report.jobs
        for gate in job.gates
    ]


def _totals(counters: Mapping[str, int]) -> tuple[int | None, int | None, int | None]:
    def total(keep: list[int]) -> int | None:
        return sum(keep) if keep else None

    records = [
        value
        for name, value in counters.items()
        if name.endswith("_RECORDS") and not name.endswith(("_DROPPED_RECORDS", "_PREVIEW_RECORDS"))
    ]
    dropped = [value for name, value in counters.items() if name.endswith("_DROPPED_RECORDS")]
    size = [
        value
        for name, value in counters.items()
        if name.endswith("_BYTES") and not name.endswith("_OUTPUT_BYTES")
    ]
    return total(records), total(dropped), total(size)
