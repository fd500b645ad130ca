"""Sequential mode: Datameer runs the data-driven chain; the runner checks and watches it.

Before anything is sent, every job's artifact reference (file id, uuid or path)
is resolved through the v2 status call, which names the artifact's file id once
it has run; a job the server does not know, or a chain head that never ran (its
file id is then unknown), makes the mode refuse (``auto`` falls back to client
mode instead).  One sequential-trigger call then starts the chain heads with the
workbook variables; Datameer starts their downstream chain and answers the
execution plan.  Every plan step is matched to its job by configuration id or
file id (job details), or by the job's own status naming the step's execution;
the step's name is only for messages.  Steps no job matches and jobs the plan
does not run are drift; a job the plan does not run fails, so a run exits 0 only
when every job had a plan execution this run watched to success.

The trigger is sent once per attempt.  A lost, unreadable or 5xx answer is an
unknown outcome: the chain's artifacts are looked at (v2 status, list-running)
for new executions within ``trigger_resolve_timeout`` and those found are
adopted.  A retry, and ``--resume`` of a failed run, send the sequential
trigger again from the failed job, which re-runs its downstream chain; jobs that
succeeded are kept and live executions are re-attached.  Failure handlers
(``when`` other than all_success) are never part of the chain: dmpipe triggers
them itself, as in client mode.
"""

from __future__ import annotations

import logging

from runner.datameer.records import ExecutionPlan
from runner.engine.client_start import ClientStart
from runner.engine.events import EventKind
from runner.engine.outcome import JobOutcome
from runner.engine.plan_drift import PlanDrift, out_of_order
from runner.engine.plan_match import PlanMatcher, SequenceRefusedError
from runner.engine.slots import Slot
from runner.engine.stopper import Foreign
from runner.engine.strategy import EngineParts
from runner.errors import (
    ApiError,
    ConnectionFailedError,
    EndpointUnavailableError,
    MalformedResponseError,
    OutcomeUnknownError,
    ServerError,
    TransientApiError,
)
from runner.model import When

log = logging.getLogger("runner.engine")

# Sends of one sequential trigger refused before anything reached the server.
MAX_SEQUENCE_SENDS = 3
# What a POST answer may hide: the chain may have started.
_UNKNOWN_OUTCOME = (OutcomeUnknownError, ServerError, MalformedResponseError)


class SequenceUnavailableError(Exception):
    """Auto mode only: the server lacks the sequential trigger, or sequential mode refused
    the pipeline; the run goes on in client mode."""


