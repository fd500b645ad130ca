"""The scheduling loop shared by both execution modes.

One thread runs the loop; HTTP calls go through a bounded pool.  Each tick:
harvest finished triggers, enforce timeouts, start what is ready, poll what
runs, settle what can no longer run, then sleep — ``poll_interval`` after a
change, backing off to ``max_poll_interval`` while nothing changes.

``ClientScheduler`` triggers every job itself; ``runner.engine.sequential``
subclasses it to hand the chain to Datameer's sequential trigger.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from runner.clock import Clock, SystemClock
from runner.datameer.protocol import JobApi
from runner.datameer.records import JobDetails, RunningJob
from runner.datameer.status import JobStatus
from runner.engine.events import EventSink, RunEvent
from runner.engine.journal import ResumedJob
from runner.engine.options import EngineOptions
from runner.engine.outcome import Attempt, JobOutcome, JobState
from runner.engine.policy import (
    execution_verdict,
    failed_gates,
    readiness,
    retry_delay,
    retry_kind,
    skip_reason,
)
from runner.engine.poller import Observation, TickResult, Watch, poll
from runner.engine.stopper import send_stop, stop_unresolved
from runner.engine.trigger import StartControl, StartRequest, StartResult, start_attempt
from runner.errors import AuthenticationError
from runner.model import Job, OnFailure, Pipeline, When
from runner.reference import RefKind

log = logging.getLogger("runner.engine")

T = TypeVar("T")

# Consecutive failed look-ups of one execution before its attempt is given up.
MAX_OBSERVATION_ERRORS = 5
# Rounds of trigger sends (each up to trigger.MAX_TRIGGER_SENDS) one attempt may make while
# the server answers 5xx or drops them, before the attempt fails like a failed run.
MAX_START_ROUNDS = 3


@dataclass
class Slot:
    """The scheduler's private bookkeeping for one job (beside its public JobState)."""

    job: Job
    state: JobState
    not_before: float = 0.0
    started_at: float | None = None  # monotonic time of the current attempt's start
    starting: Future[StartResult] | None = None
    waiting_on: int | None = None
    stop_sent_at: float | None = None
    stop_outcome: JobOutcome | None = None  # what a confirmed stop will make of the attempt
    errors: int = 0
    failures: int = 0
    # --resume: a trigger was in flight when the last run died; look for it before triggering.
    resolve_pending: bool = False
    resolve_from: int | None = None
    last_status: JobStatus | None = None
    blocked_by: str | None = None  # a need last seen unfinished (see _blocked)
    start_rounds: int = 0  # trigger rounds of the current attempt lost to transient failures
    unseen_since: float | None = None  # the execution was not found (not visible yet?)
    stop_retry: bool = False  # whether a confirmed stop leaves the job to be retried


@dataclass
class RunState:
    """What the loop knows of the run as a whole."""

    started_at: float
    halted_by: str | None = None  # the failing job when on_failure stops new starts
    interrupted: bool = False
    timed_out: bool = False
    server_lost: bool = False  # unreachable for longer than EngineOptions.unreachable_timeout
    unreachable_since: float | None = None
    refused: str | None = None  # the server refused the credentials mid-run (401)
    notes: list[str] = field(default_factory=list)

    @property
    def ended_by(self) -> str | None:
        """What ended the run early, as a word for reports; None when nothing did."""
        if self.refused is not None:
            return "credentials_refused"
        if self.server_lost:
            return "server_lost"
        if self.interrupted:
            return "interrupted"
        return "run_timeout" if self.timed_out else None

    @property
    def error(self) -> str | None:
        """Why the run as a whole ended early, in words (None when it did not)."""
        if self.refused is not None:
            return self.refused
        if self.server_lost:
            return self.notes[-1] if self.notes else "the server stopped answering"
        return None


