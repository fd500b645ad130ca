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
from dataclasses import dataclass
from typing import Any

from runner.datameer.records import ExecutionPlan, ExecutionStatus, PlannedExecution
from runner.datameer.status import JobStatus
from runner.engine.outcome import Attempt, JobOutcome
from runner.engine.scheduler import ClientScheduler, Slot
from runner.errors import (
    ApiError,
    AuthenticationError,
    ConnectionFailedError,
    EndpointUnavailableError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    TransientApiError,
    UsageError,
)
from runner.model import When
from runner.reference import JobRef, RefKind

log = logging.getLogger("runner.engine")

# Sends of one sequential trigger refused before anything reached the server.
MAX_SEQUENCE_SENDS = 3
# What a POST answer may hide: the chain may have started.
_UNKNOWN_OUTCOME = (OutcomeUnknownError, ServerError, MalformedResponseError)


class SequenceRefusedError(UsageError):
    """Sequential mode cannot run this pipeline as written (exit 2; auto falls back)."""


@dataclass(frozen=True)
class PlanDrift:
    """Differences between the server's execution plan and the pipeline's DAG."""

    added: tuple[str, ...] = ()  # plan steps that match no job of the pipeline
    left_out: tuple[str, ...] = ()  # pipeline jobs the plan does not run
    out_of_order: tuple[str, ...] = ()  # "a before b" pairs the plan runs the other way

    def __bool__(self) -> bool:
        return bool(self.added or self.left_out or self.out_of_order)

    def describe(self) -> str:
        """The drift in one line."""
        parts = []
        if self.added:
            parts.append("the server added " + ", ".join(self.added))
        if self.left_out:
            parts.append("the plan leaves out " + ", ".join(self.left_out))
        if self.out_of_order:
            parts.append("the plan runs out of order: " + ", ".join(self.out_of_order))
        return "; ".join(parts)

    def merged(self, other: PlanDrift) -> PlanDrift:
        """This drift and ``other``'s (a later trigger's), without repeats."""
        return PlanDrift(
            _union(self.added, other.added),
            _union(self.left_out, other.left_out),
            _union(self.out_of_order, other.out_of_order),
        )


@dataclass(frozen=True)
class _Foreign:
    """A plan step no job matches: started by this run, watched by nobody."""

    label: str
    execution_id: int
    file_id: int | None  # from job details (7.4+): stopped by reference, else by execution


