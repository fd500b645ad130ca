"""Running a pipeline end to end: scheduler, journal, report — the engine's one entry point."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.clock import Clock, SystemClock
from runner.datameer.protocol import JobApi
from runner.engine.client_start import ClientStart
from runner.engine.events import EventFanout, EventKind, EventSink, RunEvent
from runner.engine.journal import (
    JOURNAL_NAME,
    Journal,
    ResumedJob,
    matching_artifacts,
    read_journal,
    resume_jobs,
)
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobState
from runner.engine.plan_drift import PlanDrift
from runner.engine.preflight import Call
from runner.engine.run_warnings import WarningLog
from runner.engine.scheduler import Scheduler
from runner.engine.sequential import SequenceUnavailableError, SequentialStart
from runner.engine.strategy import StartFactory
from runner.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVER,
    ConnectionFailedError,
    DmpipeError,
    ServerError,
    ThrottledError,
)
from runner.model import Mode, Pipeline
from runner.report.writer import RunFacts, RunSummary, build_report, write_report
from runner.spec.durations import format_elapsed

log = logging.getLogger("runner.engine")

# Pauses between the tries of the first call when the server answers it badly.
PREFLIGHT_RETRY_DELAYS = (1.0, 2.0)


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs besides the pipeline and the API."""

    mode: Mode  # CLIENT or SEQUENTIAL, or AUTO to fall back to client without the endpoint
    mode_reason: str
    report_dir: Path
    server_url: str | None = None
    resume: bool = False
    options: EngineOptions = field(default_factory=EngineOptions)
    # What is run, for the journal's run_started (runner.engine.identity.RunIdentity data).
    identity: Mapping[str, Any] = field(default_factory=dict)
    # The run's context for the report (user, profile, selection, variables, ...).
    facts: RunFacts = field(default_factory=RunFacts)


@dataclass(frozen=True)
class RunOutcome:
    """The result of a run: the exit code, the job states and where the report is."""

    exit_code: int
    states: dict[str, JobState]
    report_path: Path
    summary: RunSummary
    drift: PlanDrift | None = None


def run_pipeline(
    pipeline: Pipeline,
    api: JobApi,
    request: RunRequest,
    events: EventSink,
    *,
    clock: Clock | None = None,
    cancelled: threading.Event | None = None,
    preflight: Call | None = None,
) -> RunOutcome:
    """Run ``pipeline`` on the server behind ``api``; the report is written whatever happens.

    ``preflight`` is the run's first ``list-running``, already sent by the caller
    (``runner.engine.preflight.start_preflight``): its answer is waited for instead of
    sending the call again."""
    clock = clock or SystemClock()
    cancelled = cancelled or threading.Event()
    resumed = None
    if request.resume:
        records = read_journal(request.report_dir / JOURNAL_NAME)
        records = matching_artifacts(records, request.identity.get("artifacts"))
        resumed = resume_jobs(records, list(pipeline.jobs))
    journal = Journal(request.report_dir)
    warnings = WarningLog(request.facts.warnings)
    fanout = EventFanout([events, journal, warnings])
    started = clock.now()
    # AUTO starts with the sequential trigger; the report names the mode that ran.
    mode = Mode.SEQUENTIAL if request.mode is Mode.AUTO else request.mode
    reason, fallback = request.mode_reason, None
    scheduler: Scheduler | None = None
    failure: DmpipeError | None = None
    try:
        fanout(
            RunEvent(
                started,
                EventKind.RUN_STARTED,
                message=f"run of {pipeline.name} ({mode.value} mode: {reason})",
                data={
                    **request.identity,
                    "mode": request.mode.value,
                    "resume": request.resume,
                    "file": str(Path(pipeline.path).resolve()),
                    "jobs": list(pipeline.jobs),
                    # What the live view counts down from when Datameer gives no estimate.
                    "estimates": {
                        name: job.estimate
                        for name, job in pipeline.jobs.items()
                        if job.estimate is not None
                    },
                },
            )
        )
        # One cheap call first: a wrong URL or password stops the run before any trigger.
        _preflight(api, cancelled, clock, warnings, preflight)
        scheduler = _scheduler(pipeline, api, request, fanout, clock, cancelled, resumed)
        try:
            states = scheduler.execute()
        except SequenceUnavailableError as error:
            mode, fallback = Mode.CLIENT, str(error)
            reason = f"{reason}; fell back to client mode: {fallback}"
            fanout(
                RunEvent(
                    clock.now(),
                    EventKind.MODE_FALLBACK,
                    message=f"falling back to client "
                    f"mode: {fallback}; workbook variables are NOT applied",
                )
            )
            scheduler = Scheduler(
                pipeline,
                api,
                fanout,
                start=ClientStart,
                clock=clock,
                options=request.options,
                cancelled=cancelled,
                resumed=resumed,
            )
            states = scheduler.execute()
    except DmpipeError as error:
        failure = error
        raise
    finally:
        if scheduler is not None:
            states = {name: slot.state for name, slot in scheduler.slots.items()}
        else:  # stopped before the first tick (the preflight call failed): nothing ran
            states = {name: JobState(name) for name in pipeline.jobs}
        summary = RunSummary(
            exit_code=failure.exit_code if failure else _exit_code(states, scheduler),
            interrupted=bool(scheduler and scheduler.run.interrupted),
            timed_out=bool(scheduler and scheduler.run.timed_out),
            mode=mode.value,
            mode_reason=reason,
            started_at=started,
            finished_at=clock.now(),
            error=str(failure) if failure else (scheduler.run.error if scheduler else None),
            ended_by=scheduler.run.ended_by if scheduler else None,
            mode_requested=request.facts.mode_requested or request.mode.value,
            mode_fallback=fallback,
        )
        strategy = scheduler.strategy if scheduler is not None else None
        drift = strategy.drift if isinstance(strategy, SequentialStart) else None
        report = build_report(
            pipeline,
            states,
            summary,
            server_url=request.server_url,
            drift=drift,
            options=request.options,
            facts=request.facts,
            warnings=[warning.to_data() for warning in warnings.warnings],
        )
        path = write_report(request.report_dir, report)
        finished: dict[str, Any] = {"exit_code": summary.exit_code}
        if failure is not None:
            finished["error"] = str(failure)  # the caller shows it; the line says so
        fanout(
            RunEvent(
                summary.finished_at,
                EventKind.RUN_FINISHED,
                message=_closing_line(states, summary, path, ended_by_error=failure is not None),
                data=finished,
            )
        )
        journal.close()
    return RunOutcome(summary.exit_code, states, path, summary, drift)


