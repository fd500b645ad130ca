"""Stopping what a run started (contract C2): job timeouts, stops and their confirmation,
the on_failure policy, and the halt that stops everything when the run must end.

The stop calls themselves (by execution id, by artifact only when safe) are in
``runner.engine.stop_calls``; a stop's outcome is set on its job only once the server
confirms it (``Verdicts.finish_attempt``) or the confirmation window expires.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from runner.engine.context import RunContext
from runner.engine.events import EventKind
from runner.engine.outcome import JobOutcome
from runner.engine.slots import Slot
from runner.engine.stop_calls import send_stop, stop_execution, stop_unresolved
from runner.engine.verdicts import Verdicts
from runner.errors import ApiError
from runner.model import OnFailure, When

log = logging.getLogger("runner.engine")


@dataclass(frozen=True)
class Foreign:
    """A plan step no job matches: started by this run, watched by nobody."""

    label: str
    execution_id: int
    file_id: int | None  # from job details (7.4+): stopped by reference, else by execution


class Stopper:
    """Requests stops, watches their confirmation window, and halts the run's jobs."""

    def __init__(self, ctx: RunContext, verdicts: Verdicts) -> None:
        self.ctx = ctx
        self.verdicts = verdicts
        self.foreign: list[Foreign] = []

    def enforce_timeouts(self) -> None:
        """Stop the jobs past their ``timeout``; give up on stops never confirmed."""
        now = self.ctx.clock.monotonic()
        for slot in self.ctx.live_slots():  # the only ones RUNNING
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
                self.request_stop(
                    slot, JobOutcome.TIMED_OUT, f"timed out after {limit:g}s", retry=True
                )
        self.expire_stops(now)

    def confirm_window(self) -> float:
        """How long a stop is watched for its confirmation: shorter once interrupted, so
        that Ctrl-C is honoured within seconds whatever the server does."""
        window = self.ctx.options.stop_confirm_timeout
        if self.ctx.run.interrupted or self.ctx.run.refused is not None:
            window = min(window, self.ctx.options.interrupt_grace)
        return window

    def pending(self) -> bool:
        """True while a stop waits for its confirmation."""
        return any(slot.stop_outcome is not None for slot in self.ctx.live_slots())

    def expire_stops(self, now: float) -> None:
        """Give up on stops the server never confirmed; the attempt ends unconfirmed."""
        for slot in self.ctx.live_slots():  # a stop is only ever asked of a RUNNING job
            if slot.stop_sent_at is None or slot.stop_outcome is None:
                continue
            if now - slot.stop_sent_at > self.confirm_window():
                attempt = slot.state.current
                assert attempt is not None
                attempt.stop_confirmed = False
                outcome = slot.stop_outcome
                self.ctx.emit(
                    EventKind.STOP_UNCONFIRMED, slot, "the server never confirmed the stop"
                )
                self.verdicts.attempt_over(slot, outcome, slot.state.reason, None, retry=False)

    def request_stop(
        self, slot: Slot, outcome: JobOutcome, reason: str, *, retry: bool = False
    ) -> None:
        """Ask Datameer to stop the job's execution; the outcome is set once it is confirmed."""
        ctx = self.ctx
        attempt = slot.state.current
        if attempt is None or attempt.execution_id is None or slot.stop_outcome is not None:
            return
        if attempt.attached:
            # Not this run's execution: leave it running, but stop waiting for it.
            why = f"{reason} (execution {attempt.execution_id} left running: not started by dmpipe)"
            self.verdicts.attempt_over(slot, outcome, why, None, retry=False)
            return
        slot.stop_outcome, slot.stop_retry = outcome, retry
        slot.state.reason = reason
        slot.stop_sent_at = ctx.clock.monotonic()
        attempt.stop_requested = True
        ctx.emit(
            EventKind.STOP_REQUESTED,
            slot,
            f"stopping execution {attempt.execution_id}: {reason}",
            execution_id=attempt.execution_id,
        )
        deadline = ctx.clock.monotonic() + self.confirm_window()
        policies = ctx.pipeline.policies
        delays = (policies.poll_interval, policies.max_poll_interval)
        api, clock, cancelled = ctx.api, ctx.clock, ctx.cancelled
        future = ctx.workers.submit(
            lambda: send_stop(api, slot.job, attempt, deadline, clock, cancelled, delays)
        )
        ctx.stops.append((slot, future))

    def job_failed(self, slot: Slot) -> None:
        """The run's on_failure policy, once a job failed for good."""
        ctx = self.ctx
        policy = ctx.pipeline.policies.on_failure
        # When the run is ending anyway (ended_by), it says why: the job did not fail alone.
        if policy is not OnFailure.CONTINUE and ctx.run.halted_by is None and not ctx.run.ended_by:
            self._halt_starts(slot, policy)
        if ctx.run.halted_by is not None and policy is OnFailure.CANCEL:
            self.stop_foreign()

    def _halt_starts(self, slot: Slot, policy: OnFailure) -> None:
        ctx = self.ctx
        ctx.run.halted_by = slot.job.name
        if policy is not OnFailure.CANCEL:
            ctx.emit(
                EventKind.DRAINING,
                message=f"{slot.job.name} failed: starting nothing new "
                "(on_failure: finish_running)",
            )
            return
        ctx.emit(
            EventKind.CANCELLING,
            message=f"{slot.job.name} failed: stopping the jobs this "
            "run started (on_failure: cancel)",
        )
        for other in ctx.slots.values():
            if other.state.outcome is JobOutcome.RUNNING and other.job.when is When.ALL_SUCCESS:
                self.request_stop(other, JobOutcome.CANCELED, f"canceled: {slot.job.name} failed")

    def stop_jobs(self, outcome: JobOutcome, reason: str) -> None:
        """Stop every job this run started and skip every one it did not (starts in flight
        were harvested or are abandoned by the caller)."""
        for slot in self.ctx.slots.values():
            if slot.state.outcome is JobOutcome.RUNNING and slot.starting is None:
                self.request_stop(slot, outcome, reason)
            elif slot.state.outcome is JobOutcome.PENDING and slot.resolve_pending:
                self._outcome_unknown(slot, reason)
            elif slot.state.outcome in (JobOutcome.PENDING, JobOutcome.WAITING):
                slot.state.outcome, slot.state.reason = JobOutcome.SKIPPED, f"not run: {reason}"
                slot.waiting_on = None
                self.ctx.emit(EventKind.SKIPPED, slot, f"skipped: {reason}")

    def _outcome_unknown(self, slot: Slot, reason: str) -> None:
        """A trigger of the job was sent, its answer lost, and its execution not found
        before the run had to end: the report must not say the job did not run, and the
        execution the server may be hiding is stopped by artifact where that is safe."""
        ctx = self.ctx
        attempt = slot.state.current
        error = (
            "a trigger was sent but its outcome is unknown: no execution was found before "
            "the run ended (look for one on the server)"
        )
        if attempt is not None:
            attempt.error, attempt.outcome = error, JobOutcome.FAILED
            attempt.trigger_sends = max(attempt.trigger_sends, 1)
            attempt.stop_requested = True
            own, previous = frozenset(ctx.own_executions()), slot.resolve_from
            future = ctx.workers.submit(
                lambda: stop_unresolved(ctx.api, slot.job, attempt, previous, own)
            )
            ctx.stops.append((slot, future))
        slot.resolve_pending = False
        slot.state.outcome, slot.state.reason = JobOutcome.FAILED, f"{reason}; {error}"
        ctx.emit(EventKind.FINISHED, slot, f"trigger outcome unknown: {reason}", outcome="FAILED")

    def stop_foreign(self) -> None:
        """Stop the plan steps no job matched: this run started them."""
        ctx = self.ctx
        while self.foreign:
            step = self.foreign.pop()
            ctx.emit(
                EventKind.STOP_REQUESTED,
                message=f"stopping execution {step.execution_id} ({step.label}): "
                "started by the sequential trigger, not part of the pipeline",
                execution_id=step.execution_id,
            )
            ctx.stops.append((None, ctx.workers.submit(functools.partial(self._kill, step))))

    def _kill(self, step: Foreign) -> None:
        stop_execution(self.ctx.api, step.execution_id, step.file_id)

    def drain_foreign(self) -> None:
        """Plan steps no job matched were started by this run (contract C2): they are
        watched until they end, and stopped if the run is interrupted or times out first."""
        ctx, stopper = self.ctx, self
        limit = ctx.pipeline.policies.timeout
        if stopper.foreign and not self._halting():
            names = ", ".join(step.label for step in stopper.foreign)
            ctx.emit(
                EventKind.DRAINING, message=f"waiting for what the server's plan added: {names}"
            )
        while stopper.foreign and not self._halting():
            if limit is not None and ctx.clock.monotonic() - ctx.run.started_at > limit:
                ctx.run.timed_out = True
                break
            stopper.foreign = [step for step in stopper.foreign if not self._ended(step)]
            if stopper.foreign:
                ctx.sleep(ctx.pipeline.policies.poll_interval)
        self.stop_foreign()

    def _halting(self) -> bool:
        run = self.ctx.run
        return self.ctx.cancelled.is_set() or run.refused is not None or run.server_lost

    def _ended(self, step: Foreign) -> bool:
        api = self.ctx.api
        future = self.ctx.workers.submit(lambda: api.job_details(step.execution_id))
        try:
            details = self.ctx.workers.await_result(future, None)
        except ApiError as error:
            log.debug("execution %s (%s): %s", step.execution_id, step.label, error)
            return False
        return details is not None and (details.status.is_terminal or details.stop_time is not None)

    def settle_calls(self) -> None:
        """The stops had their window already (each send is bounded by it): what still
        hangs on a silent server is not waited for much longer."""
        ctx = self.ctx
        deadline = ctx.clock.monotonic() + min(1.0, self.confirm_window())
        for slot, future in ctx.stops:
            if ctx.workers.await_result(future, deadline) is None and not future.done() and slot:
                attempt = slot.state.current
                if attempt is not None and attempt.stop_error is None and not attempt.stop_sent:
                    attempt.stop_error = "the stop call was still waiting for the server"
