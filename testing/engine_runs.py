"""Building pipelines and emulator scenarios for engine tests, and running them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner.clock import Clock, SystemClock, VirtualClock
from runner.datameer.client import DatameerClient
from runner.emulator import EmulatorServer
from runner.engine import driver
from runner.engine.driver import RunOutcome, RunRequest, run_pipeline
from runner.engine.events import RunEvent
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome
from runner.model import (
    AlreadyRunning,
    CounterExpectation,
    Job,
    Mode,
    OnFailure,
    Pipeline,
    RetryPolicy,
    RunPolicies,
    WarningsAs,
    When,
)
from runner.reference import JobRef
from testing import scenarios
from testing.scenarios import PASSWORD, USER


def artifact(file_id: int, duration: float = 2, **extra: Any) -> dict[str, Any]:
    """One emulated artifact; durations are emulated seconds."""
    return scenarios.artifact(file_id, duration=duration, **extra)


def scenario(*artifacts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A scenario on a running clock: 100 emulated seconds pass per real second."""
    return scenarios.scenario(*artifacts, **{"clock": "real", "time_scale": 100, **extra})


def job(
    name: str,
    file_id: int,
    *needs: str,
    retries: int = 0,
    retry_on: tuple[str, ...] = ("ERROR",),
    timeout: float | None = None,
    when: When = When.ALL_SUCCESS,
    warnings: WarningsAs = WarningsAs.SUCCESS,
    already_running: AlreadyRunning = AlreadyRunning.WAIT,
    expect: tuple[CounterExpectation, ...] = (),
) -> Job:
    """A pipeline job with fast retries."""
    return Job(
        name=name,
        ref=JobRef.parse(file_id),
        needs=needs,
        when=when,
        retry=RetryPolicy(
            retries=retries, delay=0.05, backoff=1, jitter=False, retry_on=frozenset(retry_on)
        ),
        timeout=timeout,
        warnings=warnings,
        already_running=already_running,
        expect=expect,
    )


def pipeline(
    *jobs: Job,
    on_failure: OnFailure = OnFailure.CANCEL,
    mode: Mode = Mode.CLIENT,
    variables: Mapping[str, str] | None = None,
    max_parallel: int | None = None,
    timeout: float | None = None,
) -> Pipeline:
    """A pipeline polling every 20 ms."""
    return Pipeline(
        name="test",
        path="test.yaml",
        version=1,
        jobs={j.name: j for j in jobs},
        mode=mode,
        variables=dict(variables or {}),
        policies=RunPolicies(
            on_failure=on_failure,
            max_parallel=max_parallel,
            timeout=timeout,
            poll_interval=0.02,
            max_poll_interval=0.1,
        ),
    )


@dataclass
class Run:
    """A finished run with what it emitted."""

    outcome: RunOutcome
    events: list[RunEvent] = field(default_factory=list)

    def outcome_of(self, name: str) -> JobOutcome:
        return self.outcome.states[name].outcome

    def kinds(self, name: str = "") -> list[str]:
        return [e.kind for e in self.events if not name or e.job == name]

    def peak_running(self) -> int:
        """The most jobs between their trigger and their end at any one time."""
        running = peak = 0
        for event in self.events:
            if event.kind == "triggering":
                running += 1
            elif event.kind == "finished":
                running -= 1
            peak = max(peak, running)
        return peak


def run(
    server: EmulatorServer,
    pipe: Pipeline,
    report_dir: Path,
    *,
    mode: Mode | None = None,
    options: EngineOptions | None = None,
    cancelled: threading.Event | None = None,
    resume: bool = False,
    real_time: bool = False,
    on_event: Callable[[RunEvent], None] | None = None,
) -> Run:
    """Run ``pipe`` against the emulator through the real client.

    The run and the emulator share a virtual clock (waits take no real time) unless
    ``real_time``: tests whose helper threads act after real delays need real time.
    ``on_event`` hears each event as the run emits it, in the run's thread (virtual time
    stands still meanwhile): a test acts at an exact point of the run.
    """
    events: list[RunEvent] = []

    def sink(event: RunEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    clock: Clock = SystemClock()
    if not real_time:
        clock = VirtualClock()
        server.clock.follow(clock)
    request = RunRequest(
        mode=mode or pipe.mode,
        mode_reason="test",
        report_dir=report_dir,
        server_url=server.url,
        resume=resume,
        options=options or EngineOptions(trigger_resolve_timeout=2.0, stop_confirm_timeout=5.0),
    )
    with DatameerClient(server.url, user=USER, password=PASSWORD, backoff_factor=0.01) as api:
        outcome = run_pipeline(pipe, api, request, sink, clock=clock, cancelled=cancelled)
    return Run(outcome, events)


def on_virtual_time(monkeypatch: pytest.MonkeyPatch, *servers: EmulatorServer) -> VirtualClock:
    """Every run this test starts in-process (``main([...])``, ``run_file``, ``run_job``)
    waits on one ``VirtualClock``, as ``run`` does, and the emulated clocks of ``servers``
    and of every emulator started from now on (``--emulator``'s too) follow it: poll
    intervals, retry delays and stop confirmations take no real time, and emulated jobs
    progress exactly as far as the run waits.  (The command line has no clock to pass
    in: the run's default clock is swapped for this test.)"""
    clock = VirtualClock()
    for server in servers:
        server.clock.follow(clock)
    start = EmulatorServer.start

    def start_following(server: EmulatorServer) -> EmulatorServer:
        start(server)
        server.clock.follow(clock)
        return server

    monkeypatch.setattr(driver, "SystemClock", lambda: clock)
    monkeypatch.setattr(EmulatorServer, "start", start_following)
    return clock