def _preflight(
    api: JobApi,
    cancelled: threading.Event,
    clock: Clock,
    warnings: WarningLog,
    sent: Call | None = None,
) -> None:
    """``list-running`` before anything is triggered (``sent``: its first try, already on
    its way).  A connection that cannot be made (refused, a host name that does not
    resolve, a failed TLS handshake), refused credentials or an answer that is not the
    API's (a proxy's login page, garbage) end the run at once: nothing has started, and a
    wrong address or password is the likely cause; so does a server that lets the call's
    time run out (it had its limits).  A busy server (5xx, 429), or one that took the
    connection and dropped it (the client's own retries included), is asked again a few
    times over a few seconds first: a blip at the start of a CI step is not a wrong
    address.  An interrupt ends the wait at once (the scheduler then skips every
    job: nothing was started)."""
    for delay in (*PREFLIGHT_RETRY_DELAYS, None):
        call, sent = sent or Call(api.list_running), None
        try:
            call.wait(cancelled, clock)
            return
        except (ServerError, ThrottledError, ConnectionFailedError) as error:
            if isinstance(error, ConnectionFailedError):
                if not error.dropped:
                    raise
                kind = "server_unreachable"
            else:
                kind = "server_busy"
            if delay is None:
                raise
            log.warning("%s; asking again in %.0fs", error, delay)
            warnings.add(kind, f"{error}; asked again in {delay:.0f}s", clock.now())
            if clock.wait(delay, cancelled):
                return


def _scheduler(
    pipeline: Pipeline,
    api: JobApi,
    request: RunRequest,
    events: EventSink,
    clock: Clock,
    cancelled: threading.Event,
    resumed: Mapping[str, ResumedJob] | None,
) -> Scheduler:
    strategies: dict[Mode, StartFactory] = {
        Mode.CLIENT: ClientStart,
        Mode.SEQUENTIAL: SequentialStart,
        Mode.AUTO: SequentialStart.with_fallback,
    }
    return Scheduler(
        pipeline,
        api,
        events,
        start=strategies[request.mode],
        clock=clock,
        options=request.options,
        cancelled=cancelled,
        resumed=resumed,
    )


def _exit_code(states: dict[str, JobState], scheduler: Scheduler | None) -> int:
    if scheduler is not None and scheduler.run.interrupted:
        return EXIT_INTERRUPTED
    if scheduler is not None and (scheduler.run.server_lost or scheduler.run.refused):
        return EXIT_SERVER
    if scheduler is None or any(state.outcome.is_failure for state in states.values()):
        return EXIT_FAILED
    if any(not state.outcome.is_final for state in states.values()):
        return EXIT_FAILED
    return EXIT_OK


def _closing_line(
    states: dict[str, JobState], summary: RunSummary, path: Path, *, ended_by_error: bool
) -> str:
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state.outcome.value.lower()] = counts.get(state.outcome.value.lower(), 0) + 1
    tally = ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
    seconds = (summary.finished_at - summary.started_at).total_seconds()
    how = "ended by an error after" if ended_by_error else "finished in"
    return f"run {how} {format_elapsed(seconds)}: {tally or 'no jobs'} — report {path}"
