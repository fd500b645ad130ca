"""Sequential mode: Datameer runs the data-driven chain; the runner checks and watches it.

One sequential-trigger call starts the pipeline's entry jobs with the workbook
variables; Datameer starts their downstream chain itself and returns the
execution plan.  The plan is matched to the pipeline's jobs (by file id or
uuid, from job details) and compared with the DAG; any drift is reported.
Every execution of the plan is then polled like a client-mode job.  A retry
re-triggers the failed job the same way, which restarts its chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runner.engine.outcome import Attempt, JobOutcome
from runner.engine.scheduler import ClientScheduler, Slot
from runner.errors import ApiError, EndpointUnavailableError, RunError
from runner.model import When
from runner.records import ExecutionPlan
from runner.reference import RefKind
from runner.status import JobStatus


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


class SequentialScheduler(ClientScheduler):
    """Runs a pipeline through Datameer's sequential trigger."""

    drift: PlanDrift = PlanDrift()
    # In auto mode a missing endpoint is not a failure: the run falls back to client mode.
    allow_fallback = False

    def begin(self) -> None:
        """Send the one sequential trigger for the pipeline's entry jobs."""
        entries = [
            slot
            for slot in self.slots.values()
            if not self._local_needs(slot) and slot.job.when is When.ALL_SUCCESS
        ]
        try:
            self._resolve_file_ids(entries)
            plan = self._launch(entries)
        except ApiError as error:
            if self.allow_fallback and isinstance(error, EndpointUnavailableError):
                raise
            for slot in entries:
                slot.state.attempts.append(Attempt(number=1, error=str(error)))
                self._attempt_over(slot, JobOutcome.FAILED, str(error), None, retry=False)
            return
        self.drift = self._compare(plan)
        if self.drift:
            self.emit("drift", message="execution plan drift: " + self.drift.describe())
            if self.options.strict_plan:
                self.run.notes.append("plan drift (--strict-plan)")
                self._halt(JobOutcome.CANCELED, "execution plan drift (--strict-plan)")

    def _resolve_file_ids(self, slots: list[Slot]) -> None:
        """The sequential trigger takes file ids: look them up for uuid and path references."""
        for slot in slots:
            if slot.job.ref.kind is not RefKind.FILE_ID and slot.state.file_id is None:
                slot.state.file_id = self.api.execution_status(slot.job.ref).file_id

    def _local_needs(self, slot: Slot) -> list[str]:
        return [need for need in slot.job.needs if need in self.slots]

    def _launch(self, slots: list[Slot]) -> list[tuple[str | None, int | None, str]]:
        """Trigger ``slots`` and their chain; attach each plan step to its job."""
        file_ids = [_file_id(slot) for slot in slots]
        plan = self.api.trigger_sequence(file_ids, dict(self.pipeline.variables))
        self.emit(
            "sequence_triggered",
            message=f"sequential trigger started {len(plan.steps)} execution(s)",
            plan=[step.configuration_name for step in plan.steps],
        )
        return self._attach_plan(plan)

    def _attach_plan(self, plan: ExecutionPlan) -> list[tuple[str | None, int | None, str]]:
        """Give each matched job a new attempt on its planned execution; returns the matches."""
        matched: list[tuple[str | None, int | None, str]] = []
        for step in plan.steps:
            name = self._match_step(step.execution_id, step.configuration_id)
            matched.append((name, step.execution_id, step.configuration_name))
            if name is None or step.execution_id is None:
                continue
            slot = self.slots[name]
            slot.state.configuration_id = step.configuration_id
            if slot.state.outcome is JobOutcome.SUCCEEDED:
                continue
            self._adopt(slot, step.execution_id)
        return matched

    def _adopt(self, slot: Slot, execution_id: int) -> None:
        state = slot.state
        if state.current is None or state.current.outcome is not None:
            state.attempts.append(Attempt(number=len(state.attempts) + 1))
        attempt = state.current
        assert attempt is not None
        attempt.execution_id = execution_id
        attempt.triggered_at = self.clock.now()
        state.outcome = JobOutcome.RUNNING
        slot.started_at = self.clock.monotonic()
        self.emit(
            "triggered", slot, f"execution {execution_id} (sequence)", execution_id=execution_id
        )

    def _match_step(self, execution_id: int | None, configuration_id: int) -> str | None:
        """The pipeline job a plan step runs: by configuration id seen before, else job details."""
        for name, slot in self.slots.items():
            if slot.state.configuration_id == configuration_id:
                return name
        if execution_id is None:
            return None
        try:
            details = self.api.job_details(execution_id)
        except ApiError:
            return None
        for name, slot in self.slots.items():
            ref = slot.job.ref
            if ref.kind is RefKind.FILE_ID and details.file_id == int(ref.value):
                return name
            if ref.kind is RefKind.UUID and details.file_uuid == ref.value:
                return name
            if slot.state.file_id is not None and slot.state.file_id == details.file_id:
                return name
        return None

    def _compare(self, matched: list[tuple[str | None, int | None, str]]) -> PlanDrift:
        order = [name for name, _, _ in matched if name is not None]
        added = tuple(label for name, _, label in matched if name is None)
        left_out = tuple(name for name in self.slots if name not in order)
        position = {name: index for index, name in enumerate(order)}
        wrong = tuple(
            f"{need} before {name}"
            for name, slot in self.slots.items()
            for need in self._local_needs(slot)
            if name in position and need in position and position[need] > position[name]
        )
        return PlanDrift(added, left_out, wrong)

    # -- what differs from client mode -------------------------------------------------

    def _ready_slots(self) -> Iterable[Slot]:
        """Retries, and handlers (``when`` other than all_success) the data-driven chain
        cannot express; the server starts everything else."""
        for slot in super()._ready_slots():
            handler = slot.job.when is not When.ALL_SUCCESS and not slot.state.attempts
            if slot.failures > 0 or handler:
                yield slot

    def _start(self, slot: Slot) -> None:
        """Re-trigger a failed job the way it first ran: a sequential trigger of it alone."""
        if slot.failures == 0:
            super()._start(slot)  # a handler: triggered on its own, like client mode
            return
        try:
            self._launch([slot])
        except ApiError as error:
            slot.state.attempts.append(Attempt(number=len(slot.state.attempts) + 1))
            self._attempt_over(slot, JobOutcome.FAILED, str(error), None)
            return
        if slot.state.outcome is JobOutcome.PENDING:
            slot.state.attempts.append(Attempt(number=len(slot.state.attempts) + 1))
            message = "the sequential trigger's plan did not include this job"
            self._attempt_over(slot, JobOutcome.FAILED, message, None, retry=False)

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
            self.emit("chain_wait", slot, "waiting for its upstream job to be retried")
            return
        super()._attempt_over(slot, outcome, reason, status, retry=retry)

    def _halted(self) -> bool:
        return self.run.interrupted or self.run.timed_out

    def _settle(self) -> bool:
        """Besides the usual skips: jobs the server's plans never ran, once nothing else can."""
        changed = super()._settle()
        busy = any(
            slot.state.outcome in (JobOutcome.RUNNING, JobOutcome.WAITING)
            or (slot.state.outcome is JobOutcome.PENDING and slot.failures > 0)
            for slot in self.slots.values()
        )
        if busy:
            return changed
        for slot in self.slots.values():
            if slot.state.outcome is JobOutcome.PENDING:
                slot.state.outcome = JobOutcome.SKIPPED
                slot.state.reason = "not in the server's execution plan"
                self.emit("skipped", slot, "skipped: not in the server's execution plan")
                changed = True
        return changed


def _file_id(slot: Slot) -> int:
    ref = slot.job.ref
    if ref.kind is RefKind.FILE_ID:
        return int(ref.value)
    if slot.state.file_id is not None:
        return slot.state.file_id
    raise RunError(
        f"job {slot.job.name}: sequential mode needs a file_id reference for the jobs it "
        f"triggers (got {ref.kind.value} {ref.value!r}); use file_id or mode: client"
    )
