"""Watching the executions a run started: one poll of them all, and what each observation
makes of its job (progress, status changes, the end of an execution, a wrong artifact)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import TYPE_CHECKING

from runner.datameer.records import RunningJob
from runner.datameer.status import JobStatus
from runner.engine.baseline import Listing, Newest
from runner.engine.context import RunContext
from runner.engine.events import EventKind
from runner.engine.outcome import Attempt, JobOutcome
from runner.engine.poller import Observation, TickResult, Watch, poll
from runner.engine.slots import Slot
from runner.engine.stopper import Stopper
from runner.engine.trigger import StartResult, newer_execution
from runner.engine.verdicts import Verdicts
from runner.reference import RefKind

if TYPE_CHECKING:  # made on first use (runner.datameer.late_records)
    from runner.datameer.records import JobDetails

log = logging.getLogger("runner.engine")

# Consecutive failed look-ups of one execution before its attempt is given up.
MAX_OBSERVATION_ERRORS = 5
PROGRESS_EVERY = 1.0


class Observer:
    """Polls the watched executions and applies what the server said to their jobs."""

    def __init__(self, ctx: RunContext, verdicts: Verdicts, stopper: Stopper) -> None:
        self.ctx = ctx
        self.verdicts = verdicts
        self.stopper = stopper
        self._listed_at: float | None = None  # when the last list-running was answered
        # Job -> the look for its own execution, once the one its trigger's answer named
        # stayed unseen past unseen_grace (a phantom id): the unseen id, the look.
        self._phantoms: dict[str, tuple[int, Future[int | None]]] = {}

    def watches(self) -> dict[int, Slot]:
        """Every execution to look at, with its job."""
        watched: dict[int, Slot] = {}
        for slot in self.ctx.live_slots():  # the only ones RUNNING or WAITING
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

    def poll(
        self,
        deadline: float | None = None,
        *,
        due: float | None = None,
        on_call: Callable[[], None] | None = None,
        ended: Collection[int] = (),
    ) -> bool:
        """One look at every watched execution; gives up waiting for the server at
        ``deadline`` (or, without one, when the run is interrupted).  True on a change.

        With ``due`` and per-job polling, only executions whose planned look is at or
        before ``due`` are looked at (one list-running answers for all of them anyway).
        ``on_call`` hears when the server is actually asked."""
        ctx = self.ctx
        watched = self.watches()
        if due is not None and not ctx.options.batch_polling:
            watched = {
                eid: slot
                for eid, slot in watched.items()
                if slot.look is None or slot.look[0] != eid or slot.look[1] <= due
            }
        if not watched:
            return False
        if on_call is not None:
            on_call()
        watches = [Watch(eid, slot.state.configuration_id) for eid, slot in watched.items()]
        pool, batch = ctx.workers.poll_fanout, ctx.options.batch_polling
        clock = ctx.clock
        future = ctx.workers.submit_poll(
            lambda: poll(ctx.api, watches, pool, batch=batch, now=clock.monotonic, ended=ended)
        )
        tick = ctx.workers.await_result(future, deadline)
        if tick is None:
            return False
        return self._apply(watched, tick)

    def _apply(self, watched: dict[int, Slot], tick: TickResult) -> bool:
        run = self.ctx.run
        if tick.refused is not None:
            run.refused = run.refused or str(tick.refused)
            return True
        self.ctx.note_reachability(tick.transient)
        changed = False
        self._listed_at = tick.listed_at
        if tick.running is not None and tick.listed_at is not None:
            # Every execution the run triggered is its own, watched or not (one that just
            # ended may linger on the list); one it waits for or attached to is not.
            self.ctx.owned = None
            own = self.ctx.own_executions()
            self.ctx.listing = Listing.of(tick.listed_at, tick.running, own)
        for execution_id, observation in tick.observations.items():
            slot = watched[execution_id]
            if slot.state.outcome is JobOutcome.WAITING:
                changed = self._observe_foreign(slot, observation) or changed
            else:
                changed = self._observe(slot, observation) or changed
        return changed

    def _observe_foreign(self, slot: Slot, observation: Observation) -> bool:
        status = _observed_status(observation)
        if observation.error is not None:
            slot.errors += 1
            if slot.errors < MAX_OBSERVATION_ERRORS:
                return False
        elif status is None or not status.is_terminal:
            return False
        slot.errors = 0
        self.ctx.emit(
            EventKind.WAITED,
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
        sent_at = slot.sent_at
        if observation.running is not None:
            changed = self._update_running(slot, attempt, observation.running)
        else:
            assert observation.details is not None
            changed = self._update_details(slot, attempt, observation.details)
        if attempt.execution_id == observation.execution_id and sent_at is not None:
            self._created(observation.execution_id, sent_at)
        return changed

    def _created(self, execution_id: int, sent_at: float) -> None:
        """The server shows an execution this run's trigger created, on the right artifact
        as far as is known: every execution older than the trigger has a lower id.  (Taken
        from the server's lists, not the trigger's answer: a wrong id in an answer must not
        become the run's baseline.)"""
        self.ctx.newest = Newest.latest(self.ctx.newest, execution_id, sent_at)

    def _observation_failed(self, slot: Slot, attempt: Attempt, observation: Observation) -> bool:
        """A look-up of the execution failed.  A new execution the server does not show
        yet is given ``unseen_grace``; past it, or after repeated other failures, the
        execution is of unknown fate: it is stopped (it may be alive) and never re-triggered."""
        now, grace = self.ctx.clock.monotonic(), self.ctx.options.unseen_grace
        if observation.missing:
            slot.unseen_since = slot.unseen_since if slot.unseen_since is not None else now
            if now - slot.unseen_since < grace:
                return False
            found = self._phantom(slot, attempt)
            if found is None:
                return False  # its own execution is being looked for
            if found:
                return True
            why = f"execution {attempt.execution_id} not found for {grace:g}s: {observation.error}"
        else:
            slot.errors += 1
            if slot.errors < MAX_OBSERVATION_ERRORS:
                return False
            why = f"execution {attempt.execution_id} could not be watched: {observation.error}"
        attempt.error = why
        if slot.stop_outcome is not None:  # a stop is in flight: let it be confirmed or expire
            return False
        log.warning("%s: %s; stopping it", slot.job.name, why)
        self.stopper.request_stop(slot, JobOutcome.FAILED, why, retry=False)
        return True

    def _phantom(self, slot: Slot, attempt: Attempt) -> bool | None:
        """An execution the trigger's answer named stays unseen: the id may name nothing
        (a server answering a wrong id while the job runs under its own).  The artifact's
        status is asked once, in the pool, for an execution newer than the trigger's
        baseline; one found becomes the attempt's execution (True).  False when there is
        none (or the attempt is not a trigger's answer), None while the look is out."""
        name, unseen = slot.job.name, attempt.execution_id
        if attempt.attached or attempt.recovered or unseen is None:
            return False
        if slot.stop_outcome is not None:
            return False
        pending = self._phantoms.get(name)
        if pending is None or pending[0] != unseen:
            api, job, previous = self.ctx.api, slot.job, slot.resolve_from
            taken = self.ctx.own_executions() | {unseen}
            look = self.ctx.workers.submit(lambda: newer_execution(api, job, previous, taken))
            self._phantoms[name] = (unseen, look)
            return None
        look = pending[1]
        if not look.done():
            return None
        found = look.result()
        if found is None:
            return False
        del self._phantoms[name]
        attempt.execution_id, attempt.recovered = found, True
        slot.unseen_since, slot.last_status = None, None
        self.ctx.owned = None
        message = (
            f"execution {unseen}, which the server answered to the trigger, never appeared; "
            f"the artifact's status shows execution {found}, started since: watching it"
        )
        log.warning("%s: %s", name, message)
        self.ctx.emit(EventKind.WRONG_EXECUTION, slot, message, execution_id=unseen)
        return True

    def _update_running(self, slot: Slot, attempt: Attempt, entry: RunningJob) -> bool:
        known = slot.state.configuration_id
        if known is not None and entry.configuration_id not in (None, known):
            return self._wrong_artifact(
                slot, attempt, f"runs configuration {entry.configuration_id}, not {known}"
            )
        attempt.progress = entry.progress
        attempt.estimate_seconds = entry.estimate_seconds
        self._tell_progress(slot, entry)
        attempt.server_start = attempt.server_start or entry.start_time
        # The answer describes the moment the server made it, not when it was read here:
        # a later time would stretch the duration that progress implies.
        listed_at = self._listed_at
        slot.seen_at = listed_at if listed_at is not None else self.ctx.clock.monotonic()
        if slot.state.configuration_id is None and attempt.execution_id is not None:
            slot.state.configuration_id = entry.configuration_id
            self.ctx.configuration_from[slot.job.name] = attempt.execution_id
        return self._status_changed(slot, attempt, entry.status, entry.raw_status)

    def _tell_progress(self, slot: Slot, entry: RunningJob) -> None:
        """A PROGRESS event when the job's progress or estimate changed, at most one per
        ``PROGRESS_EVERY`` seconds a job: the displays show them, nothing reads them
        faster, and a 2,000-job run would spend a sixth of its CPU telling them.  A change
        held back is told at the first look past the interval."""
        told, now = slot.progress_told, self.ctx.clock.monotonic()
        shown = (entry.progress, entry.estimate_seconds)
        if shown == ((None, None) if told is None else told[:2]):
            return
        if told is not None and now - told[2] < PROGRESS_EVERY:
            return
        slot.progress_told = (*shown, now)
        self.ctx.emit(
            EventKind.PROGRESS,
            slot,
            f"{entry.progress or 0:g}% done",
            progress=entry.progress,
            estimate_seconds=entry.estimate_seconds,
        )

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
        attempt.detected_at = self.ctx.clock.now()
        self.verdicts.finish_attempt(slot, attempt, status)
        return True

    def _wrong_artifact(self, slot: Slot, attempt: Attempt, why: str) -> bool:
        """The execution the trigger named runs another artifact: never this job's success."""
        release_execution(self.ctx, self.verdicts, slot, attempt, why)
        return True

    def _status_changed(self, slot: Slot, attempt: Attempt, status: JobStatus, raw: str) -> bool:
        attempt.status, attempt.raw_status = status, raw
        if status is slot.last_status:
            return False
        slot.last_status = status
        shown = raw if status is JobStatus.UNKNOWN else status.value
        self.ctx.emit(
            EventKind.STATUS, slot, f"execution {attempt.execution_id} is {shown}", status=shown
        )
        return True


def release_execution(
    ctx: RunContext, verdicts: Verdicts, slot: Slot, attempt: Attempt, why: str
) -> None:
    """The attempt's execution is not its job's (``why``): drop it, forget what was learnt
    from it, and look for the job's own execution."""
    execution_id = attempt.execution_id
    if ctx.configuration_from.get(slot.job.name) == execution_id:
        # Learnt from this very execution: it was never the artifact's configuration.
        del ctx.configuration_from[slot.job.name]
        slot.state.configuration_id = slot.job.configuration_id
    attempt.execution_id = None
    attempt.status = attempt.raw_status = None
    slot.last_status = None
    unknown = StartResult(execution_id=execution_id, previous_execution_id=slot.resolve_from)
    verdicts.not_its_execution(slot, unknown, why)


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