class SequentialScheduler(ClientScheduler):
    """Runs a pipeline through Datameer's sequential trigger."""

    # In auto mode a missing endpoint is not a failure: the run falls back to client mode.
    allow_fallback = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drift = PlanDrift()
        self._previous: dict[str, int | None] = {}  # newest execution seen before a trigger
        self._foreign: list[_Foreign] = []
        self._step_files: dict[int, int] = {}  # plan execution id → file id (job details)

    # -- the first tick ------------------------------------------------------------

    def begin(self) -> None:
        """Resolve every job, look for what a dead run may have started, trigger the heads."""
        if all(s.state.outcome is JobOutcome.SUCCEEDED for s in self._chain_slots()):
            if any(s.state.resumed for s in self.slots.values()):
                self.emit(
                    "nothing_to_do",
                    message="every job already succeeded in the run being resumed: "
                    "nothing to trigger",
                )
            return
        self._resolve_all()
        self._recover_unanswered()
        heads = [s for s in self._ready_slots() if s.job.when is When.ALL_SUCCESS]
        if heads:
            self._launch(heads)

    def _chain_slots(self) -> list[Slot]:
        return [s for s in self.slots.values() if s.job.when is When.ALL_SUCCESS]

    def _resolve_all(self) -> None:
        """Every unfinished job's file id (and its newest execution) before any trigger."""
        problems = [
            problem
            for slot in self._chain_slots()
            if slot.state.outcome is not JobOutcome.SUCCEEDED
            for problem in [self._resolve(slot)]
            if problem is not None
        ]
        if problems:
            raise SequenceRefusedError(
                "sequential mode cannot run this pipeline: "
                + "; ".join(problems)
                + " (use --mode client to trigger each job by its reference)"
            )

    def _resolve(self, slot: Slot) -> str | None:
        """Look the job's artifact up; returns why it cannot be part of a sequence, if so."""
        ref = slot.job.ref
        try:
            status = self.api.execution_status(ref)
        except EndpointUnavailableError:
            raise
        except NotFoundError as error:
            return f"{slot.job.name}: the server has no artifact {_name(ref)} ({error.reason})"
        if ref.kind is RefKind.FILE_ID:
            slot.state.file_id = int(ref.value)
        elif status.file_id is not None:
            slot.state.file_id = status.file_id
        self._previous[slot.job.name] = status.execution_id
        if slot.state.file_id is None and not self._local_needs(slot):
            return (
                f"{slot.job.name}: {_name(ref)} has never run, so the server does not tell "
                "its file id, which the sequential trigger needs (name it by file_id)"
            )
        return None

    def _recover_unanswered(self) -> None:
        """``--resume``: adopt what the dead run's unanswered sequential trigger started."""
        pending = [s for s in self._chain_slots() if s.resolve_pending]
        if not pending:
            return
        previous = {s.job.name: s.resolve_from for s in pending}
        for slot in pending:
            slot.resolve_pending = False
        self.emit(
            "looking",
            message="the run being resumed sent a sequential trigger and never heard back: "
            "looking for the executions it may have started",
        )
        for slot, execution_id in self._find_new(pending, previous):
            self._adopt(slot, execution_id, recovered=True)

    def _local_needs(self, slot: Slot) -> list[str]:
        return [need for need in slot.job.needs if need in self.slots]

    # -- triggering ----------------------------------------------------------------

    def _start(self, slot: Slot) -> None:
        """Handlers are triggered on their own, like client mode; a chain job that is ready
        (a retry, or a job a resumed run still has to run) by a sequential trigger."""
        if slot.job.when is not When.ALL_SUCCESS:
            super()._start(slot)
            return
        self._launch([slot])

    def _launch(self, heads: list[Slot]) -> None:
        """One sequential trigger of ``heads``; their chain's executions join the run."""
        chain = self._chain_of(heads)
        missing = [s.job.name for s in heads if s.state.file_id is None]
        if missing:
            for slot in heads:
                self._head_failed(slot, f"its file id is unknown ({', '.join(missing)})")
            return
        for slot in chain:
            state = slot.state
            if state.current is None or state.current.outcome is not None:
                state.attempts.append(Attempt(number=len(state.attempts) + 1))
            # The journal learns what to look for should the process die mid-call.
            self.emit(
                "trigger_sent",
                slot,
                "sending the sequential trigger",
                previous_execution_id=self._previous.get(slot.job.name),
                sequence=True,
            )
        try:
            plan = self._send([s.state.file_id for s in heads if s.state.file_id is not None])
        except ApiError as error:
            if self.allow_fallback and isinstance(error, EndpointUnavailableError):
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
        variables = dict(self.pipeline.variables)
        for send in range(1, MAX_SEQUENCE_SENDS + 1):
            try:
                plan = self.api.trigger_sequence(file_ids, variables)
            except ConnectionFailedError:
                # Refused before the request went out: nothing can have started.
                if send == MAX_SEQUENCE_SENDS or self.cancelled.is_set():
                    raise
                self._sleep(self.pipeline.policies.poll_interval)
                continue
            except _UNKNOWN_OUTCOME as error:
                self.emit(
                    "sequence_unknown",
                    message=f"{error}; looking for the executions it may have started "
                    "(the trigger is not sent again)",
                )
                return None
            self.emit(
                "sequence_triggered",
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
            self.emit("sequence_failed", slot, "not started: the sequential trigger failed")
        for slot in heads:
            self.emit("sequence_failed", slot, f"the sequential trigger failed: {why}")
            self._head_failed(slot, why, retry=retry)

    def _head_failed(self, slot: Slot, why: str, *, retry: bool = False) -> None:
        state = slot.state
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
        state.outcome = JobOutcome.RUNNING
        ClientScheduler._attempt_over(self, slot, JobOutcome.FAILED, why, None, retry=retry)

    # -- the answer ------------------------------------------------------------------

    def _take_plan(self, plan: ExecutionPlan, chain: list[Slot]) -> None:
        """Attach each plan step to its job; what is left over either way is drift."""
        pairs = self._match_plan(plan)
        ran: list[str] = []
        added: list[str] = []
        for slot, step in pairs:
            if step.execution_id is None:
                continue
            if slot is None:
                label = step.configuration_name or f"configuration {step.configuration_id}"
                added.append(label)
                file_id = self._step_files.get(step.execution_id)
                self._foreign.append(_Foreign(label, step.execution_id, file_id))
                continue
            ran.append(slot.job.name)
            if slot in chain:
                self._adopt(slot, step.execution_id)
            else:
                self.emit(
                    "rerun",
                    slot,
                    f"the sequential trigger ran it again (execution {step.execution_id}) "
                    "although it had already succeeded or is running: not watched",
                )
        left_out = [s for s in chain if s.job.name not in ran]
        drift = PlanDrift(
            tuple(added), tuple(s.job.name for s in left_out), self._out_of_order(ran)
        )
        self._note_drift(drift)
        for slot in left_out:
            if slot.state.outcome.is_final:
                continue  # stopped by --strict-plan
            self._not_run(
                slot,
                "the server's execution plan does not run it (is its artifact data-driven, "
                "downstream of what it needs?)",
            )

    def _take_found(self, heads: list[Slot], chain: list[Slot]) -> None:
        """The answer was lost: adopt the chain's new executions; nothing found, nothing ran."""
        found = self._find_new(chain, {s.job.name: self._previous.get(s.job.name) for s in chain})
        if not any(slot in heads for slot, _ in found):
            timeout = self.options.trigger_resolve_timeout
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
                self._not_run(
                    slot,
                    "the sequential trigger's answer was lost and no execution of it "
                    f"showed up in {self.options.trigger_resolve_timeout:g}s",
                )

    def _match_plan(self, plan: ExecutionPlan) -> list[tuple[Slot | None, PlannedExecution]]:
        """Each step's job: by configuration id or job details, else by the job's status."""
        pairs: list[tuple[Slot | None, PlannedExecution]] = []
        taken: set[str] = set()
        for step in plan.steps:
            slot = self._slot_by_ids(step, taken)
            if slot is not None:
                taken.add(slot.job.name)
                slot.state.configuration_id = step.configuration_id
            pairs.append((slot, step))
        return self._match_by_status(pairs, taken)

    def _slot_by_ids(self, step: PlannedExecution, taken: set[str]) -> Slot | None:
        free = [s for s in self.slots.values() if s.job.name not in taken]
        for slot in free:
            if slot.state.configuration_id == step.configuration_id:
                return slot
        if step.execution_id is None:
            return None
        try:
            details = self.api.job_details(step.execution_id)
        except ApiError:
            return None
        if details.file_id is not None:
            self._step_files[step.execution_id] = details.file_id
        for slot in free:
            ref = slot.job.ref
            same_file = details.file_id is not None and details.file_id in (
                slot.state.file_id,
                int(ref.value) if ref.kind is RefKind.FILE_ID else None,
            )
            same_uuid = ref.kind is RefKind.UUID and details.file_uuid == ref.value
            if same_file or same_uuid:
                slot.state.file_id = details.file_id or slot.state.file_id
                return slot
        return None

    def _match_by_status(
        self, pairs: list[tuple[Slot | None, PlannedExecution]], taken: set[str]
    ) -> list[tuple[Slot | None, PlannedExecution]]:
        """Steps details could not place (a path named job, details before 7.4): the job's
        v2 status names its newest execution, which is the step's once the trigger ran."""
        open_steps: dict[int | None, int] = {
            step.execution_id: index
            for index, (slot, step) in enumerate(pairs)
            if slot is None and step.execution_id is not None
        }
        waiting = [s for s in self._chain_slots() if s.job.name not in taken]
        deadline = self.clock.monotonic() + self.options.trigger_resolve_timeout
        while open_steps and waiting:
            for slot in list(waiting):
                status = self._status(slot.job.ref)
                if status is None or status.execution_id not in open_steps:
                    continue
                index = open_steps.pop(status.execution_id)
                waiting.remove(slot)
                slot.state.file_id = status.file_id or slot.state.file_id
                slot.state.configuration_id = pairs[index][1].configuration_id
                pairs[index] = (slot, pairs[index][1])
            if not open_steps or self.clock.monotonic() >= deadline or self.cancelled.is_set():
                break
            self._sleep(self.pipeline.policies.poll_interval)
        return pairs

    def _find_new(
        self, slots: list[Slot], previous: dict[str, int | None]
    ) -> list[tuple[Slot, int]]:
        """Executions newer than ``previous`` of each job's artifact (v2 status, list-running),
        looked for until all are found or ``trigger_resolve_timeout`` has passed."""
        own = self._own_executions_now()
        found: dict[str, int] = {}
        deadline = self.clock.monotonic() + self.options.trigger_resolve_timeout
        while True:
            running = self._running_by_configuration()
            for slot in slots:
                name = slot.job.name
                if name in found:
                    continue
                status = self._status(slot.job.ref)
                candidates = [status.execution_id if status else None]
                candidates += running.get(slot.state.configuration_id or -1, [])
                for execution_id in candidates:
                    before = previous.get(name)
                    new = execution_id is not None and (before is None or execution_id > before)
                    if new and execution_id not in own and execution_id is not None:
                        found[name] = execution_id
                        if status and status.execution_id == execution_id and status.file_id:
                            slot.state.file_id = status.file_id
                        break
            if len(found) == len(slots) or self.clock.monotonic() >= deadline:
                break
            if self.cancelled.is_set():
                break
            self._sleep(self.pipeline.policies.poll_interval)
        missing = [s.job.name for s in slots if s.job.name not in found]
        if missing:
            self.emit("not_found", message="no new execution found for " + ", ".join(missing))
        return [(slot, found[slot.job.name]) for slot in slots if slot.job.name in found]

    def _status(self, ref: JobRef) -> ExecutionStatus | None:
        try:
            return self.api.execution_status(ref)
        except (TransientApiError, NotFoundError):
            return None

    def _running_by_configuration(self) -> dict[int, list[int]]:
        try:
            entries = self.api.list_running()
        except TransientApiError:
            return {}
        running: dict[int, list[int]] = {}
        for entry in entries:
            if entry.execution_id is not None:
                running.setdefault(entry.configuration_id, []).append(entry.execution_id)
        return running

    def _own_executions_now(self) -> set[int]:
        self._owned = None
        own = self._own_executions()
        self._owned = None
        return set(own)

    def _adopt(self, slot: Slot, execution_id: int, *, recovered: bool = False) -> None:
        state = slot.state
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
        attempt = state.current
        assert attempt is not None
        attempt.execution_id = execution_id
        attempt.triggered_at = self.clock.now()
        state.outcome = JobOutcome.RUNNING
        slot.started_at = self.clock.monotonic()
        slot.last_status = None
        how = " (its answer was lost; found it by status)" if recovered else ""
        self.emit(
            "triggered",
            slot,
            f"execution {execution_id} (sequence){how}",
            execution_id=execution_id,
            recovered=recovered,
            file_id=state.file_id,
            configuration_id=state.configuration_id,
        )

    def _not_run(self, slot: Slot, why: str) -> None:
        """A chain job the trigger did not run fails: the pipeline said it must run."""
        state = slot.state
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
        state.outcome = JobOutcome.RUNNING
        ClientScheduler._attempt_over(self, slot, JobOutcome.FAILED, why, None, retry=False)

    # -- drift -----------------------------------------------------------------------

    def _note_drift(self, drift: PlanDrift) -> None:
        if not drift:
            return
        self.drift = self.drift.merged(drift)
        self.emit("drift", message="execution plan drift: " + drift.describe())
        if self.options.strict_plan and not self._halted():
            self.run.notes.append("plan drift (--strict-plan)")
            self._halt(JobOutcome.CANCELED, "execution plan drift (--strict-plan)")

    def _out_of_order(self, order: list[str]) -> tuple[str, ...]:
        position = {name: index for index, name in enumerate(order)}
        return tuple(
            f"{need} before {name}"
            for name, slot in self.slots.items()
            for need in self._local_needs(slot)
            if name in position and need in position and position[need] > position[name]
        )

    def _chain_of(self, heads: list[Slot]) -> list[Slot]:
        """``heads`` and the unfinished all_success jobs downstream of them, in file order."""
        reached = {s.job.name for s in heads}
        changed = True
        while changed:
            changed = False
            for slot in self._chain_slots():
                name = slot.job.name
                if name in reached or slot.state.outcome.is_final:
                    continue
                if slot.state.outcome is JobOutcome.RUNNING:
                    continue
                if any(need in reached for need in slot.job.needs):
                    reached.add(name)
                    changed = True
        return [s for s in self._chain_slots() if s.job.name in reached]

    # -- stopping --------------------------------------------------------------------

    def _halt(self, outcome: JobOutcome, reason: str) -> None:
        """Also stop the plan steps no job matched: this run started them."""
        super()._halt(outcome, reason)
        self._stop_foreign()

    def _job_failed(self, slot: Slot) -> None:
        super()._job_failed(slot)
        if self.run.halted_by is not None and self._cancelling():
            self._stop_foreign()

    def _cancelling(self) -> bool:
        from runner.model import OnFailure

        return self.pipeline.policies.on_failure is OnFailure.CANCEL

    def _drain(self) -> None:
        """Plan steps no job matched were started by this run (contract C2): they are
        watched until they end, and stopped if the run is interrupted or times out first."""
        limit = self.pipeline.policies.timeout
        if self._foreign and not self._halting():
            names = ", ".join(step.label for step in self._foreign)
            self.emit("draining", message=f"waiting for what the server's plan added: {names}")
        while self._foreign and not self._halting():
            if limit is not None and self.clock.monotonic() - self.run.started_at > limit:
                self.run.timed_out = True
                break
            self._foreign = [step for step in self._foreign if not self._ended(step)]
            if self._foreign:
                self._sleep(self.pipeline.policies.poll_interval)
        self._stop_foreign()

    def _halting(self) -> bool:
        return self.cancelled.is_set() or self.run.refused is not None or self.run.server_lost

    def _ended(self, step: _Foreign) -> bool:
        assert self._pool is not None
        future = self._pool.submit(self.api.job_details, step.execution_id)
        try:
            details = self._await(future, None)
        except ApiError as error:
            log.debug("execution %s (%s): %s", step.execution_id, step.label, error)
            return False
        return details is not None and (details.status.is_terminal or details.stop_time is not None)

    def _stop_foreign(self) -> None:
        assert self._pool is not None
        while self._foreign:
            step = self._foreign.pop()
            self.emit(
                "stop_requested",
                message=f"stopping execution {step.execution_id} ({step.label}): "
                "started by the sequential trigger, not part of the pipeline",
                execution_id=step.execution_id,
            )
            self._stops.append((None, self._pool.submit(self._kill, step)))

    def _kill(self, step: _Foreign) -> None:
        """By execution id; by artifact only where the server has no stop by id."""
        try:
            try:
                self.api.stop_legacy(step.execution_id)
            except (TransientApiError, OutcomeUnknownError, AuthenticationError):
                raise
            except ApiError:
                if step.file_id is None:
                    raise
                self.api.stop(JobRef.parse(step.file_id))
        except ApiError as error:
            log.warning("could not stop execution %s: %s", step.execution_id, error)

    def _attempt_over(
        self,
        slot: Slot,
        outcome: JobOutcome,
        reason: str | None,
        status: JobStatus | None,
        *,
        retry: bool = True,
    ) -> None:
        """A chain execution that ended because its upstream failed waits for the upstream."""
        upstream_unsettled = any(
            self.slots[need].state.outcome is not JobOutcome.SUCCEEDED
            for need in self._local_needs(slot)
        )
        chained = outcome is not JobOutcome.SUCCEEDED and slot.stop_outcome is None
        if chained and upstream_unsettled and not self._halted():
            attempt = slot.state.current
            assert attempt is not None
            attempt.outcome = JobOutcome.SKIPPED
            attempt.error = "not run by the server: an upstream job failed"
            slot.state.outcome = JobOutcome.PENDING
            slot.last_status = None
            self.emit(
                "chain_wait",
                slot,
                "waiting for its upstream job to be retried",
                outcome=JobOutcome.SKIPPED.value,
            )
            return
        super()._attempt_over(slot, outcome, reason, status, retry=retry)

    def _halted(self) -> bool:
        return self.run.interrupted or self.run.timed_out


def _name(ref: JobRef) -> str:
    if ref.kind is RefKind.PATH:
        return ref.value
    return f"{ref.kind.value.replace('_', ' ')} {ref.value}"


def _union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*first, *second)))
