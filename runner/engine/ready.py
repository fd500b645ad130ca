"""Which jobs may be looked at for a start: in-degree counts over the pipeline's graph.

Like dbt's ``GraphQueue``, each job counts its needs that are not final yet; when a job
becomes final only its successors are re-checked, and a job whose count reached zero
is free: its needs are settled, and ``policy.readiness`` decides between starting and
skipping it.  Final outcomes never go back, so the counts only go down.

The queue is told what happened rather than looking at every job: ``heard`` names each
job an event names (the scheduler passes on every event), ``settled`` each job whose
outcome became final (every FINISHED and SKIPPED event: the events the journal records
final outcomes from).  So a look costs what changed since the last one, and the loop's
per-tick passes walk the ``live`` jobs only — the open jobs something happened to, a
few hundred of a 2,000-job run — not every job.
"""

from __future__ import annotations

from collections.abc import Mapping

from runner.engine.outcome import JobOutcome
from runner.engine.slots import Slot
from runner.model import Job


class ReadyQueue:
    """The jobs whose needs are all final, in pipeline-file order."""

    def __init__(self, slots: Mapping[str, Slot]) -> None:
        self._slots = slots
        self._order = {name: index for index, name in enumerate(slots)}
        # need -> the jobs needing it; plain dicts, not networkx: a run never imports it
        # (a third of a second at start-up).  A need written twice counts once.
        self._successors: dict[str, list[str]] = {name: [] for name in slots}
        self._unsettled: dict[str, int] = dict.fromkeys(slots, 0)
        for name, slot in slots.items():
            for need in dict.fromkeys(slot.job.needs):
                if need in slots:
                    self._successors[need].append(name)
                    self._unsettled[name] += 1
        self._open = set(slots)  # not final yet
        self._free = {name for name, count in self._unsettled.items() if count == 0}
        # Open jobs an event named (or a resumed run left in some state), and their
        # slots in file order once asked for (None: to be sorted again).
        self._live: set[str] = set()
        self._live_slots: list[Slot] | None = []
        # Jobs told of and not looked at yet: appended from any thread (trigger workers
        # emit events), drained by the loop's.
        self._told: list[str] = []
        self._heard: list[str] = []
        # The executions this run triggered for jobs now final (they change no more).
        self._final_own: set[int] = set()
        self._final_frozen: frozenset[int] | None = None  # its copy, until it grows
        self.sync()

    def heard(self, name: str) -> None:
        """An event named ``name``: the job may have left its untouched PENDING state.
        Every change to a job's state comes with an event naming it, in the same call."""
        self._heard.append(name)

    def settled(self, name: str) -> None:
        """Tell the queue that ``name``'s outcome became final (call it after the change)."""
        self._told.append(name)

    def sync(self) -> None:
        """Look at every open job (the states a resumed run carried over, say)."""
        self._heard.extend(name for name in self._open if _touched(self._slots[name]))
        self._told.extend(self._open)
        self._catch_up()

    def _catch_up(self) -> None:
        """Take note of what the queue was told; only a final job's successors are
        re-checked."""
        heard, told, slots = self._heard, self._told, self._slots
        while heard:
            name = heard.pop()
            if name not in self._live and name in self._open:
                self._live.add(name)
                self._live_slots = None
        if not told:
            return
        names = set()
        while told:
            names.add(told.pop())
        finished = [n for n in names & self._open if slots[n].state.outcome.is_final]
        for name in sorted(finished, key=self._order.__getitem__):
            self._open.discard(name)
            self._free.discard(name)
            own = _own(slots[name])
            if own:
                self._final_own.update(own)
                self._final_frozen = None
            if name in self._live:
                self._live.discard(name)
                self._live_slots = None
            for successor in self._successors[name]:
                self._unsettled[successor] -= 1
                if self._unsettled[successor] == 0 and successor in self._open:
                    self._free.add(successor)

    def all_final(self) -> bool:
        """True once every job has a final outcome."""
        self._catch_up()
        return not self._open

    def live(self) -> list[Slot]:
        """The open jobs something happened to, in file order: every job RUNNING,
        WAITING, starting or waiting for a retry is among them (do not change the list)."""
        self._catch_up()
        if self._live_slots is None:
            names = sorted(self._live, key=self._order.__getitem__)
            self._live_slots = [self._slots[name] for name in names]
        return self._live_slots

    def own_executions(self) -> frozenset[int]:
        """The executions this run triggered (not those it attached to): the final jobs'
        as noted when they became final, the live jobs' looked at now; other jobs have
        no attempt."""
        live = {
            attempt.execution_id
            for slot in self.live()  # catches up first: the final ones are noted then
            for attempt in slot.state.attempts
            if attempt.execution_id is not None and not attempt.attached
        }
        final = self._final_frozen
        if final is None:
            final = self._final_frozen = frozenset(self._final_own)
        return final.union(live) if live else final

    def blocked(self, name: str) -> bool:
        """True while one of the job's needs is not final."""
        self._catch_up()
        return self._unsettled[name] > 0

    def free(self) -> list[Slot]:
        """Pending jobs whose needs are all final, in file order."""
        self._catch_up()
        names = sorted(self._free, key=self._order.__getitem__)
        return [
            self._slots[name]
            for name in names
            if self._slots[name].state.outcome is JobOutcome.PENDING
        ]

    def need_outcomes(self, job: Job) -> dict[str, JobOutcome]:
        """The outcome of each of ``job``'s needs that is part of the run."""
        return {need: self._slots[need].state.outcome for need in job.needs if need in self._slots}


def _touched(slot: Slot) -> bool:
    """Whether the job left its untouched PENDING state (a resumed run's, say)."""
    state = slot.state
    return (
        state.outcome is not JobOutcome.PENDING
        or bool(state.attempts)
        or slot.resolve_pending
        or slot.not_before > 0
        or slot.starting is not None
    )


def _own(slot: Slot) -> list[int]:
    """The executions of the job's attempts that this run triggered."""
    return [
        attempt.execution_id
        for attempt in slot.state.attempts
        if attempt.execution_id is not None and not attempt.attached
    ]