class ClientScheduler:
    """Runs a pipeline by triggering and polling every job itself."""

    def __init__(
        self,
        pipeline: Pipeline,
        api: JobApi,
        events: EventSink,
        *,
        clock: Clock | None = None,
        options: EngineOptions | None = None,
        cancelled: threading.Event | None = None,
        resumed: Mapping[str, ResumedJob] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.api = api
        self.emit_sink = events
        self.clock = clock or SystemClock()
        self.options = options or EngineOptions()
        self.cancelled = cancelled or threading.Event()
        self._control = StartControl(self.options.interrupt_grace)
        self.rng = random.Random(self.options.seed)
        self.slots = {name: Slot(job, JobState(name)) for name, job in pipeline.jobs.items()}
        self.run = RunState(started_at=self.clock.monotonic())
        for name, earlier in (resumed or {}).items():
            if name in self.slots:
                self._carry_over(self.slots[name], earlier)
        self._pool: ThreadPoolExecutor | None = None
        # Polls run here, so that the loop can wait for them and still answer Ctrl-C.
        self._poller: ThreadPoolExecutor | None = None
        # Stops in flight, with the job they are for (None: a plan step no job matched).
        self._stops: list[tuple[Slot | None, Future[None]]] = []
        self._owned: set[int] | None = None  # _own_executions' answer during one start pass
        self._poll_due = float("-inf")  # monotonic time of the next poll
        self._polled = False  # whether the last tick polled
        self._unfinished: Slot | None = None  # a job _all_final last found unfinished

    # -- the loop -----------------------------------------------------------------

    def execute(self) -> dict[str, JobState]:
        """Drive every job to a final outcome; returns the job states."""
        self._pool = ThreadPoolExecutor(self.options.http_workers, thread_name_prefix="dmpipe")
        self._poller = ThreadPoolExecutor(1, thread_name_prefix="dmpipe-poll")
        try:
            self._loop()
            self._drain()
            self._finish_stops()
        except BaseException:
            self._emergency_stop()
            raise
        finally:
            self._control.halt()
            # Calls still hanging on a server that stopped answering are abandoned, not
            # waited for: each is bounded by the client's deadline and changes nothing.
            for pool in (self._pool, self._poller):
                pool.shutdown(wait=False, cancel_futures=True)
        return {name: slot.state for name, slot in self.slots.items()}

    def _emergency_stop(self) -> None:
        """The loop died (a bug, or a KeyboardInterrupt in a program that embeds dmpipe):
        still stop what this run started before the error goes up (contract C2)."""
        log.error("the run stopped on an unexpected error: stopping the jobs it started")
        self.run.interrupted = True
        try:
            self._halt(JobOutcome.CANCELED, "dmpipe stopped on an unexpected error")
            self._finish_stops()
        except Exception:  # the original error matters more; this was best effort
            log.exception("stopping the jobs after the error failed too")

    def _drain(self) -> None:
        """Hook: wait for executions the run started that belong to no job (sequential
        mode's extra plan steps) before the run ends; nothing to do in client mode."""

    def _loop(self) -> None:
        policies = self.pipeline.policies
        interval = policies.poll_interval
        if not self.cancelled.is_set():  # interrupted during the preflight: start nothing
            self.begin()
        while not self._all_final():
            if self._halt_requested():
                break
            changed = self._tick()
            if self._all_final():
                break
            now = self.clock.monotonic()
            if self._polled:
                interval = (
                    policies.poll_interval
                    if changed
                    else min(interval * 1.5, policies.max_poll_interval)
                )
                self._poll_due = now + interval
            elif changed:  # e.g. a retry started: poll it soon, never later than planned
                self._poll_due = min(self._poll_due, now + policies.poll_interval)
            self._sleep(self._next_wait(self._poll_due - now))

    def _carry_over(self, slot: Slot, earlier: ResumedJob) -> None:
        """Take a job's state from an earlier run's journal (``--resume``)."""
        slot.state = earlier.state
        if earlier.state.outcome is JobOutcome.RUNNING:
            slot.started_at = self.clock.monotonic()
        slot.resolve_pending = earlier.unresolved_trigger
        slot.resolve_from = earlier.previous_execution_id

    def _sleep(self, seconds: float) -> None:
        """Wait until the next tick, waking early for an interrupt.

        Landed triggers do not wake the loop: they are harvested by the next tick, due
        within ``poll_interval`` of any start, which is also when their job is first polled.
        """
        deadline = self.clock.monotonic() + seconds
        while not self.cancelled.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                break
            # Short slices: the interrupt event is set from a signal handler, not waited on.
            time.sleep(min(remaining, 0.1))

    def begin(self) -> None:
        """Hook for work before the first tick (the sequential mode's trigger)."""

    def _tick(self) -> bool:
        changed = self._harvest_starts()
        self._enforce_timeouts()
        # A tick that came early (a retry's start time) harvests and starts but polls only
        # when due: the server sees one poll per interval.
        self._polled = self.clock.monotonic() >= self._poll_due
        if self._polled:
            changed = self._poll() or changed
        changed = self._settle() or changed
        # Last, so that a job is triggered in the same tick its needs were seen finishing.
        return self._start_ready() or changed

    def _halt_requested(self) -> bool:
        if self.run.refused is not None:
            self.emit("credentials_refused", message=f"giving up: {self.run.refused}")
            self._halt(JobOutcome.CANCELED, "the server refused the credentials")
            return True
        if self.cancelled.is_set():
            self.run.interrupted = True
            self.emit("interrupted", message="interrupted: stopping the jobs this run started")
            self._halt(JobOutcome.CANCELED, "interrupted")
            return True
        since = self.run.unreachable_since
        patience = self.options.unreachable_timeout
        if since is not None and self.clock.monotonic() - since > patience:
            self.run.server_lost = True
            self.run.notes.append(f"server unreachable for over {patience:g}s")
            self.emit(
                "server_lost", message=f"server unreachable for over {patience:g}s: giving up"
            )
            self._halt(JobOutcome.CANCELED, f"server unreachable for over {patience:g}s")
            return True
        limit = self.pipeline.policies.timeout
        if limit is not None and self.clock.monotonic() - self.run.started_at > limit:
            self.run.timed_out = True
            self.emit("run_timeout", message=f"run timeout of {limit:g}s reached")
            self._halt(JobOutcome.TIMED_OUT, f"run timeout of {limit:g}s")
            return True
        return False

    def _next_wait(self, interval: float) -> float:
        now = self.clock.monotonic()
        due = [
            slot.not_before - now
            for slot in self.slots.values()
            if slot.state.outcome is JobOutcome.PENDING and slot.not_before > now
        ]
        return max(0.0, min([interval, *due]))

    def _all_final(self) -> bool:
        # Asked twice a tick: the job found unfinished last time usually still is.
        if self._unfinished is not None and not self._unfinished.state.outcome.is_final:
            return False
        self._unfinished = next(
            (slot for slot in self.slots.values() if not slot.state.outcome.is_final), None
        )
        return self._unfinished is None

    # -- events -------------------------------------------------------------------

    def emit(self, kind: str, slot: Slot | None = None, message: str = "", **data: object) -> None:
        """Tell the listeners about a transition."""
        attempt = slot.state.current if slot else None
        self.emit_sink(
            RunEvent(
                at=self.clock.now(),
                kind=kind,
                job=slot.job.name if slot else "",
                attempt=attempt.number if attempt else 0,
                message=message,
                data=dict(data),
            )
        )

    # -- starting -----------------------------------------------------------------

    def _start_ready(self) -> bool:
        if self.run.refused is not None or self._control.halted:
            return False
        if self.run.halted_by is not None and not self._handlers_pending():
            return False
        capacity = self._capacity()
        started = False
        try:
            for slot in self._ready_slots():
                if capacity <= 0:
                    break
                self._start(slot)
                if slot.starting is None:  # started synchronously: new execution ids may exist
                    self._owned = None
                capacity -= 1
                started = True
        finally:
            self._owned = None
        return started

    def _capacity(self) -> int:
        limit = self.pipeline.policies.max_parallel
        if limit is None:
            return len(self.slots)
        busy = sum(1 for s in self.slots.values() if s.state.outcome is JobOutcome.RUNNING)
        return limit - busy

    def _ready_slots(self) -> Iterable[Slot]:
        now = self.clock.monotonic()
        for slot in self.slots.values():
            if slot.state.outcome is not JobOutcome.PENDING or slot.not_before > now:
                continue
            if self.run.halted_by is not None and slot.job.when is When.ALL_SUCCESS:
                continue
            if not self._blocked(slot) and readiness(
                slot.job, self._need_outcomes(slot.job).values()
            ):
                yield slot

    def _blocked(self, slot: Slot) -> bool:
        """True while a need is unfinished (``readiness`` would say None), checked cheaply:
        the need that blocked the job last time is looked at first, as it usually still does."""
        blocker = slot.blocked_by
        if blocker is not None and not self.slots[blocker].state.outcome.is_final:
            return True
        for need in slot.job.needs:
            if need in self.slots and not self.slots[need].state.outcome.is_final:
                slot.blocked_by = need
                return True
        slot.blocked_by = None
        return False

    def _handlers_pending(self) -> bool:
        return any(
            s.state.outcome is JobOutcome.PENDING and s.job.when is not When.ALL_SUCCESS
            for s in self.slots.values()
        )

    def _need_outcomes(self, job: Job) -> dict[str, JobOutcome]:
        return {need: self.slots[need].state.outcome for need in job.needs if need in self.slots}

    def _start(self, slot: Slot) -> None:
        """Begin an attempt: the trigger runs in the pool, harvested on a later tick."""
        assert self._pool is not None
        state = slot.state
        # An attempt that waited for a foreign execution is still unused: reuse it.
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
        state.outcome = JobOutcome.RUNNING
        slot.errors = 0
        resolve_first, slot.resolve_pending = slot.resolve_pending, False
        self.emit("triggering", slot, "triggering")
        request = StartRequest(
            job=slot.job,
            own=frozenset(self._own_executions()),
            resolve_timeout=self.options.trigger_resolve_timeout,
            poll_interval=self.pipeline.policies.poll_interval,
            control=self._control,
            now=self.clock.now,
            previous_execution_id=slot.resolve_from,
            resolve_first=resolve_first,
            on_send=lambda previous: self.emit(
                "trigger_sent", slot, "sending trigger", previous_execution_id=previous
            ),
        )
        slot.starting = self._pool.submit(start_attempt, self.api, request)

    def _own_executions(self) -> set[int]:
        # Asked once per start; the ids only change when triggers are harvested, so one
        # scan serves a whole _start_ready pass (O(jobs) per tick, not per start).
        if self._owned is None:
            self._owned = {
                attempt.execution_id
                for slot in self.slots.values()
                for attempt in slot.state.attempts
                if attempt.execution_id is not None and not attempt.attached
            }
        return self._owned

    def _harvest_starts(self) -> bool:
        changed = False
        for slot in self.slots.values():
            if slot.starting is None or not slot.starting.done():
                continue
            future, slot.starting = slot.starting, None
            try:
                result = future.result()
            except AuthenticationError as error:  # 401: nothing was started by this call
                self.run.refused = self.run.refused or str(error)
                result = StartResult(aborted=True)
            self._apply_start(slot, result)
            changed = True
        return changed

    def _apply_start(self, slot: Slot, result: StartResult) -> None:
        attempt = slot.state.current
        assert attempt is not None
        if result.waiting_on is not None:
            slot.waiting_on = result.waiting_on
            slot.state.outcome = JobOutcome.WAITING
            self.emit(
                "waiting",
                slot,
                f"waiting for execution {result.waiting_on}, started outside this run",
                execution_id=result.waiting_on,
            )
            return
        slot.waiting_on = None
        slot.state.file_id = slot.state.file_id or result.file_id
        if result.aborted:
            self._unstarted(slot)
            return
        if result.transient and self._start_again_later(slot, result):
            return
        if result.execution_id is None:
            slot.start_rounds = 0
            attempt.error = result.error
            reason = result.error or "trigger failed"
            self._attempt_over(slot, JobOutcome.FAILED, reason, None, retry=not result.permanent)
            return
        if not result.attached and result.execution_id in self._own_executions():
            self._not_its_execution(slot, result, f"is already this run's ({self._owner(result)})")
            return
        slot.start_rounds = 0
        self._note_reachability(None)
        if self._owned is not None and not result.attached:
            self._owned.add(result.execution_id)  # the next start of this pass must see it
        attempt.execution_id = result.execution_id
        attempt.attached = result.attached
        attempt.triggered_at = result.sent_at or self.clock.now()
        attempt.trigger_sends = result.sends
        attempt.recovered = result.recovered
        slot.started_at = self.clock.monotonic()
        slot.unseen_since = None
        slot.resolve_from = result.previous_execution_id
        kind = "attached" if result.attached else "triggered"
        how = " (its answer was lost; found it by status)" if result.recovered else ""
        self.emit(
            kind,
            slot,
            f"{kind} execution {result.execution_id}{how}",
            execution_id=result.execution_id,
            recovered=result.recovered,
            triggered_at=attempt.triggered_at.isoformat(),
        )
        cancelling = self.pipeline.policies.on_failure is OnFailure.CANCEL
        if self.run.halted_by is not None and cancelling and slot.job.when is When.ALL_SUCCESS:
            # Its trigger was in flight when another job failed: cancel it like the rest.
            self._request_stop(slot, JobOutcome.CANCELED, f"canceled: {self.run.halted_by} failed")

    def _unstarted(self, slot: Slot) -> None:
        """The run halted before the trigger went out: the job did not run."""
        state = slot.state
        if state.current is not None and state.current.execution_id is None:
            state.attempts.pop()
        state.outcome = JobOutcome.PENDING

    def _owner(self, result: StartResult) -> str:
        for other in self.slots.values():
            if any(a.execution_id == result.execution_id for a in other.state.attempts):
                return other.job.name
        return "another job"

    def _not_its_execution(self, slot: Slot, result: StartResult, why: str) -> None:
        """The trigger named an execution that is not this job's: its real outcome is unknown."""
        message = (
            f"the server answered execution {result.execution_id} to the trigger of "
            f"{slot.job.name}, but that execution {why}; looking for the job's own execution"
        )
        log.warning("%s: %s", slot.job.name, message)
        self.emit("wrong_execution", slot, message, execution_id=result.execution_id)
        unknown = StartResult(
            error=message,
            transient=True,
            sent=True,
            previous_execution_id=result.previous_execution_id,
        )
        if not self._start_again_later(slot, unknown):
            attempt = slot.state.current
            assert attempt is not None
            attempt.error = message
            self._attempt_over(slot, JobOutcome.FAILED, message, None, retry=False)

    def _start_again_later(self, slot: Slot, result: StartResult) -> bool:
        """Queue an attempt whose start failed only transiently; False once its triggers
        were lost MAX_START_ROUNDS times (a server that always answers 500 to it)."""
        if result.sent:
            slot.start_rounds += 1
            if slot.start_rounds >= MAX_START_ROUNDS:
                return False
            # That trigger may land yet: its execution is looked for before another is sent.
            slot.resolve_pending, slot.resolve_from = True, result.previous_execution_id
        else:
            self._note_reachability(result.error)
        slot.state.outcome = JobOutcome.PENDING
        slot.not_before = self.clock.monotonic() + self.pipeline.policies.poll_interval
        return True

    # -- polling ------------------------------------------------------------------

    def _watches(self) -> dict[int, Slot]:
        watched: dict[int, Slot] = {}
        for slot in self.slots.values():
            attempt = slot.state.current
            if slot.waiting_on is not None and slot.state.outcome is JobOutcome.WAITING:
                watched[slot.waiting_on] = slot
            elif (
                slot.state.outcome is JobOutcome.RUNNING
                and slot.starting is None
                and attempt is not None
                and attempt.execution_id is not None
            ):
                watched[attempt.execution_id] = slot
        return watched

    def _poll(self, deadline: float | None = None) -> bool:
        """One look at every watched execution; gives up waiting for the server at
        ``deadline`` (or, without one, when the run is interrupted)."""
        assert self._pool is not None
        assert self._poller is not None
        watched = self._watches()
        if not watched:
            return False
        watches = [Watch(eid, slot.state.configuration_id) for eid, slot in watched.items()]
        pool = self._pool
        future = self._poller.submit(
            lambda: poll(self.api, watches, pool, batch=self.options.batch_polling)
        )
        tick = self._await(future, deadline)
        if tick is None:
            return False
        return self._apply_tick(watched, tick)

    def _await(self, future: Future[T], deadline: float | None) -> T | None:
        """The future's result, or None once ``deadline`` passed (or, without a deadline,
        once the run is interrupted): the loop never hangs on a server that stopped
        answering."""
        while True:
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return None
            elif self.cancelled.is_set():
                return None
            try:
                return future.result(timeout=min(0.1, wait) if deadline is not None else 0.1)
            except TimeoutError:
                continue

    def _apply_tick(self, watched: dict[int, Slot], tick: TickResult) -> bool:
        if tick.refused is not None:
            self.run.refused = self.run.refused or str(tick.refused)
            return True
        self._note_reachability(tick.transient)
        changed = False
        for execution_id, observation in tick.observations.items():
            slot = watched[execution_id]
            if slot.state.outcome is JobOutcome.WAITING:
                changed = self._observe_foreign(slot, observation) or changed
            else:
                changed = self._observe(slot, observation) or changed
        return changed

    def _note_reachability(self, transient: str | None) -> None:
        now = self.clock.monotonic()
        if transient is not None and self.run.unreachable_since is None:
            self.run.unreachable_since = now
            self.emit(
                "server_unreachable", message=f"server not answering, will keep trying: {transient}"
            )
        elif transient is None and self.run.unreachable_since is not None:
            down = now - self.run.unreachable_since
            self.run.unreachable_since = None
            self.emit("server_back", message=f"server answering again after {down:.1f}s")

    def _observe_foreign(self, slot: Slot, observation: Observation) -> bool:
        status = _observed_status(observation)
        if observation.error is not None:
            slot.errors += 1
            if slot.errors < MAX_OBSERVATION_ERRORS:
                return False
        elif status is None or not status.is_terminal:
            return False
        slot.errors = 0
        self.emit(
            "waited",
            slot,
            f"execution {slot.waiting_on} ended ({status.value if status else 'gone'}); "
            "triggering now",
        )
        slot.waiting_on = None
        slot.state.outcome = JobOutcome.PENDING
        slot.not_before = 0.0
        return True

    def _observe(self, slot: Slot, observation: Observation) -> bool:
        attempt = slot.state.current
        assert attempt is not None
        if observation.error is not None:
            return self._observation_failed(slot, attempt, observation)
        slot.errors = 0
        slot.unseen_since = None
        if observation.running is not None:
            return self._update_running(slot, attempt, observation.running)
        assert observation.details is not None
        return self._update_details(slot, attempt, observation.details)

    def _observation_failed(self, slot: Slot, attempt: Attempt, observation: Observation) -> bool:
        """A look-up of the execution failed.  A new execution the server does not show
        yet is given ``unseen_grace``; past it, or after repeated other failures, the
        execution is of unknown fate: it is stopped (it may be alive) and never re-triggered."""
        now = self.clock.monotonic()
        if observation.missing:
            slot.unseen_since = slot.unseen_since if slot.unseen_since is not None else now
            if now - slot.unseen_since < self.options.unseen_grace:
                return False
            why = (
                f"execution {attempt.execution_id} not found for "
                f"{self.options.unseen_grace:g}s: {observation.error}"
            )
        else:
            slot.errors += 1
            if slot.errors < MAX_OBSERVATION_ERRORS:
                return False
            why = f"execution {attempt.execution_id} could not be watched: {observation.error}"
        attempt.error = why
        if slot.stop_outcome is not None:  # a stop is in flight: let it be confirmed or expire
            return False
        log.warning("%s: %s; stopping it", slot.job.name, why)
        self._request_stop(slot, JobOutcome.FAILED, why, retry=False)
        return True

    def _update_running(self, slot: Slot, attempt: Attempt, entry: RunningJob) -> bool:
        known = slot.state.configuration_id
        if known is not None and entry.configuration_id not in (None, known):
            return self._wrong_artifact(
                slot, attempt, f"runs configuration {entry.configuration_id}, not {known}"
            )
        if (entry.progress, entry.estimate_seconds) != (attempt.progress, attempt.estimate_seconds):
            attempt.progress = entry.progress
            attempt.estimate_seconds = entry.estimate_seconds
            self.emit(
                "progress",
                slot,
                f"{entry.progress or 0:g}% done",
                progress=entry.progress,
                estimate_seconds=entry.estimate_seconds,
            )
        attempt.server_start = attempt.server_start or entry.start_time
        slot.state.configuration_id = slot.state.configuration_id or entry.configuration_id
        return self._status_changed(slot, attempt, entry.status, entry.raw_status)

    def _update_details(self, slot: Slot, attempt: Attempt, details: JobDetails) -> bool:
        mismatch = _other_artifact(slot, details)
        if mismatch is not None:
            return self._wrong_artifact(slot, attempt, mismatch)
        attempt.server_start = details.start_time or attempt.server_start
        attempt.server_stop = details.stop_time
        slot.state.configuration_id = details.configuration_id or slot.state.configuration_id
        slot.state.file_id = details.file_id or slot.state.file_id
        changed = self._status_changed(slot, attempt, details.status, details.raw_status)
        status = details.status
        if not status.is_terminal and not _ended_unknown(details):
            return changed
        if not status.is_terminal:
            # Off the running list, with a stop time, in a status dmpipe does not know:
            # the execution is over; it counts as a failure, reported once, raw.
            log.warning(
                "%s: execution %s ended in a status dmpipe does not know (%r): counted as failed",
                slot.job.name,
                attempt.execution_id,
                details.raw_status,
            )
            attempt.error = f"ended in an unknown status {details.raw_status!r}"
        attempt.counters = dict(details.counters)
        attempt.detected_at = self.clock.now()
        self._finish_attempt(slot, attempt, status)
        return True

    def _wrong_artifact(self, slot: Slot, attempt: Attempt, why: str) -> bool:
        """The execution the trigger named runs another artifact: never this job's success."""
        execution_id = attempt.execution_id
        attempt.execution_id = None
        attempt.status = attempt.raw_status = None
        slot.last_status = None
        unknown = StartResult(execution_id=execution_id, previous_execution_id=slot.resolve_from)
        self._not_its_execution(slot, unknown, why)
        return True

    def _status_changed(self, slot: Slot, attempt: Attempt, status: JobStatus, raw: str) -> bool:
        attempt.status, attempt.raw_status = status, raw
        if status is slot.last_status:
            return False
        slot.last_status = status
        shown = raw if status is JobStatus.UNKNOWN else status.value
        self.emit("status", slot, f"execution {attempt.execution_id} is {shown}", status=shown)
        return True

    # -- verdicts -----------------------------------------------------------------

    def _finish_attempt(self, slot: Slot, attempt: Attempt, status: JobStatus) -> None:
        if not status.is_terminal:  # an unknown final status (see _update_details)
            if slot.stop_outcome is not None:
                attempt.stop_confirmed = False
            self._attempt_over(slot, JobOutcome.FAILED, attempt.error, status, retry=False)
            return
        if slot.stop_outcome is not None:
            attempt.stop_confirmed = status is JobStatus.CANCELED
            if status is JobStatus.CANCELED:
                outcome, why = slot.stop_outcome, slot.state.reason or "stopped"
                self._attempt_over(slot, outcome, why, status, retry=slot.stop_retry)
                return
            # It ended on its own before the stop took effect: report what really happened.
            slot.stop_outcome = None
        outcome, reason = execution_verdict(slot.job, status)
        if outcome is JobOutcome.SUCCEEDED and slot.job.expect:
            problems = failed_gates(slot.job.expect, attempt.counters)
            if problems:
                attempt.error = "expect gate failed: " + "; ".join(problems)
                self._attempt_over(slot, JobOutcome.FAILED, attempt.error, status, retry=False)
                return
        self._attempt_over(slot, outcome, reason, status)

    def _attempt_over(
        self,
        slot: Slot,
        outcome: JobOutcome,
        reason: str | None,
        status: JobStatus | None,
        *,
        retry: bool = True,
    ) -> None:
        """Close the current attempt; retry, succeed or fail the job."""
        attempt = slot.state.current
        assert attempt is not None
        attempt.outcome = outcome
        attempt.error = attempt.error or (reason if outcome is not JobOutcome.SUCCEEDED else None)
        slot.stop_outcome, slot.stop_sent_at, slot.last_status = None, None, None
        if outcome is JobOutcome.SUCCEEDED:
            slot.state.outcome, slot.state.reason = outcome, None
            self.emit("finished", slot, _finished_text(attempt, outcome), outcome=outcome.value)
            return
        slot.failures += 1
        if retry and self._may_retry(slot, outcome, status):
            delay = retry_delay(slot.job.retry, slot.failures, self.rng)
            slot.state.outcome = JobOutcome.PENDING
            slot.not_before = self.clock.monotonic() + delay
            self.emit(
                "retry_scheduled",
                slot,
                f"{outcome.value} ({reason}); retrying in {delay:.1f}s",
                delay=delay,
                outcome=outcome.value,
            )
            return
        slot.state.outcome, slot.state.reason = outcome, reason
        self.emit("finished", slot, _finished_text(attempt, outcome, reason), outcome=outcome.value)
        self._job_failed(slot)

    def _may_retry(self, slot: Slot, outcome: JobOutcome, status: JobStatus | None) -> bool:
        if self.run.halted_by is not None or self.run.interrupted or self.run.timed_out:
            return False
        if slot.failures > slot.job.retry.retries:
            return False
        kind = retry_kind(outcome, status)
        if kind is None and outcome is JobOutcome.FAILED and status is None:
            kind = "ERROR"  # the trigger itself failed: worth another go like an ERROR run
        return kind is not None and kind in slot.job.retry.retry_on

    def _job_failed(self, slot: Slot) -> None:
        policy = self.pipeline.policies.on_failure
        if policy is OnFailure.CONTINUE or self.run.halted_by is not None:
            return
        if self.run.ended_by is not None:
            return  # the run is ending anyway, and says why: the job did not fail on its own
        self.run.halted_by = slot.job.name
        if policy is OnFailure.CANCEL:
            self.emit(
                "cancelling",
                message=f"{slot.job.name} failed: stopping the jobs this "
                "run started (on_failure: cancel)",
            )
            for other in self.slots.values():
                if other.state.outcome is JobOutcome.RUNNING and other.job.when is When.ALL_SUCCESS:
                    self._request_stop(
                        other, JobOutcome.CANCELED, f"canceled: {slot.job.name} failed"
                    )
        else:
            self.emit(
                "draining",
                message=f"{slot.job.name} failed: starting nothing new "
                "(on_failure: finish_running)",
            )

    # -- skipping -----------------------------------------------------------------

    def _settle(self) -> bool:
        changed = False
        for slot in self.slots.values():
            if slot.state.outcome is not JobOutcome.PENDING:
                continue
            reason = self._skip_reason(slot)
            if reason is not None:
                slot.state.outcome, slot.state.reason = JobOutcome.SKIPPED, reason
                self.emit("skipped", slot, f"skipped: {reason}")
                changed = True
        return changed

    def _skip_reason(self, slot: Slot) -> str | None:
        if self.run.halted_by is not None and slot.job.when is When.ALL_SUCCESS:
            return (
                f"not started: {self.run.halted_by} failed (on_failure: "
                f"{self.pipeline.policies.on_failure.value})"
            )
        if self._blocked(slot):
            return None
        needs = self._need_outcomes(slot.job)
        if readiness(slot.job, needs.values()) is False:
            return skip_reason(slot.job, needs)
        return None

    # -- stopping -----------------------------------------------------------------

    def _enforce_timeouts(self) -> None:
        now = self.clock.monotonic()
        for slot in self.slots.values():
            limit = slot.job.timeout
            if (
                limit is None
                or slot.state.outcome is not JobOutcome.RUNNING
                or slot.started_at is None
                or slot.stop_outcome is not None
                or slot.starting is not None
            ):
                continue
            if now - slot.started_at > limit:
                self._request_stop(
                    slot, JobOutcome.TIMED_OUT, f"timed out after {limit:g}s", retry=True
                )
        self._expire_stops(now)

    def _confirm_window(self) -> float:
        """How long a stop is watched for its confirmation: shorter once interrupted, so
        that Ctrl-C is honoured within seconds whatever the server does."""
        window = self.options.stop_confirm_timeout
        if self.run.interrupted or self.run.refused is not None:
            window = min(window, self.options.interrupt_grace)
        return window

    def _expire_stops(self, now: float) -> None:
        """Give up on stops the server never confirmed; the attempt ends unconfirmed."""
        for slot in self.slots.values():
            if slot.stop_sent_at is None or slot.stop_outcome is None:
                continue
            if now - slot.stop_sent_at > self._confirm_window():
                attempt = slot.state.current
                assert attempt is not None
                attempt.stop_confirmed = False
                outcome = slot.stop_outcome
                self.emit("stop_unconfirmed", slot, "the server never confirmed the stop")
                self._attempt_over(slot, outcome, slot.state.reason, None, retry=False)

    def _request_stop(
        self, slot: Slot, outcome: JobOutcome, reason: str, *, retry: bool = False
    ) -> None:
        """Ask Datameer to stop the job's execution; the outcome is set once it is confirmed."""
        assert self._pool is not None
        attempt = slot.state.current
        if attempt is None or attempt.execution_id is None or slot.stop_outcome is not None:
            return
        if attempt.attached:
            # Not this run's execution: leave it running, but stop waiting for it.
            why = f"{reason} (execution {attempt.execution_id} left running: not started by dmpipe)"
            self._attempt_over(slot, outcome, why, None, retry=False)
            return
        slot.stop_outcome, slot.stop_retry = outcome, retry
        slot.state.reason = reason
        slot.stop_sent_at = self.clock.monotonic()
        attempt.stop_requested = True
        self.emit(
            "stop_requested",
            slot,
            f"stopping execution {attempt.execution_id}: {reason}",
            execution_id=attempt.execution_id,
        )
        deadline = time.monotonic() + self._confirm_window()
        future = self._pool.submit(
            send_stop,
            self.api,
            slot.job,
            attempt,
            deadline,
            self._pause,
            (self.pipeline.policies.poll_interval, self.pipeline.policies.max_poll_interval),
        )
        self._stops.append((slot, future))

    def _pause(self, seconds: float) -> None:
        """A stop's backoff: cut short once the run is interrupted."""
        self.cancelled.wait(seconds)

    def _halt(self, outcome: JobOutcome, reason: str) -> None:
        """Stop everything this run started and skip everything it did not."""
        self._control.halt()
        self._await_starts(time.monotonic() + self.options.interrupt_grace + 1.0)
        for slot in self.slots.values():
            if slot.state.outcome is JobOutcome.RUNNING and slot.starting is None:
                self._request_stop(slot, outcome, reason)
            elif slot.state.outcome is JobOutcome.PENDING and slot.resolve_pending:
                self._outcome_unknown(slot, reason)
            elif slot.state.outcome in (JobOutcome.PENDING, JobOutcome.WAITING):
                slot.state.outcome, slot.state.reason = JobOutcome.SKIPPED, f"not run: {reason}"
                slot.waiting_on = None
                self.emit("skipped", slot, f"skipped: {reason}")
        self._abandon_starts(reason)

    def _await_starts(self, deadline: float) -> None:
        """Let triggers in flight land (or be found) until ``deadline``; harvest them."""
        for slot in self.slots.values():
            if slot.starting is not None:
                self._await(slot.starting, deadline)
        self._harvest_starts()  # what landed is this run's job: it is stopped by the caller

    def _outcome_unknown(self, slot: Slot, reason: str) -> None:
        """A trigger of the job was sent, its answer lost, and its execution not found
        before the run had to end: the report must not say the job did not run, and the
        execution the server may be hiding is stopped by artifact where that is safe."""
        attempt = slot.state.current
        error = (
            "a trigger was sent but its outcome is unknown: no execution was found before "
            "the run ended (look for one on the server)"
        )
        if attempt is not None:
            attempt.error, attempt.outcome = error, JobOutcome.FAILED
            attempt.trigger_sends = max(attempt.trigger_sends, 1)
            attempt.stop_requested = True
            assert self._pool is not None
            future = self._pool.submit(
                stop_unresolved,
                self.api,
                slot.job,
                attempt,
                slot.resolve_from,
                frozenset(self._own_executions()),
            )
            self._stops.append((slot, future))
        slot.resolve_pending = False
        slot.state.outcome, slot.state.reason = JobOutcome.FAILED, f"{reason}; {error}"
        self.emit("finished", slot, f"trigger outcome unknown: {reason}", outcome="FAILED")

    def _abandon_starts(self, reason: str) -> None:
        """Starts still in flight when the run must end: the server did not answer their
        trigger in time.  Their outcome is unknown; the report says so."""
        for slot in self.slots.values():
            if slot.starting is None:
                continue
            slot.starting = None
            attempt = slot.state.current
            assert attempt is not None
            attempt.error = (
                "the server did not answer the trigger before the run ended: an execution "
                "may have started (look for it on the server)"
            )
            attempt.outcome = JobOutcome.FAILED
            attempt.trigger_sends = max(attempt.trigger_sends, 1)
            slot.state.outcome, slot.state.reason = JobOutcome.FAILED, f"{reason}; {attempt.error}"
            self.emit("finished", slot, f"trigger outcome unknown: {reason}", outcome="FAILED")

    def _finish_stops(self) -> None:
        """Watch stopped executions until the server confirms or the confirmation times out."""
        if self.run.refused is not None:  # nothing can be confirmed with refused credentials
            self._expire_stops(float("inf"))
        while any(slot.stop_outcome is not None for slot in self.slots.values()):
            due = time.monotonic() + self.pipeline.policies.poll_interval
            self._poll(deadline=time.monotonic() + self._confirm_window())
            time.sleep(max(0.0, due - time.monotonic()))
            self._expire_stops(self.clock.monotonic())
        # The stops had their window already (each send is bounded by it): what still hangs
        # on a silent server is not waited for much longer.
        deadline = time.monotonic() + min(1.0, self._confirm_window())
        for slot, future in self._stops:
            if self._await(future, deadline) is None and not future.done() and slot:
                attempt = slot.state.current
                if attempt is not None and attempt.stop_error is None and not attempt.stop_sent:
                    attempt.stop_error = "the stop call was still waiting for the server"


def _other_artifact(slot: Slot, details: JobDetails) -> str | None:
    """Why ``details`` belong to another artifact than the slot's job, or None."""
    ref, state = slot.job.ref, slot.state
    expected_file = int(ref.value) if ref.kind is RefKind.FILE_ID else state.file_id
    if expected_file is not None and details.file_id not in (None, expected_file):
        return f"runs file {details.file_id}, not file {expected_file}"
    if ref.kind is RefKind.UUID and details.file_uuid not in (None, ref.value):
        return f"runs file {details.file_uuid}, not {ref.value}"
    known = state.configuration_id
    if known is not None and details.configuration_id not in (None, known):
        return f"runs configuration {details.configuration_id}, not {known}"
    return None


def _ended_unknown(details: JobDetails) -> bool:
    """An execution off the running list, with a stop time, in a status dmpipe does not
    know (or none at all), is over whatever its status says."""
    status = details.status
    return not status.is_terminal and not status.is_active and details.stop_time is not None


def _observed_status(observation: Observation) -> JobStatus | None:
    if observation.details is not None:
        return observation.details.status
    if observation.running is not None:
        return observation.running.status
    return None


def _finished_text(attempt: Attempt, outcome: JobOutcome, reason: str | None = None) -> str:
    execution = f"execution {attempt.execution_id} " if attempt.execution_id is not None else ""
    detail = f": {reason}" if reason else ""
    return f"{execution}{outcome.value.lower()}{detail}"
