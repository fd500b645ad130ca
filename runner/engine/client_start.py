"""Client mode's start strategy: dmpipe triggers every job itself, one attempt at a time.

Each start runs ``trigger.start_attempt`` (the already-running check, the trigger, the
search for a lost answer) in the worker pool; the next tick harvests what it found.

Without a baseline (``engine.baseline``), one start goes first with its look (the
scout) and the other ready jobs are held, left PENDING, until its execution shows:
``start`` then returns without starting the job.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from runner.engine.baseline import (
    Newest,
    Scout,
    StartFacts,
    baseline_fresh,
    baseline_without_look,
    hold_for,
    takes_baseline,
)
from runner.engine.events import EventKind
from runner.engine.observer import release_execution
from runner.engine.outcome import JobOutcome
from runner.engine.slots import Slot
from runner.engine.strategy import EngineParts
from runner.engine.trigger import (
    StartRequest,
    StartResult,
    start_attempt,
    unknown_outcome_message,
)
from runner.errors import AuthenticationError
from runner.model import OnFailure, When

log = logging.getLogger("runner.engine")


class ClientStart:
    """Triggers each job by its reference."""

    def __init__(self, parts: EngineParts) -> None:
        self.ctx = parts.ctx
        self.verdicts = parts.verdicts
        self.stopper = parts.stopper
        # Whether jobs wait for a scout (engine.baseline): set by the scheduler when this
        # is the run's own strategy (client mode), not sequential mode's handlers.
        self.scouts = False
        self._scout: Scout | None = None
        # The run's newest execution when a scout last ended without giving a baseline:
        # no other is sent until it changes.
        self._spent: tuple[Newest | None] | None = None

    def begin(self) -> None:
        """Nothing to do before the first tick."""

    def holds(self, slot: Slot, outcome: JobOutcome) -> bool:
        """A failed attempt is always its job's verdict."""
        return False

    def start(self, slot: Slot) -> None:
        """Begin an attempt: the trigger runs in the pool, harvested on a later tick.  A
        job held for the scout is left PENDING."""
        if self._held(slot):
            return
        ctx = self.ctx
        state = slot.state
        # An attempt that waited for a foreign execution is still unused: reuse it.
        attempt = slot.new_attempt()
        state.outcome = JobOutcome.RUNNING
        slot.errors = 0
        resolve_first, slot.resolve_pending = slot.resolve_pending, False
        baseline = None if resolve_first else self._baseline(slot)
        ctx.emit(EventKind.TRIGGERING, slot, "triggering")
        request = StartRequest(
            job=slot.job,
            own=ctx.own_executions(),
            resolve_timeout=ctx.options.trigger_resolve_timeout,
            poll_interval=ctx.pipeline.policies.poll_interval,
            control=ctx.control,
            now=ctx.clock.now,
            previous_execution_id=slot.resolve_from,
            resolve_first=resolve_first,
            on_send=lambda previous: ctx.emit(
                EventKind.TRIGGER_SENT, slot, "sending trigger", previous_execution_id=previous
            ),
            on_unknown=lambda error: ctx.emit(
                EventKind.TRIGGER_UNKNOWN,
                slot,
                unknown_outcome_message(error, ctx.options.trigger_resolve_timeout),
                error=str(error),
            ),
            baseline=baseline,
            mine=frozenset(a.execution_id for a in state.attempts if a.execution_id is not None),
        )
        if baseline is None and not resolve_first and self._may_scout(slot):
            until = ctx.clock.monotonic() + hold_for(
                ctx.pipeline.policies.poll_interval, ctx.options.unseen_grace
            )
            self._scout = Scout(slot.job.name, attempt.number, until, ctx.newest)
        api = ctx.api
        slot.starting = ctx.workers.submit(lambda: start_attempt(api, request))

    def _facts(self) -> StartFacts:
        ctx = self.ctx
        return StartFacts(
            now=ctx.clock.monotonic(),
            fresh_for=ctx.pipeline.policies.max_poll_interval,
            listing=ctx.listing,
            newest=ctx.newest,
        )

    def _baseline(self, slot: Slot) -> int | None:
        """What the trigger can take as its baseline without a status look, if anything."""
        state = slot.state
        return baseline_without_look(
            self._facts(),
            ref_kind=slot.job.ref.kind,
            file_id=state.file_id,
            configuration_id=state.configuration_id,
        )

    # -- the scout (engine.baseline) ------------------------------------------------

    def _may_scout(self, slot: Slot) -> bool:
        """Whether this start, going with its look, is to be the other jobs' scout: the
        run polls list-running (per-job polling has no listing to go without looks), has
        no baseline, none is out, and none ended without one since the run's newest
        execution last changed."""
        if not self.scouts or self._scout is not None:
            return False
        if not self.ctx.options.batch_polling:
            return False  # no list-running: no listing, and so no baseline to wait for
        if not takes_baseline(slot.job.ref.kind, slot.state.file_id):
            return False
        if self._spent is not None and self._spent[0] == self.ctx.newest:
            return False
        return not baseline_fresh(self._facts())

    def _held(self, slot: Slot) -> bool:
        """Whether the job waits for the scout instead of starting now."""
        scout = self._scout
        if scout is None:
            return False
        why = self._scout_over(scout)
        if why is not None:
            self._scout = None
            if why != "known":
                self._spent = (self.ctx.newest,)
            if scout.holding:
                log.debug("jobs held for %s's execution start: %s", scout.job, why)
            return False
        if slot.resolve_pending or not takes_baseline(slot.job.ref.kind, slot.state.file_id):
            return False  # it looks before its trigger whatever the scout gives
        scout.holding = True
        return True

    def _scout_over(self, scout: Scout) -> str | None:
        """Why the jobs held for the scout go now, or None while they wait."""
        if self.ctx.newest != scout.before or baseline_fresh(self._facts()):
            return "known"  # the server showed the scout's execution (or a newer one)
        now = self.ctx.clock.monotonic()
        slot = self.ctx.slots[scout.job]
        if slot.starting is None:
            attempt = slot.state.current
            if (
                attempt is None
                or attempt.number != scout.attempt
                or attempt.execution_id is None
                or attempt.attached
                or slot.sent_at is None
                or slot.state.outcome is not JobOutcome.RUNNING
            ):
                return "its start ended without an execution of this run's"
        if now >= scout.until:
            return "its execution did not show in time"
        return None

    def scout_landing(self) -> Future[StartResult] | None:
        """The scout's trigger, in flight while jobs wait for it."""
        scout = self._scout
        if scout is None or not scout.holding:
            return None
        return self.ctx.slots[scout.job].starting

    def scout_until(self) -> float | None:
        """When the jobs waiting for the scout start with their own looks at the latest;
        None when none waits (or the wait is over: the next start pass releases them)."""
        scout = self._scout
        if scout is None or not scout.holding or self._scout_over(scout) is not None:
            return None
        return scout.until

    def look_for_scout(self) -> bool:
        """True once, when the scout's trigger has landed with an execution that jobs wait
        to see: the next poll should go out now, not on the next beat."""
        scout = self._scout
        if scout is None or not scout.holding or scout.looked:
            return False
        if self.ctx.slots[scout.job].starting is not None or self._scout_over(scout) is not None:
            return False
        scout.looked = True
        return True

    def harvest(self) -> bool:
        """Apply every start that landed."""
        changed = False
        for slot in self.ctx.live_slots():  # the only ones with a start in flight
            if slot.starting is None or not slot.starting.done():
                continue
            future, slot.starting = slot.starting, None
            try:
                result = future.result()
            except AuthenticationError as error:  # 401: nothing was started by this call
                self.ctx.run.refused = self.ctx.run.refused or str(error)
                result = StartResult(aborted=True)
            self._apply(slot, result)
            changed = True
        return changed

    def await_starts(self, deadline: float) -> None:
        """Let triggers in flight land (or be found) until ``deadline``; harvest them."""
        for slot in self.ctx.slots.values():
            if slot.starting is not None:
                self.ctx.workers.await_result(slot.starting, deadline)
        self.harvest()  # what landed is this run's job: it is stopped by the caller

    def abandon(self, reason: str) -> None:
        """Starts still in flight when the run must end: the server did not answer their
        trigger in time.  Their outcome is unknown; the report says so."""
        for slot in self.ctx.slots.values():
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
            self.ctx.emit(
                EventKind.FINISHED, slot, f"trigger outcome unknown: {reason}", outcome="FAILED"
            )

    def _apply(self, slot: Slot, result: StartResult) -> None:
        attempt = slot.state.current
        assert attempt is not None
        if result.waiting_on is not None:
            self._wait_for(slot, result.waiting_on)
            return
        slot.waiting_on = None
        slot.state.file_id = slot.state.file_id or result.file_id
        if result.aborted:
            self._unstarted(slot)
            return
        if result.transient and self.verdicts.start_again_later(slot, result):
            return
        if result.execution_id is None:
            slot.start_rounds = 0
            attempt.error = result.error
            reason = result.error or "trigger failed"
            self.verdicts.attempt_over(
                slot, JobOutcome.FAILED, reason, None, retry=not result.permanent
            )
            return
        taken = not result.attached and result.execution_id in self.ctx.own_executions()
        if taken and not self._take_over(slot, result):
            why = f"is already this run's ({self._owner(result)})"
            self.verdicts.not_its_execution(slot, result, why)
            return
        self._started(slot, result)

    def _take_over(self, slot: Slot, result: StartResult) -> bool:
        """Another job holds the execution this job's artifact status names as the one its
        lost trigger started.  The artifact's status outweighs a trigger answer (a hostile
        server may answer one job's trigger with another's execution): when the other job
        has it only from its trigger's answer and is still watching it, it is released to
        this job, and the other job looks for its own.  True when this job may take it."""
        execution_id = result.execution_id
        if not result.recovered or execution_id is None:
            return False
        for other in self.ctx.slots.values():
            attempt = other.state.current
            if other is slot or attempt is None or attempt.execution_id != execution_id:
                continue
            answered = not (attempt.recovered or attempt.attached)
            watching = other.state.outcome is JobOutcome.RUNNING and other.stop_outcome is None
            if not (answered and watching and other.job.ref != slot.job.ref):
                return False
            why = f"is {slot.job.name}'s: that artifact's status names it as its newest"
            release_execution(self.ctx, self.verdicts, other, attempt, why)
            self.ctx.owned = None
            return True
        return False

    def _wait_for(self, slot: Slot, execution_id: int) -> None:
        slot.waiting_on = execution_id
        slot.state.outcome = JobOutcome.WAITING
        self.ctx.emit(
            EventKind.WAITING,
            slot,
            f"waiting for execution {execution_id}, started outside this run",
            execution_id=execution_id,
        )

    def _started(self, slot: Slot, result: StartResult) -> None:
        ctx = self.ctx
        attempt = slot.state.current
        assert attempt is not None
        assert result.execution_id is not None
        slot.start_rounds = 0
        ctx.note_reachability(None)
        if not result.attached:
            if ctx.owned is not None:
                ctx.owned |= {result.execution_id}  # the next start of this pass must see it
            if ctx.listing is not None:
                ctx.listing = ctx.listing.without(result.execution_id)
        attempt.execution_id = result.execution_id
        attempt.attached = result.attached
        attempt.triggered_at = result.sent_at or ctx.clock.now()
        attempt.trigger_sends = result.sends
        attempt.recovered = result.recovered
        slot.started_at = ctx.clock.monotonic()
        slot.seen_at = None
        slot.sent_at = None
        if result.sent_at is not None and not result.attached:
            since = (ctx.clock.now() - result.sent_at).total_seconds()
            slot.sent_at = slot.started_at - max(0.0, since)
        slot.unseen_since = None
        slot.resolve_from = result.previous_execution_id
        kind = EventKind.ATTACHED if result.attached else EventKind.TRIGGERED
        how = " (its answer was lost; found it by status)" if result.recovered else ""
        ctx.emit(
            kind,
            slot,
            f"{kind} execution {result.execution_id}{how}",
            execution_id=result.execution_id,
            recovered=result.recovered,
            triggered_at=attempt.triggered_at.isoformat(),
        )
        cancelling = ctx.pipeline.policies.on_failure is OnFailure.CANCEL
        halted_by = ctx.run.halted_by
        if halted_by is not None and cancelling and slot.job.when is When.ALL_SUCCESS:
            # Its trigger was in flight when another job failed: cancel it like the rest.
            self.stopper.request_stop(slot, JobOutcome.CANCELED, f"canceled: {halted_by} failed")

    def _unstarted(self, slot: Slot) -> None:
        """The run halted before the trigger went out: the job did not run."""
        state = slot.state
        if state.current is not None and state.current.execution_id is None:
            state.attempts.pop()
        state.outcome = JobOutcome.PENDING

    def _owner(self, result: StartResult) -> str:
        for other in self.ctx.slots.values():
            if any(a.execution_id == result.execution_id for a in other.state.attempts):
                return other.job.name
        return "another job"
