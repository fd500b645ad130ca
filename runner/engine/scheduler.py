"""The scheduling loop, the same for both execution modes.

One thread runs the loop; HTTP calls go through the run's workers.  Each tick:
harvest finished starts, enforce timeouts, poll what runs, settle what can no longer
run, start what is ready, then wait on the clock until the earliest planned look: each
watched execution is looked at around its expected finish (``cadence``), else on the
backoff beat — ``poll_interval`` after a change, growing to ``max_poll_interval`` while
nothing changes.

The loop's parts each live in their own module: the ready queue (``ready``), the
verdicts on attempts (``verdicts``), polling (``observer``), stopping (``stopper``)
and starting, a strategy passed in (``client_start`` triggers each job,
``sequential`` hands the chain to Datameer's sequential trigger).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable, Mapping

from runner.clock import Clock, SystemClock
from runner.datameer.protocol import JobApi
from runner.engine.cadence import (
    BUDGET_SHARE,
    COALESCE_SHARE,
    FLOOR_SHARE,
    PollBudget,
    Sighting,
    execution_backoff,
    expected_finish,
    look_wish,
    next_poll,
    progress_duration,
    tighter_duration,
)
from runner.engine.client_start import ClientStart
from runner.engine.context import RunContext
from runner.engine.events import EventKind, EventSink, RunEvent
from runner.engine.journal import ResumedJob
from runner.engine.observer import Observer
from runner.engine.options import EngineOptions
from runner.engine.outcome import JobOutcome, JobState
from runner.engine.policy import readiness, skip_reason
from runner.engine.ready import ReadyQueue
from runner.engine.sequential import SequenceUnavailableError
from runner.engine.slots import RunState, Slot
from runner.engine.stopper import Stopper
from runner.engine.strategy import EngineParts, StartFactory
from runner.engine.trigger import StartControl
from runner.engine.verdicts import Verdicts
from runner.engine.workers import INTERRUPT_SLICE, Workers
from runner.model import Pipeline, When

log = logging.getLogger("runner.engine")

_FINAL_KINDS = frozenset({EventKind.FINISHED, EventKind.SKIPPED})


class Scheduler:
    """Drives every job of a pipeline to a final outcome, starting them with ``start``."""

    def __init__(
        self,
        pipeline: Pipeline,
        api: JobApi,
        events: EventSink,
        *,
        start: StartFactory = ClientStart,
        clock: Clock | None = None,
        options: EngineOptions | None = None,
        cancelled: threading.Event | None = None,
        resumed: Mapping[str, ResumedJob] | None = None,
    ) -> None:
        clock = clock or SystemClock()
        options = options or EngineOptions()
        cancelled = cancelled or threading.Event()
        slots = {name: Slot(job, JobState(name)) for name, job in pipeline.jobs.items()}
        self.ready = ReadyQueue(slots)
        self._events = events
        self.ctx = ctx = RunContext(
            pipeline=pipeline,
            api=api,
            sink=self._hear,
            clock=clock,
            options=options,
            cancelled=cancelled,
            slots=slots,
            live=self.ready.live,
            own=self.ready.own_executions,
            run=RunState(started_at=clock.monotonic()),
            workers=Workers(clock, options.http_workers, cancelled),
            control=StartControl(options.interrupt_grace, clock),
            rng=random.Random(options.seed),
        )
        for name, earlier in (resumed or {}).items():
            if name in ctx.slots:
                self._carry_over(ctx.slots[name], earlier)
        self.ready.sync()  # the outcomes carried over
        self.verdicts = Verdicts(ctx)
        self.stopper = Stopper(ctx, self.verdicts)
        self.observer = Observer(ctx, self.verdicts, self.stopper)
        self.strategy = start(EngineParts(ctx, self.ready, self.verdicts, self.stopper, self.halt))
        # Client mode's first start of a pass without a baseline goes first, the other ready
        # jobs waiting for its execution to show (engine.baseline: the scout).
        self._scouting = self.strategy if isinstance(self.strategy, ClientStart) else None
        if self._scouting is not None:
            self._scouting.scouts = True
        self.verdicts.holds = self.strategy.holds
        self.verdicts.on_failure = self.stopper.job_failed
        self._poll_due = float("-inf")  # clock time of the next poll
        self._polled = False  # whether the last tick polled
        self._looked_at = float("-inf")  # clock time of the last poll
        # However many finishes are expected, at most two polls per poll_interval on
        # average, in bursts (see cadence.PollBudget).
        self._budget = PollBudget(pipeline.policies.poll_interval * BUDGET_SHARE, clock.monotonic())
        # Each watched execution's look_wish, and the shortest duration its progress implied.
        self._wishes: dict[int, tuple[float | None, float]] = {}
        self._durations: dict[int, float] = {}
        # Each execution's finish as its progress measures it, and those whose job details
        # were asked early once already (a finish expected too soon is asked early once only).
        self._measured: dict[int, float] = {}
        self._asked_early: set[int] = set()

    def _hear(self, event: RunEvent) -> None:
        """Pass each event on, and tell the ready queue which job it names: every change
        to a job comes with an event, a final outcome with a FINISHED or SKIPPED one (the
        journal records outcomes from them)."""
        if event.job:
            self.ready.heard(event.job)
            if event.kind in _FINAL_KINDS:
                self.ready.settled(event.job)
        self._events(event)

    @property
    def slots(self) -> dict[str, Slot]:
        """Each job's slot, by name."""
        return self.ctx.slots

    @property
    def run(self) -> RunState:
        """The run as a whole."""
        return self.ctx.run

    def _carry_over(self, slot: Slot, earlier: ResumedJob) -> None:
        """Take a job's state from an earlier run's journal (``--resume``)."""
        slot.state = earlier.state
        if earlier.state.outcome is JobOutcome.RUNNING:
            slot.started_at = self.ctx.clock.monotonic()
        slot.resolve_pending = earlier.unresolved_trigger
        slot.resolve_from = earlier.previous_execution_id

    # -- the loop -----------------------------------------------------------------

    def execute(self) -> dict[str, JobState]:
        """Drive every job to a final outcome; returns the job states."""
        ctx = self.ctx
        with ctx.clock.work():  # virtual time waits while the loop works
            try:
                self._loop()
                self.stopper.drain_foreign()
                self._finish_stops()
            except SequenceUnavailableError:
                raise  # refused before anything started: the driver falls back to client mode
            except BaseException:
                self._emergency_stop()
                raise
            finally:
                ctx.control.halt()
                ctx.workers.shutdown()
        return {name: slot.state for name, slot in ctx.slots.items()}

    def _emergency_stop(self) -> None:
        """The loop died (a bug, or a KeyboardInterrupt in a program that embeds dmpipe):
        still stop what this run started before the error goes up (contract C2)."""
        log.error("the run stopped on an unexpected error: stopping the jobs it started")
        self.ctx.run.interrupted = True
        try:
            self.halt(JobOutcome.CANCELED, "dmpipe stopped on an unexpected error")
            self._finish_stops()
        except Exception:  # the original error matters more; this was best effort
            log.exception("stopping the jobs after the error failed too")

    def _loop(self) -> None:
        ctx = self.ctx
        policies = ctx.pipeline.policies
        interval = policies.poll_interval
        if not ctx.cancelled.is_set():  # interrupted during the preflight: start nothing
            self.strategy.begin()
        while not self.ready.all_final():
            if self._halt_requested():
                break
            changed = self._tick()
            if self.ready.all_final():
                break
            now = ctx.clock.monotonic()
            if self._polled:
                interval = (
                    policies.poll_interval
                    if changed
                    else min(interval * 1.5, policies.max_poll_interval)
                )
            # Each watched execution is looked at around its expected finish (cadence.py),
            # else on the backoff beat; one poll answers for all of them.  Replanned: after
            # a batched poll, every execution (all were seen); after per-job polls, the due.
            replan = float("-inf")
            if self._polled:
                replan = float("inf") if ctx.options.batch_polling else self._looked_at
            self._poll_due = self._plan_looks(now, interval, replan=replan)
            wait = self._poll_due - now
            if any(slot.starting is not None for slot in ctx.live_slots()):
                # Harvest landed triggers within half an interval: their first look is
                # planned from when their trigger was sent, so a later harvest costs no lag.
                wait = min(wait, policies.poll_interval / 2)
            self._sleep(self._next_wait(wait))

    def _plan_looks(self, now: float, backoff: float, *, replan: float) -> float:
        """Plan the next look at each watched execution that is new since the last plan
        or was planned at or before ``replan`` (just looked at); returns the time of the
        next poll, or ``now + backoff`` when nothing is watched."""
        policies = self.ctx.pipeline.policies
        floor = policies.poll_interval * FLOOR_SHARE
        wishes: dict[int, tuple[float | None, float]] = {}
        for execution_id, slot in self.observer.watches().items():
            planned, wish = slot.look, self._wishes.get(execution_id)
            if (
                wish is None
                or planned is None
                or planned[0] != execution_id
                or planned[1] <= replan
            ):
                first = planned is None or planned[0] != execution_id
                wish = self._wish(execution_id, slot, now, backoff, first=first)
                at, latest = wish
                slot.look = (execution_id, latest if at is None else min(at, latest))
            wishes[execution_id] = wish
        self._wishes = wishes
        self._durations = {e: d for e, d in self._durations.items() if e in wishes}
        self._measured = {e: d for e, d in self._measured.items() if e in wishes}
        self._asked_early &= wishes.keys()
        if not wishes:
            return now + backoff
        allowed = self._budget.available(now)
        if self.ctx.options.batch_polling:
            # One list-running sees every execution: poll where the most finishes are.
            return next_poll(
                wishes.values(),
                not_before=max(allowed, self._looked_at + floor),
                window=policies.poll_interval * COALESCE_SHARE,
            )
        # Per-job polls look at the due executions only.  Over budget: poll on the next
        # planned look, so that it lands on an expected finish rather than between two.
        looks = sorted(latest if at is None else min(at, latest) for at, latest in wishes.values())
        return next((at for at in looks if at >= allowed), allowed)

    def _wish(
        self, execution_id: int, slot: Slot, now: float, backoff: float, *, first: bool
    ) -> tuple[float | None, float]:
        """One execution's look_wish, from what the server last showed of it."""
        policies = self.ctx.pipeline.policies
        # A job waiting for a foreign execution knows nothing of its progress.
        attempt = slot.state.current if slot.waiting_on is None else None
        seen_at = slot.seen_at if attempt else None
        triggered_at = slot.sent_at if attempt else None
        progress = attempt.progress if attempt else None
        earlier = self._durations.get(execution_id)
        if seen_at is not None and triggered_at is not None:
            implied = progress_duration(seen_at, triggered_at, progress)
            folded = tighter_duration(earlier, seen_at - triggered_at, implied)
            if folded is not None:
                self._durations[execution_id] = folded
        sighting = Sighting(
            seen_at=seen_at,
            remaining=attempt.estimate_seconds if attempt else None,
            progress=progress,
            triggered_at=triggered_at,
            job_estimate=slot.job.estimate,
            progress_duration=earlier,
        )
        expected = expected_finish(sighting)
        if expected is not None and expected.measured:
            self._measured[execution_id] = expected.at
        else:
            self._measured.pop(execution_id, None)
        if first:  # the first look at a new execution comes on the first beat
            backoff = policies.poll_interval
        elif triggered_at is not None and expected is not None and expected.measured:
            # Progress refreshed by every poll measures its finish: no need to look on
            # a busy run's beat, only on the backoff it would have reached alone.
            backoff = max(backoff, execution_backoff(policies.poll_interval, now - triggered_at))
        since = slot.sent_at if first and slot.sent_at is not None else now
        at, latest = look_wish(
            min(now, since),
            expected,
            backoff=backoff,
            floor=policies.poll_interval * FLOOR_SHARE,
            ceiling=policies.max_poll_interval,
        )
        floor_at = now + policies.poll_interval * FLOOR_SHARE
        return (None if at is None else max(at, floor_at), max(latest, floor_at))

    def _ended_by(self, now: float) -> list[int]:
        """The executions whose measured finish is past: their job details are asked
        alongside the poll's list-running (poller.poll), once per execution at most."""
        ended = [
            execution_id
            for execution_id, at in self._measured.items()
            if at < now and execution_id not in self._asked_early
        ]
        self._asked_early.update(ended)
        return ended

    def _sleep(self, seconds: float) -> None:
        """Wait until the next tick; while jobs wait for the scout, wake as soon as its
        trigger lands (its execution is then polled for at once), and at the latest when
        they stop waiting."""
        ctx, scouting = self.ctx, self._scouting
        until = scouting.scout_until() if scouting is not None else None
        if scouting is None or until is None:
            ctx.sleep(seconds)
            return
        end = min(ctx.clock.monotonic() + seconds, until)
        landing = scouting.scout_landing()
        if landing is None:
            ctx.sleep(max(0.0, end - ctx.clock.monotonic()))
            return
        landed = threading.Event()
        landing.add_done_callback(lambda _: landed.set())
        # In slices: an interrupt, set from a signal handler, does not wake the wait.
        while not landed.is_set() and not ctx.cancelled.is_set():
            remaining = end - ctx.clock.monotonic()
            if remaining <= 0:
                return
            ctx.clock.wait(min(remaining, INTERRUPT_SLICE), landed)

    def _tick(self) -> bool:
        changed = self.strategy.harvest()
        self.stopper.enforce_timeouts()
        # A tick that came early (a retry's start time) harvests and starts but polls only
        # when due: the server sees one poll per interval.
        now = self.ctx.clock.monotonic()
        if self._scouting is not None and self._scouting.look_for_scout():
            # Jobs wait to see the scout's execution: poll now, not a beat later.
            self._poll_due = min(self._poll_due, now)
        self._polled = now >= self._poll_due
        if self._polled:
            self._looked_at = now
            if self.observer.poll(
                due=now, on_call=lambda: self._budget.spend(now), ended=self._ended_by(now)
            ):
                changed = True
            # Triggers answered while the poll was out: their executions, on the list just
            # read, become the run's own before anything starts (engine.baseline).
            changed = self.strategy.harvest() or changed
        changed = self._settle() or changed
        # Last, so that a job is triggered in the same tick its needs were seen finishing.
        return self._start_ready() or changed

    def _halt_requested(self) -> bool:
        ctx, run = self.ctx, self.ctx.run
        if run.refused is not None:
            ctx.emit(EventKind.CREDENTIALS_REFUSED, message=f"giving up: {run.refused}")
            self.halt(JobOutcome.CANCELED, "the server refused the credentials")
            return True
        if ctx.cancelled.is_set():
            run.interrupted = True
            ctx.emit(
                EventKind.INTERRUPTED, message="interrupted: stopping the jobs this run started"
            )
            self.halt(JobOutcome.CANCELED, "interrupted")
            return True
        now = ctx.clock.monotonic()
        since, patience = run.unreachable_since, ctx.options.unreachable_timeout
        if since is not None and now - since > patience:
            run.server_lost = True
            run.notes.append(f"server unreachable for over {patience:g}s")
            ctx.emit(
                EventKind.SERVER_LOST,
                message=f"server unreachable for over {patience:g}s: giving up",
            )
            self.halt(JobOutcome.CANCELED, f"server unreachable for over {patience:g}s")
            return True
        limit = ctx.pipeline.policies.timeout
        if limit is not None and now - run.started_at > limit:
            run.timed_out = True
            ctx.emit(EventKind.RUN_TIMEOUT, message=f"run timeout of {limit:g}s reached")
            self.halt(JobOutcome.TIMED_OUT, f"run timeout of {limit:g}s")
            return True
        return False

    def _next_wait(self, interval: float) -> float:
        now = self.ctx.clock.monotonic()
        due = [
            slot.not_before - now
            for slot in self.ctx.live_slots()
            if slot.state.outcome is JobOutcome.PENDING and slot.not_before > now
        ]
        return max(0.0, min([interval, *due]))

    # -- starting -----------------------------------------------------------------

    def _start_ready(self) -> bool:
        ctx = self.ctx
        if ctx.run.refused is not None or ctx.control.halted:
            return False
        if ctx.run.halted_by is not None and not self._handlers_pending():
            return False
        capacity = self._capacity()
        started = False
        try:
            for slot in self._ready_slots():
                if capacity <= 0 or ctx.cancelled.is_set():  # interrupted: start no more
                    break
                self.strategy.start(slot)
                if self._held(slot):
                    continue
                if slot.starting is None:  # started synchronously: new execution ids may exist
                    ctx.owned = None
                capacity -= 1
                started = True
        finally:
            ctx.owned = None
        return started

    def _held(self, slot: Slot) -> bool:
        """Whether client mode left the job PENDING to wait for the scout (engine.baseline)."""
        if self._scouting is None:
            return False
        return slot.state.outcome is JobOutcome.PENDING and slot.starting is None

    def _capacity(self) -> int:
        limit = self.ctx.pipeline.policies.max_parallel
        if limit is None:
            return len(self.ctx.slots)
        busy = sum(1 for s in self.ctx.live_slots() if s.state.outcome is JobOutcome.RUNNING)
        return limit - busy

    def _ready_slots(self) -> Iterable[Slot]:
        now = self.ctx.clock.monotonic()
        for slot in self.ready.free():
            if slot.state.outcome is not JobOutcome.PENDING or slot.not_before > now:
                continue
            if self.ctx.run.halted_by is not None and slot.job.when is When.ALL_SUCCESS:
                continue
            if readiness(slot.job, self.ready.need_outcomes(slot.job).values()):
                yield slot

    def _handlers_pending(self) -> bool:
        return any(
            s.state.outcome is JobOutcome.PENDING and s.job.when is not When.ALL_SUCCESS
            for s in self.ctx.slots.values()
        )

    # -- skipping -----------------------------------------------------------------

    def _settle(self) -> bool:
        """Skip the pending jobs that can no longer run, until none is left to skip."""
        changed = False
        while True:
            halted = self.ctx.run.halted_by is not None
            candidates = list(self.ctx.slots.values()) if halted else self.ready.free()
            skipped = False
            for slot in candidates:
                if slot.state.outcome is not JobOutcome.PENDING:
                    continue
                reason = self._skip_reason(slot)
                if reason is not None:
                    slot.state.outcome, slot.state.reason = JobOutcome.SKIPPED, reason
                    self.ctx.emit(EventKind.SKIPPED, slot, f"skipped: {reason}")
                    skipped = True
            if not skipped:
                return changed
            changed = True

    def _skip_reason(self, slot: Slot) -> str | None:
        run, policies = self.ctx.run, self.ctx.pipeline.policies
        if run.halted_by is not None and slot.job.when is When.ALL_SUCCESS:
            return f"not started: {run.halted_by} failed (on_failure: {policies.on_failure.value})"
        if self.ready.blocked(slot.job.name):
            return None
        needs = self.ready.need_outcomes(slot.job)
        if readiness(slot.job, needs.values()) is False:
            return skip_reason(slot.job, needs)
        return None

    # -- stopping -----------------------------------------------------------------

    def halt(self, outcome: JobOutcome, reason: str) -> None:
        """Stop everything this run started and skip everything it did not."""
        ctx = self.ctx
        ctx.control.halt()
        self.strategy.await_starts(ctx.clock.monotonic() + ctx.options.interrupt_grace + 1.0)
        self.stopper.stop_jobs(outcome, reason)
        self.strategy.abandon(reason)
        self.stopper.stop_foreign()

    def _finish_stops(self) -> None:
        """Watch stopped executions until the server confirms or the confirmation times out."""
        clock = self.ctx.clock
        if self.ctx.run.refused is not None:  # nothing can be confirmed with refused credentials
            self.stopper.expire_stops(float("inf"))
        while self.stopper.pending():
            due = clock.monotonic() + self.ctx.pipeline.policies.poll_interval
            self.observer.poll(deadline=clock.monotonic() + self.stopper.confirm_window())
            clock.wait(max(0.0, due - clock.monotonic()))
            self.stopper.expire_stops(clock.monotonic())
        self.stopper.settle_calls()
