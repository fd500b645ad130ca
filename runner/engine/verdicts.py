"""Closing attempts: what a finished execution makes of its job — success, a retry, or a
final failure — and what becomes of an attempt whose start had an unknown outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable

from runner.datameer.status import JobStatus
from runner.engine.context import RunContext
from runner.engine.events import EventKind
from runner.engine.outcome import Attempt, JobOutcome
from runner.engine.policy import execution_verdict, failed_gates, retry_delay, retry_kind
from runner.engine.slots import Slot
from runner.engine.trigger import StartResult
from runner.spec.durations import format_elapsed

log = logging.getLogger("runner.engine")

# Rounds of trigger sends (each up to trigger.MAX_TRIGGER_SENDS) one attempt may make while
# the server answers 5xx or drops them, before the attempt fails like a failed run.
MAX_START_ROUNDS = 3


def _never(slot: Slot, outcome: JobOutcome) -> bool:
    return False


def _ignore(slot: Slot) -> None:
    return None


class Verdicts:
    """Turns what the server said about an attempt into the job's next state.

    ``holds(slot, outcome)`` may keep a failed attempt's job pending (sequential mode's
    chain waits for its upstream); ``on_failure(slot)`` hears of each job that failed
    for good (the run's on_failure policy).
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.holds: Callable[[Slot, JobOutcome], bool] = _never
        self.on_failure: Callable[[Slot], None] = _ignore

    def finish_attempt(self, slot: Slot, attempt: Attempt, status: JobStatus) -> None:
        """The execution ended in ``status``: judge it (stop, gates, warnings)."""
        if not status.is_terminal:  # an unknown final status (see Observer.update_details)
            if slot.stop_outcome is not None:
                attempt.stop_confirmed = False
            self.attempt_over(slot, JobOutcome.FAILED, attempt.error, status, retry=False)
            return
        if slot.stop_outcome is not None:
            attempt.stop_confirmed = status is JobStatus.CANCELED
            if status is JobStatus.CANCELED:
                outcome, why = slot.stop_outcome, slot.state.reason or "stopped"
                self.attempt_over(slot, outcome, why, status, retry=slot.stop_retry)
                return
            # It ended on its own before the stop took effect: report what really happened.
            slot.stop_outcome = None
        outcome, reason = execution_verdict(slot.job, status)
        if outcome is JobOutcome.SUCCEEDED and slot.job.expect:
            problems = failed_gates(slot.job.expect, attempt.counters)
            if problems:
                attempt.error = "expect gate failed: " + "; ".join(problems)
                self.attempt_over(slot, JobOutcome.FAILED, attempt.error, status, retry=False)
                return
        self.attempt_over(slot, outcome, reason, status)

    def attempt_over(
        self,
        slot: Slot,
        outcome: JobOutcome,
        reason: str | None,
        status: JobStatus | None,
        *,
        retry: bool = True,
        may_hold: bool = True,
    ) -> None:
        """Close the current attempt; retry, succeed or fail the job."""
        if may_hold and outcome is not JobOutcome.SUCCEEDED and self.holds(slot, outcome):
            return
        ctx = self.ctx
        attempt = slot.state.current
        assert attempt is not None
        attempt.outcome = outcome
        attempt.error = attempt.error or (reason if outcome is not JobOutcome.SUCCEEDED else None)
        slot.stop_outcome, slot.stop_sent_at, slot.last_status = None, None, None
        if outcome is JobOutcome.SUCCEEDED:
            slot.state.outcome, slot.state.reason = outcome, None
            ctx.emit(
                EventKind.FINISHED, slot, finished_text(attempt, outcome), outcome=outcome.value
            )
            return
        slot.failures += 1
        if retry and self._may_retry(slot, outcome, status):
            delay = retry_delay(slot.job.retry, slot.failures, ctx.rng)
            slot.state.outcome = JobOutcome.PENDING
            slot.not_before = ctx.clock.monotonic() + delay
            ctx.emit(
                EventKind.RETRY_SCHEDULED,
                slot,
                f"{outcome.value} ({reason}); retrying in {format_elapsed(delay)}",
                delay=delay,
                outcome=outcome.value,
            )
            return
        slot.state.outcome, slot.state.reason = outcome, reason
        ctx.emit(
            EventKind.FINISHED, slot, finished_text(attempt, outcome, reason), outcome=outcome.value
        )
        self.on_failure(slot)

    def _may_retry(self, slot: Slot, outcome: JobOutcome, status: JobStatus | None) -> bool:
        run = self.ctx.run
        if run.halted_by is not None or run.halted:
            return False
        if slot.failures > slot.job.retry.retries:
            return False
        kind = retry_kind(outcome, status)
        if kind is None and outcome is JobOutcome.FAILED and status is None:
            kind = "ERROR"  # the trigger itself failed: worth another go like an ERROR run
        return kind is not None and kind in slot.job.retry.retry_on

    def fail_unstarted(self, slot: Slot, why: str, *, retry: bool = False) -> None:
        """A job that got no execution fails (its attempt is made if need be)."""
        slot.new_attempt()
        slot.state.outcome = JobOutcome.RUNNING
        self.attempt_over(slot, JobOutcome.FAILED, why, None, retry=retry, may_hold=False)

    def start_again_later(self, slot: Slot, result: StartResult) -> bool:
        """Queue an attempt whose start failed only transiently; False once its triggers
        were lost MAX_START_ROUNDS times (a server that always answers 500 to it)."""
        if result.sent:
            slot.start_rounds += 1
            if slot.start_rounds >= MAX_START_ROUNDS:
                return False
            # That trigger may land yet: its execution is looked for before another is sent.
            slot.resolve_pending, slot.resolve_from = True, result.previous_execution_id
        else:
            self.ctx.note_reachability(result.error)
        slot.state.outcome = JobOutcome.PENDING
        slot.not_before = self.ctx.clock.monotonic() + self.ctx.pipeline.policies.poll_interval
        return True

    def not_its_execution(self, slot: Slot, result: StartResult, why: str) -> None:
        """The trigger named an execution that is not this job's: its real outcome is unknown."""
        message = (
            f"the server answered execution {result.execution_id} to the trigger of "
            f"{slot.job.name}, but that execution {why}; looking for the job's own execution"
        )
        log.warning("%s: %s", slot.job.name, message)
        self.ctx.emit(EventKind.WRONG_EXECUTION, slot, message, execution_id=result.execution_id)
        unknown = StartResult(
            error=message,
            transient=True,
            sent=True,
            previous_execution_id=result.previous_execution_id,
        )
        if not self.start_again_later(slot, unknown):
            attempt = slot.state.current
            assert attempt is not None
            attempt.error = message
            self.attempt_over(slot, JobOutcome.FAILED, message, None, retry=False)


def finished_text(attempt: Attempt, outcome: JobOutcome, reason: str | None = None) -> str:
    """``execution 7 failed: why`` for the finished event."""
    execution = f"execution {attempt.execution_id} " if attempt.execution_id is not None else ""
    detail = f": {reason}" if reason else ""
    return f"{execution}{outcome.value.lower()}{detail}"