class SequentialStart:
    """Starts the chain through Datameer's sequential trigger; handlers like client mode.

    ``fallback`` (auto mode): a missing endpoint or a refused pipeline raises
    ``SequenceUnavailableError`` from ``begin`` instead of failing the run.
    """

    def __init__(self, parts: EngineParts, *, fallback: bool = False) -> None:
        self.ctx = parts.ctx
        self.ready = parts.ready
        self.verdicts = parts.verdicts
        self.stopper = parts.stopper
        self.halt = parts.halt
        self.fallback = fallback
        self.handlers = ClientStart(parts)
        self.plan = PlanMatcher(parts.ctx)
        self.drift = PlanDrift()

    @classmethod
    def with_fallback(cls, parts: EngineParts) -> SequentialStart:
        """Auto mode's strategy."""
        return cls(parts, fallback=True)

    # -- the first tick ------------------------------------------------------------

    def begin(self) -> None:
        """Resolve every job, look for what a dead run may have started, trigger the heads."""
        if not self.fallback:
            self._begin()
            return
        try:
            self._begin()
        except EndpointUnavailableError as error:
            reason = f"the server has no sequential trigger ({error})"
            raise SequenceUnavailableError(reason) from error
        except SequenceRefusedError as error:
            raise SequenceUnavailableError(str(error)) from error

    def _begin(self) -> None:
        ctx = self.ctx
        if all(s.state.outcome is JobOutcome.SUCCEEDED for s in self.plan.chain_slots()):
            if any(s.state.resumed for s in ctx.slots.values()):
                ctx.emit(
                    EventKind.NOTHING_TO_DO,
                    message="every job already succeeded in the run being resumed: "
                    "nothing to trigger",
                )
            return
        self.plan.resolve_all()
        self._recover_unanswered()
        heads = [s for s in self._ready_heads() if s.job.when is When.ALL_SUCCESS]
        if heads:
            self._launch(heads)

    def _ready_heads(self) -> list[Slot]:
        now = self.ctx.clock.monotonic()
        return [
            slot
            for slot in self.ready.free()
            if slot.not_before <= now
            and all(o is JobOutcome.SUCCEEDED for o in self.ready.need_outcomes(slot.job).values())
        ]

    def _recover_unanswered(self) -> None:
        """``--resume``: adopt what the dead run's unanswered sequential trigger started."""
        pending = [s for s in self.plan.chain_slots() if s.resolve_pending]
        if not pending:
            return
        previous = {s.job.name: s.resolve_from for s in pending}
        for slot in pending:
            slot.resolve_pending = False
        self.ctx.emit(
            EventKind.LOOKING,
            message="the run being resumed sent a sequential trigger and never heard back: "
            "looking for the executions it may have started",
        )
        for slot, execution_id in self.plan.find_new(pending, previous):
            self._adopt(slot, execution_id, recovered=True)

    # -- triggering ----------------------------------------------------------------

    def start(self, slot: Slot) -> None:
        """Handlers are triggered on their own, like client mode; a chain job that is ready
        (a retry, or a job a resumed run still has to run) by a sequential trigger."""
        if slot.job.when is not When.ALL_SUCCESS:
            self.handlers.start(slot)
            return
        self._launch([slot])

    def harvest(self) -> bool:
        """The handlers' starts (the chain's are synchronous)."""
        return self.handlers.harvest()

    def await_starts(self, deadline: float) -> None:
        """The handlers' starts in flight."""
        self.handlers.await_starts(deadline)

    def abandon(self, reason: str) -> None:
        """The handlers' starts still in flight."""
        self.handlers.abandon(reason)

    def _launch(self, heads: list[Slot]) -> None:
        """One sequential trigger of ``heads``; their chain's executions join the run."""
        chain = self.plan.chain_of(heads)
        missing = [s.job.name for s in heads if s.state.file_id is None]
        if missing:
            for slot in heads:
                self.verdicts.fail_unstarted(slot, f"its file id is unknown ({', '.join(missing)})")
            return
        for slot in chain:
            slot.new_attempt()
            # The journal learns what to look for should the process die mid-call.
            self.ctx.emit(
                EventKind.TRIGGER_SENT,
                slot,
                "sending the sequential trigger",
                previous_execution_id=self.plan.previous.get(slot.job.name),
                sequence=True,
            )
        try:
            plan = self._send([s.state.file_id for s in heads if s.state.file_id is not None])
        except ApiError as error:
            if self.fallback and isinstance(error, EndpointUnavailableError):
                raise  # auto mode: the run goes on in client mode
            self._trigger_failed(
                heads, chain, str(error), retry=isinstance(error, TransientApiError)
            )
            return
        if plan is None:
            self._take_found(heads, chain)
        else:
            self._take_plan(plan, chain)

    def _send(self, file_ids: list[int]) -> ExecutionPlan | None:
        """The POST; None when its outcome is unknown (the chain may have started)."""
        ctx = self.ctx
        variables = dict(ctx.pipeline.variables)
        for send in range(1, MAX_SEQUENCE_SENDS + 1):
            try:
                plan = ctx.api.trigger_sequence(file_ids, variables)
            except ConnectionFailedError:
                # Refused before the request went out: nothing can have started.
                if send == MAX_SEQUENCE_SENDS or ctx.cancelled.is_set():
                    raise
                ctx.sleep(ctx.pipeline.policies.poll_interval)
                continue
            except _UNKNOWN_OUTCOME as error:
                ctx.emit(
                    EventKind.SEQUENCE_UNKNOWN,
                    message=f"{error}; looking for the executions it may have started "
                    "(the trigger is not sent again)",
                )
                return None
            ctx.emit(
                EventKind.SEQUENCE_TRIGGERED,
                message=f"sequential trigger started {len(plan.steps)} execution(s)",
                plan=[step.configuration_name for step in plan.steps],
            )
            return plan
        raise AssertionError("unreachable")  # pragma: no cover

    def _trigger_failed(
        self, heads: list[Slot], chain: list[Slot], why: str, *, retry: bool
    ) -> None:
        """Nothing started: the heads' attempts fail, the rest of the chain waits for them."""
        for slot in chain:
            if slot in heads:
                continue
            slot.state.attempts.pop()
            self.ctx.emit(
                EventKind.SEQUENCE_FAILED, slot, "not started: the sequential trigger failed"
            )
        for slot in heads:
            self.ctx.emit(EventKind.SEQUENCE_FAILED, slot, f"the sequential trigger failed: {why}")
            self.verdicts.fail_unstarted(slot, why, retry=retry)

    # -- the answer ------------------------------------------------------------------

    def _take_plan(self, plan: ExecutionPlan, chain: list[Slot]) -> None:
        """Attach each plan step to its job; what is left over either way is drift."""
        ran: list[str] = []
        added: list[str] = []
        for slot, step in self.plan.match_plan(plan):
            if step.execution_id is None:
                continue
            if slot is None:
                label = step.configuration_name or f"configuration {step.configuration_id}"
                added.append(label)
                file_id = self.plan.step_files.get(step.execution_id)
                self.stopper.foreign.append(Foreign(label, step.execution_id, file_id))
                continue
            ran.append(slot.job.name)
            if slot in chain:
                self._adopt(slot, step.execution_id)
            else:
                self.ctx.emit(
                    EventKind.RERUN,
                    slot,
                    f"the sequential trigger ran it again (execution {step.execution_id}) "
                    "although it had already succeeded or is running: not watched",
                )
        left_out = [s for s in chain if s.job.name not in ran]
        names = tuple(s.job.name for s in left_out)
        self._note_drift(PlanDrift(tuple(added), names, out_of_order(ran, self.ctx.slots)))
        for slot in left_out:
            if slot.state.outcome.is_final:
                continue  # stopped by --strict-plan
            self.verdicts.fail_unstarted(
                slot,
                "the server's execution plan does not run it (is its artifact data-driven, "
                "downstream of what it needs?)",
            )

    def _take_found(self, heads: list[Slot], chain: list[Slot]) -> None:
        """The answer was lost: adopt the chain's new executions; nothing found, nothing ran."""
        previous = {s.job.name: self.plan.previous.get(s.job.name) for s in chain}
        found = self.plan.find_new(chain, previous)
        timeout = self.ctx.options.trigger_resolve_timeout
        if not any(slot in heads for slot, _ in found):
            why = (
                "the sequential trigger's answer was lost and no execution showed up "
                f"in {timeout:g}s"
            )
            self._trigger_failed(heads, chain, why, retry=True)
            return
        for slot, execution_id in found:
            self._adopt(slot, execution_id, recovered=True)
        seen = {slot.job.name for slot, _ in found}
        for slot in chain:
            if slot.job.name not in seen:
                self.verdicts.fail_unstarted(
                    slot,
                    "the sequential trigger's answer was lost and no execution of it "
                    f"showed up in {timeout:g}s",
                )

    def _adopt(self, slot: Slot, execution_id: int, *, recovered: bool = False) -> None:
        ctx, state = self.ctx, slot.state
        attempt = slot.new_attempt()
        attempt.execution_id = execution_id
        attempt.triggered_at = ctx.clock.now()
        state.outcome = JobOutcome.RUNNING
        slot.started_at = ctx.clock.monotonic()
        slot.last_status = None
        how = " (its answer was lost; found it by status)" if recovered else ""
        ctx.emit(
            EventKind.TRIGGERED,
            slot,
            f"execution {execution_id} (sequence){how}",
            execution_id=execution_id,
            recovered=recovered,
            file_id=state.file_id,
            configuration_id=state.configuration_id,
        )

    def _note_drift(self, drift: PlanDrift) -> None:
        if not drift:
            return
        ctx = self.ctx
        self.drift = self.drift.merged(drift)
        ctx.emit(EventKind.DRIFT, message="execution plan drift: " + drift.describe())
        if ctx.options.strict_plan and not ctx.run.halted:
            ctx.run.notes.append("plan drift (--strict-plan)")
            self.halt(JobOutcome.CANCELED, "execution plan drift (--strict-plan)")

    # -- the chain's failures and the end ---------------------------------------------

    def holds(self, slot: Slot, outcome: JobOutcome) -> bool:
        """A chain execution that ended because its upstream failed waits for the upstream."""
        ctx = self.ctx
        upstream_unsettled = any(
            ctx.slots[need].state.outcome is not JobOutcome.SUCCEEDED
            for need in slot.job.needs
            if need in ctx.slots
        )
        if slot.stop_outcome is not None or not upstream_unsettled or ctx.run.halted:
            return False
        attempt = slot.state.current
        assert attempt is not None
        attempt.outcome = JobOutcome.SKIPPED
        attempt.error = "not run by the server: an upstream job failed"
        slot.state.outcome = JobOutcome.PENDING
        slot.last_status = None
        ctx.emit(
            EventKind.CHAIN_WAIT,
            slot,
            "waiting for its upstream job to be retried",
            outcome=JobOutcome.SKIPPED.value,
        )
        return True
