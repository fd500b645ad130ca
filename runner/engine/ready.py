"""Which jobs may be looked at for a start: in-degree counts over the pipeline's graph.

Like dbt's ``GraphQueue``, each job counts its needs that are not final yet; when a job
becomes final only its successors are re-checked, and a job whose count reached zero
is free: its needs are settled, and ``policy.readiness`` decides between starting and
skipping it.  Final outcomes never go back, so the counts only go down.

The queue is told which jobs may have become final (``settled``: the scheduler passes on
every FINISHED and SKIPPED event, the events the journal records final outcomes from), so
a look costs what changed since the last one, not a scan of every open job.
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
        self._open: dict[str, None] = dict.fromkeys(slots)  # not final yet, in file order
        self._free = {name for name, count in self._unsettled.items() if count == 0}
        # Jobs told of (``settled``) and not looked at yet: appended from any thread,
        # drained by the loop's.
        self._told: list[str] = []
        self.sync()

    def settled(self, name: str) -> None:
        """Tell the queue that ``name``'s outcome became final (call it after the change)."""
        self._told.append(name)

    def sync(self) -> None:
        """Look at every open job's outcome (the outcomes of a resumed run, say)."""
        self._told.extend(self._open)
        self._catch_up()

    def _catch_up(self) -> None:
        """Take note of the jobs told of that are final; only their successors are re-checked."""
        told, slots = self._told, self._slots
        if not told:
            return
        names = set()
        while told:
            names.add(told.pop())
        finished = [n for n in names if n in self._open and slots[n].state.outcome.is_final]
        for name in sorted(finished, key=self._order.__getitem__):
            del self._open[name]
            self._free.discard(name)
            for successor in self._successors[name]:
                self._unsettled[successor] -= 1
                if self._unsettled[successor] == 0 and successor in self._open:
                    self._free.add(successor)

    def all_final(self) -> bool:
        """True once every job has a final outcome."""
        self._catch_up()
        return not self._open

    def open_slots(self) -> list[Slot]:
        """The slots whose job is not final yet, in file order."""
        self._catch_up()
        slots = self._slots
        return [slots[name] for name in self._open]

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
