"""Sequential mode: which job each step of the server's execution plan is, and which new
executions a sequential trigger whose answer was lost started.

A step is matched by configuration id, or by job details (file id, uuid), or else by
the job's own v2 status naming the step's execution once the trigger ran.
"""

from __future__ import annotations

from runner.datameer.records import ExecutionPlan, ExecutionStatus, PlannedExecution
from runner.engine.context import RunContext
from runner.engine.events import EventKind
from runner.engine.outcome import JobOutcome
from runner.engine.slots import Slot
from runner.errors import (
    ApiError,
    EndpointUnavailableError,
    NotFoundError,
    TransientApiError,
    UsageError,
)
from runner.model import When
from runner.reference import JobRef, RefKind

Pairs = list[tuple[Slot | None, PlannedExecution]]


class SequenceRefusedError(UsageError):
    """Sequential mode cannot run this pipeline as written (exit 2; auto falls back)."""


class PlanMatcher:
    """Matches plan steps and new executions to the run's jobs."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.step_files: dict[int, int] = {}  # plan execution id → file id (job details)
        self.previous: dict[str, int | None] = {}  # newest execution seen before a trigger

    def chain_slots(self) -> list[Slot]:
        """The jobs the sequential trigger runs (not the failure handlers)."""
        return [s for s in self.ctx.slots.values() if s.job.when is When.ALL_SUCCESS]

    def resolve_all(self) -> None:
        """Every unfinished job's file id (and its newest execution) before any trigger."""
        problems = [
            problem
            for slot in self.chain_slots()
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
            status = self.ctx.api.execution_status(ref)
        except EndpointUnavailableError:
            raise
        except NotFoundError as error:
            return f"{slot.job.name}: the server has no artifact {_name(ref)} ({error.reason})"
        if ref.kind is RefKind.FILE_ID:
            slot.state.file_id = int(ref.value)
        elif status.file_id is not None:
            slot.state.file_id = status.file_id
        self.previous[slot.job.name] = status.execution_id
        local_needs = [need for need in slot.job.needs if need in self.ctx.slots]
        if slot.state.file_id is None and not local_needs:
            return (
                f"{slot.job.name}: {_name(ref)} has never run, so the server does not tell "
                "its file id, which the sequential trigger needs (name it by file_id)"
            )
        return None

    def match_plan(self, plan: ExecutionPlan) -> Pairs:
        """Each step's job: by configuration id or job details, else by the job's status."""
        pairs: Pairs = []
        taken: set[str] = set()
        for step in plan.steps:
            slot = self._slot_by_ids(step, taken)
            if slot is not None:
                taken.add(slot.job.name)
                slot.state.configuration_id = step.configuration_id
            pairs.append((slot, step))
        return self._match_by_status(pairs, taken)

    def _slot_by_ids(self, step: PlannedExecution, taken: set[str]) -> Slot | None:
        free = [s for s in self.ctx.slots.values() if s.job.name not in taken]
        for slot in free:
            if slot.state.configuration_id == step.configuration_id:
                return slot
        if step.execution_id is None:
            return None
        try:
            details = self.ctx.api.job_details(step.execution_id)
        except ApiError:
            return None
        if details.file_id is not None:
            self.step_files[step.execution_id] = details.file_id
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

    def _match_by_status(self, pairs: Pairs, taken: set[str]) -> Pairs:
        """Steps details could not place (a path named job, details before 7.4): the job's
        v2 status names its newest execution, which is the step's once the trigger ran."""
        ctx = self.ctx
        open_steps: dict[int | None, int] = {
            step.execution_id: index
            for index, (slot, step) in enumerate(pairs)
            if slot is None and step.execution_id is not None
        }
        waiting = [s for s in self.chain_slots() if s.job.name not in taken]
        deadline = ctx.clock.monotonic() + ctx.options.trigger_resolve_timeout
        while open_steps and waiting:
            for slot in list(waiting):
                status = self.status(slot.job.ref)
                if status is None or status.execution_id not in open_steps:
                    continue
                index = open_steps.pop(status.execution_id)
                waiting.remove(slot)
                slot.state.file_id = status.file_id or slot.state.file_id
                slot.state.configuration_id = pairs[index][1].configuration_id
                pairs[index] = (slot, pairs[index][1])
            if not open_steps or ctx.clock.monotonic() >= deadline or ctx.cancelled.is_set():
                break
            ctx.sleep(ctx.pipeline.policies.poll_interval)
        return pairs

    def find_new(
        self, slots: list[Slot], previous: dict[str, int | None]
    ) -> list[tuple[Slot, int]]:
        """Executions newer than ``previous`` of each job's artifact (v2 status, list-running),
        looked for until all are found or ``trigger_resolve_timeout`` has passed."""
        ctx = self.ctx
        own = ctx.own_executions_now()
        found: dict[str, int] = {}
        deadline = ctx.clock.monotonic() + ctx.options.trigger_resolve_timeout
        while True:
            running = self._running_by_configuration()
            for slot in slots:
                if slot.job.name not in found:
                    self._look_for_new(slot, previous, own, running, found)
            if len(found) == len(slots) or ctx.clock.monotonic() >= deadline:
                break
            if ctx.cancelled.is_set():
                break
            ctx.sleep(ctx.pipeline.policies.poll_interval)
        missing = [s.job.name for s in slots if s.job.name not in found]
        if missing:
            ctx.emit(
                EventKind.NOT_FOUND, message="no new execution found for " + ", ".join(missing)
            )
        return [(slot, found[slot.job.name]) for slot in slots if slot.job.name in found]

    def _look_for_new(
        self,
        slot: Slot,
        previous: dict[str, int | None],
        own: set[int],
        running: dict[int, list[int]],
        found: dict[str, int],
    ) -> None:
        name = slot.job.name
        status = self.status(slot.job.ref)
        candidates = [status.execution_id if status else None]
        candidates += running.get(slot.state.configuration_id or -1, [])
        for execution_id in candidates:
            before = previous.get(name)
            new = execution_id is not None and (before is None or execution_id > before)
            if new and execution_id not in own and execution_id is not None:
                found[name] = execution_id
                if status and status.execution_id == execution_id and status.file_id:
                    slot.state.file_id = status.file_id
                return

    def status(self, ref: JobRef) -> ExecutionStatus | None:
        """The artifact's v2 status, or None when the server could not say."""
        try:
            return self.ctx.api.execution_status(ref)
        except (TransientApiError, NotFoundError):
            return None

    def _running_by_configuration(self) -> dict[int, list[int]]:
        try:
            entries = self.ctx.api.list_running()
        except TransientApiError:
            return {}
        running: dict[int, list[int]] = {}
        for entry in entries:
            if entry.execution_id is not None:
                running.setdefault(entry.configuration_id, []).append(entry.execution_id)
        return running

    def chain_of(self, heads: list[Slot]) -> list[Slot]:
        """``heads`` and the unfinished all_success jobs downstream of them, in file order."""
        reached = {s.job.name for s in heads}
        changed = True
        while changed:
            changed = False
            for slot in self.chain_slots():
                name = slot.job.name
                if name in reached or slot.state.outcome.is_final:
                    continue
                if slot.state.outcome is JobOutcome.RUNNING:
                    continue
                if any(need in reached for need in slot.job.needs):
                    reached.add(name)
                    changed = True
        return [s for s in self.chain_slots() if s.job.name in reached]


def _name(ref: JobRef) -> str:
    if ref.kind is RefKind.PATH:
        return ref.value
    return f"{ref.kind.value.replace('_', ' ')} {ref.value}"
