"""Running dmpipe in this process against an emulator URL, timed, with every event kept."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workload import PASSWORD, USER

if TYPE_CHECKING:
    from runner.engine.events import RunEvent


@dataclass(frozen=True)
class TimedRun:
    """A finished run: its exit code, its wall time, and the events it emitted."""

    exit_code: int
    started: float  # wall clock (time.time()) when run_pipeline was called
    seconds: float  # real seconds run_pipeline took (loading the file excluded)
    events: tuple[RunEvent, ...]
    outcomes: dict[str, str]

    def first(self, kind: str) -> dict[str, float]:
        """Wall time (epoch seconds) of each job's first event of ``kind``."""
        seen: dict[str, float] = {}
        for event in self.events:
            if event.kind == kind and event.job and event.job not in seen:
                seen[event.job] = event.at.timestamp()
        return seen


def run_dmpipe(
    pipeline_file: Path,
    url: str,
    report_dir: Path,
    *,
    mode: str = "client",
    batch_polling: bool = True,
) -> TimedRun:
    """``dmpipe run`` as the library does it: load the file, run it, keep the events."""
    from runner.datameer.client import DatameerClient
    from runner.engine.driver import RunRequest, run_pipeline
    from runner.engine.options import EngineOptions
    from runner.model import Mode
    from runner.spec import load_pipeline

    pipeline = load_pipeline(pipeline_file)
    request = RunRequest(
        mode=Mode(mode),
        mode_reason="benchmark",
        report_dir=report_dir,
        server_url=url,
        options=EngineOptions(batch_polling=batch_polling),
    )
    events: list[RunEvent] = []

    def keep(event: RunEvent) -> None:
        events.append(event)

    with DatameerClient(url, user=USER, password=PASSWORD) as api:
        started, clock = time.time(), time.perf_counter()
        outcome = run_pipeline(pipeline, api, request, keep)
        seconds = time.perf_counter() - clock
    outcomes = {name: state.outcome.value for name, state in outcome.states.items()}
    return TimedRun(outcome.exit_code, started, seconds, tuple(events), outcomes)
