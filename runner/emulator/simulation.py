"""The simulated Datameer: executions advancing lazily on the emulated clock.

Nothing runs in the background.  Every call first replays, in time order, the
transitions due since the previous call (a heap of "eligible" and "finish"
events), so the state is exactly what a server running in real time would show,
and an idle emulator costs nothing.  One lock guards everything; reads cost
O(what they return) — ``active()`` is O(active executions), not O(history).
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx  # type: ignore[import-untyped]

from runner.emulator.emulated_clock import Clock
from runner.emulator.execution import Execution, ExecutionView, Phase
from runner.emulator.ledger import Ledger
from runner.emulator.scenario import SUCCESSES, Artifact, HistoryRun, Scenario, default_counters


@dataclass(frozen=True)
class PlanStep:
    """One artifact of a sequential trigger; ``execution`` is None when it was not triggered."""

    artifact: Artifact
    execution: ExecutionView | None


# Phantom execution ids (a hostile trigger answer) start here: far above every real id.
PHANTOM_ID_BASE = 1_000_000_000


class Simulation:
    """Executions of the scenario's artifacts; every public method is thread-safe."""

    def __init__(self, scenario: Scenario, clock: Clock, ledger: Ledger) -> None:
        self.scenario = scenario
        self._clock = clock
        self._ledger = ledger
        self._lock = threading.RLock()
        self._now = float("-inf")
        self._by_id: dict[int, Execution] = {}
        self._by_file: dict[int, list[Execution]] = defaultdict(list)
        self._active: dict[int, Execution] = {}
        self._events: list[tuple[float, int, str, Execution]] = []
        self._event_order = itertools.count()
        self._ready: deque[Execution] = deque()
        self._running = 0
        self._runs: dict[int, int] = defaultdict(int)
        self._sequences = itertools.count(1)
        self._data = {a.data_id: a.data_state for a in scenario.artifacts if a.data_id is not None}
        self._ids = _IdAllocator(scenario)
        self._last_trigger: int | None = None
        self._load_history()

    # -- queries -----------------------------------------------------------------

    def now(self) -> float:
        """The emulated time, after applying every transition due by then."""
        with self._lock:
            return self._sync()

    def execution(self, execution_id: int) -> ExecutionView:
        """One execution; ``KeyError`` when the id is unknown."""
        with self._lock:
            now = self._sync()
            return self._by_id[execution_id].view(now)

    def executions(self) -> list[ExecutionView]:
        """Every execution, by id."""
        with self._lock:
            now = self._sync()
            return [self._by_id[i].view(now) for i in sorted(self._by_id)]

    def executions_of(self, file_id: int) -> list[ExecutionView]:
        """The executions of one artifact, oldest first."""
        with self._lock:
            now = self._sync()
            return [e.view(now) for e in self._by_file.get(file_id, [])]

    def active(self) -> list[ExecutionView]:
        """Waiting, queued and running executions, oldest first: O(active)."""
        with self._lock:
            now = self._sync()
            return [e.view(now) for e in self._active.values()]

    def latest(self, file_id: int, lag: float = 0.0) -> ExecutionView | None:
        """The newest execution of an artifact, ignoring those triggered less than ``lag`` ago."""
        with self._lock:
            now = self._sync()
            for execution in reversed(self._by_file.get(file_id, [])):
                if not _shown(execution, now):
                    continue
                if execution.trigger == "HISTORY" or execution.created_at + lag <= now:
                    return execution.view(now)
            return None

    def history(self, file_id: int, start: int, length: int) -> list[ExecutionView]:
        """A page of an artifact's executions, newest first."""
        with self._lock:
            now = self._sync()
            newest_first = [e for e in self._by_file.get(file_id, [])[::-1] if _shown(e, now)]
            return [e.view(now) for e in newest_first[start : start + length]]

    def data_state(self, data_id: int) -> str | None:
        """``present``, ``deleted``, or None for an unknown data id."""
        with self._lock:
            return self._data.get(data_id)

    # -- actions -----------------------------------------------------------------

    def trigger(
        self,
        artifact: Artifact,
        user: str,
        *,
        legacy: bool = False,
        lost: bool = False,
        hidden_for: float = 0.0,
        answer_fault: str | None = None,
        answered_id: int | None = None,
        via: str = "api",
    ) -> ExecutionView:
        """Start a new execution (it waits behind a still active one of the same artifact).

        ``hidden_for`` keeps it out of sight that many emulated seconds; ``answer_fault``
        and ``answered_id`` say in the ledger what a hostile answer named instead of it.
        """
        with self._lock:
            now = self._sync()
            execution = self._create(artifact, user, "LEGACY" if legacy else "RESTAPI", now)
            if hidden_for > 0:
                execution.visible_at = now + hidden_for
            if not execution.waiting_for:
                self._enqueue(execution, now)
            self._advance(now)
            self._last_trigger = execution.execution_id
            self._record(
                "legacy_trigger" if legacy else "trigger",
                execution,
                now,
                lost,
                answer_fault=answer_fault,
                answered_id=answered_id,
                via=via,
            )
            return execution.view(now)

    def phantom_id(self) -> int:
        """An execution id that names no execution and never will: a hostile answer."""
        with self._lock:
            return PHANTOM_ID_BASE + len(self._by_id)

    def last_triggered(self) -> int | None:
        """The execution id the newest trigger created (any artifact, any user)."""
        with self._lock:
            return self._last_trigger

    def trigger_sequence(
        self,
        roots: Sequence[Artifact],
        user: str,
        variables: Mapping[str, str],
        *,
        lost: bool = False,
    ) -> list[PlanStep]:
        """Start ``roots`` and their data-driven downstream chain, in dependency order."""
        with self._lock:
            now = self._sync()
            order, upstream = self._plan(roots)
            root_ids = {a.file_id for a in roots}
            sequence = next(self._sequences)
            created: dict[int, Execution] = {}
            for artifact in order:
                if artifact.file_id in root_ids or artifact.data_driven:
                    created[artifact.file_id] = self._create_step(
                        artifact, user, variables, sequence, now, upstream, created
                    )
            self._advance(now)
            for execution in created.values():
                self._record("sequence", execution, now, lost, variables=dict(variables))
            return [
                PlanStep(a, created[a.file_id].view(now) if a.file_id in created else None)
                for a in order
            ]

    def stop(self, artifact: Artifact, user: str) -> list[ExecutionView]:
        """Cancel every waiting, queued or running execution of the artifact."""
        with self._lock:
            now = self._sync()
            victims = [
                e for e in self._by_file.get(artifact.file_id, []) if e.phase is not Phase.DONE
            ]
            running = [e for e in victims if e.phase is Phase.RUNNING]
            for execution in victims:
                self._finish(execution, now, "CANCELED")
            named = running[0] if running else (victims[-1] if victims else None)
            self._ledger.record(
                "stop",
                user,
                now,
                file_id=artifact.file_id,
                configuration_id=artifact.configuration_id,
                execution_id=named.execution_id if named else None,
                effective=bool(victims),
                stopped=tuple(e.execution_id for e in victims),
            )
            return [e.view(now) for e in victims]

    def kill(self, execution_id: int, user: str) -> ExecutionView | None:
        """Cancel one execution by id (legacy job-kill); None when the id is unknown."""
        with self._lock:
            now = self._sync()
            execution = self._by_id.get(execution_id)
            if execution is None:
                return None
            effective = execution.phase is not Phase.DONE
            self._finish(execution, now, "CANCELED")
            stopped = (execution_id,) if effective else ()
            self._record("legacy_stop", execution, now, False, effective=effective, stopped=stopped)
            return execution.view(now)

    def delete_data(self, data_id: int, owner: Artifact, user: str) -> bool:
        """Mark data deleted; False when it already was."""
        with self._lock:
            now = self._sync()
            deleted = self._data.get(data_id) == "present"
            self._data[data_id] = "deleted"
            self._ledger.record(
                "delete",
                user,
                now,
                file_id=owner.file_id,
                configuration_id=owner.configuration_id,
                data_id=data_id,
                effective=deleted,
            )
            return deleted

    def refuse(self, action: str, user: str, artifact: Artifact | None) -> None:
        """Record an action refused (unknown or forbidden artifact): it had no effect."""
        with self._lock:
            self._ledger.record(
                action,
                user,
                self._sync(),
                file_id=artifact.file_id if artifact else None,
                configuration_id=artifact.configuration_id if artifact else None,
                effective=False,
            )

    # -- the engine ----------------------------------------------------------------

    def _sync(self) -> float:
        now = max(self._now, self._clock.now())
        self._advance(now)
        return now

    def _advance(self, now: float) -> None:
        """Apply, in time order, every transition due by ``now``."""
        while self._events and self._events[0][0] <= now:
            at, _, kind, execution = heapq.heappop(self._events)
            if kind == "eligible" and execution.phase is Phase.QUEUED:
                self._ready.append(execution)
                self._start_ready(at)
            elif kind == "finish" and execution.phase is Phase.RUNNING:
                self._finish(execution, at, execution.outcome)
        self._now = now

    def _schedule(self, at: float, kind: str, execution: Execution) -> None:
        heapq.heappush(self._events, (at, next(self._event_order), kind, execution))

    def _enqueue(self, execution: Execution, at: float) -> None:
        execution.phase = Phase.QUEUED
        execution.status = Phase.QUEUED.value
        execution.queued_at = at
        self._schedule(at + execution.artifact.queue_time, "eligible", execution)

    def _start_ready(self, at: float) -> None:
        limit = self.scenario.max_concurrent
        while self._ready and (limit == 0 or self._running < limit):
            execution = self._ready.popleft()
            if execution.phase is Phase.QUEUED:  # skip the ones cancelled while queued
                self._start(execution, at)

    def _start(self, execution: Execution, at: float) -> None:
        execution.phase = Phase.RUNNING
        execution.status = Phase.RUNNING.value
        execution.start_time = at
        self._running += 1
        self._schedule(at + execution.duration, "finish", execution)

    def _finish(self, first: Execution, at: float, status: str) -> None:
        """End ``first`` with ``status``; release or cancel what waited for it (no recursion)."""
        work = [(first, status)]
        while work:
            execution, outcome = work.pop()
            if execution.phase is Phase.DONE:
                continue
            if execution.phase is Phase.RUNNING:
                self._running -= 1
            execution.phase = Phase.DONE
            execution.status = outcome
            execution.stop_time = at
            execution.counters = self._final_counters(execution, outcome)
            self._active.pop(execution.execution_id, None)
            work.extend(self._release(execution, at))
        self._start_ready(at)

    def _release(self, done: Execution, at: float) -> Iterable[tuple[Execution, str]]:
        """Dependents of ``done``: enqueue the free ones; return those to cancel."""
        for dependent in done.dependents:
            needs_success = dependent.waiting_for.pop(done.execution_id, None)
            if dependent.phase is not Phase.WAITING or needs_success is None:
                continue
            if needs_success and done.status not in SUCCESSES:
                yield dependent, "CANCELED"
            elif not dependent.waiting_for:
                self._enqueue(dependent, at)

    def _create(
        self,
        artifact: Artifact,
        user: str,
        trigger: str,
        now: float,
        variables: Mapping[str, str] | None = None,
        sequence: int | None = None,
    ) -> Execution:
        """A new execution, waiting behind the artifact's newest active one if any."""
        self._runs[artifact.file_id] += 1
        run = self._runs[artifact.file_id]
        execution = Execution(
            execution_id=self._ids.allocate(),
            artifact=artifact,
            run=run,
            user=user,
            trigger=trigger,
            created_at=now,
            duration=self._duration(artifact, run),
            outcome=artifact.outcome_of_run(run),
            variables=dict(variables or {}),
            sequence=sequence,
        )
        previous = self._newest_active(artifact.file_id)
        if previous is not None:
            self._wait(execution, previous, needs_success=False)
        self._add(execution)
        return execution

    def _create_step(
        self,
        artifact: Artifact,
        user: str,
        variables: Mapping[str, str],
        sequence: int,
        now: float,
        upstream: Mapping[int, list[int]],
        created: Mapping[int, Execution],
    ) -> Execution:
        execution = self._create(
            artifact, user, "SEQUENCE", now, variables=dict(variables), sequence=sequence
        )
        for file_id in upstream[artifact.file_id]:
            if file_id in created:
                self._wait(execution, created[file_id], needs_success=True)
        if not execution.waiting_for:
            self._enqueue(execution, now)
        return execution

    def _wait(self, execution: Execution, on: Execution, needs_success: bool) -> None:
        execution.waiting_for[on.execution_id] = needs_success
        on.dependents.append(execution)

    def _newest_active(self, file_id: int) -> Execution | None:
        for execution in reversed(self._by_file.get(file_id, [])):
            if execution.phase is not Phase.DONE:
                return execution
        return None

    def _add(self, execution: Execution) -> None:
        self._by_id[execution.execution_id] = execution
        self._by_file[execution.artifact.file_id].append(execution)
        if execution.phase is not Phase.DONE:
            self._active[execution.execution_id] = execution

    def _duration(self, artifact: Artifact, run: int) -> float:
        low, high = artifact.duration
        if low == high:
            return low
        # A string seed is hashed with SHA-512: the same on every run and platform.
        draw = random.Random(f"{self.scenario.seed}:{artifact.file_id}:{run}")
        return draw.uniform(low, high)

    def _plan(self, roots: Sequence[Artifact]) -> tuple[list[Artifact], dict[int, list[int]]]:
        """The artifacts a sequence starts, in dependency order, and each one's upstreams."""
        root_ids = {a.file_id for a in roots}
        found: dict[int, Artifact] = {}
        pending = deque(roots)
        while pending:
            artifact = pending.popleft()
            if artifact.file_id in found:
                continue
            found[artifact.file_id] = artifact
            if artifact.file_id in root_ids or artifact.data_driven:
                pending.extend(self._artifact(i) for i in artifact.downstream)
        upstream: dict[int, list[int]] = {file_id: [] for file_id in found}
        for artifact in found.values():
            if artifact.file_id in root_ids or artifact.data_driven:
                for target in artifact.downstream:
                    upstream[target].append(artifact.file_id)
        return _topological(list(found.values()), upstream), upstream

    def _artifact(self, file_id: int) -> Artifact:
        artifact = self.scenario.artifact(file_id)
        assert artifact is not None  # the loader checked every downstream link
        return artifact

    def _record(
        self, action: str, execution: Execution, now: float, lost: bool, **fields: object
    ) -> None:
        self._ledger.record(
            action,
            execution.user,
            now,
            file_id=execution.artifact.file_id,
            configuration_id=execution.artifact.configuration_id,
            execution_id=execution.execution_id,
            response_lost=lost,
            **fields,
        )

    # -- history -------------------------------------------------------------------

    def _load_history(self) -> None:
        runs = [(a, h) for a in self.scenario.artifacts for h in a.history]
        runs.sort(key=lambda pair: (-pair[1].started_ago, pair[1].execution_id or 0))
        for artifact, run in runs:
            self._add_history(artifact, run)

    def _add_history(self, artifact: Artifact, run: HistoryRun) -> None:
        started = -run.started_ago
        execution = Execution(
            execution_id=self._ids.claim(run.execution_id),
            artifact=artifact,
            run=0,
            user=run.user,
            trigger="HISTORY",
            created_at=started,
            duration=run.duration,
            outcome=run.outcome,
            phase=Phase.DONE,
            status=run.status,
            start_time=started,
            stop_time=started + run.duration,
            counters=dict(run.counters or {}),
        )
        if run.status == "RUNNING":
            execution.phase, execution.stop_time = Phase.RUNNING, None
            self._running += 1
            self._schedule(started + run.duration, "finish", execution)
        elif run.status == "QUEUED":
            execution.start_time = execution.stop_time = None
            self._enqueue(execution, 0.0)
        else:
            execution.counters = self._final_counters(execution, run.status)
            if run.status == "CANCELED" and run.duration == 0:
                execution.start_time = None  # cancelled before it started
        self._add(execution)

    @staticmethod
    def _final_counters(execution: Execution, outcome: str) -> dict[str, int]:
        artifact = execution.artifact
        if execution.run:
            return dict(artifact.counters_of_run(execution.run, outcome))
        # A history run keeps the counters the scenario gave it.
        return dict(execution.counters) or default_counters(
            artifact.kind, artifact.file_id, outcome
        )


def _shown(execution: Execution, now: float) -> bool:
    return execution.visible_at is None or execution.visible_at <= now


class _IdAllocator:
    """Execution ids: unique, and by default above every file and configuration id."""

    def __init__(self, scenario: Scenario) -> None:
        self._used = {
            r.execution_id for a in scenario.artifacts for r in a.history if r.execution_id
        }
        taken = [*self._used, *(a.file_id for a in scenario.artifacts)]
        taken += [a.configuration_id for a in scenario.artifacts]
        self._next = scenario.first_execution_id or max(taken, default=0) + 1

    def claim(self, wanted: int | None) -> int:
        """``wanted`` when given (the loader checked it is unique), else the next free id."""
        return self.allocate() if wanted is None else wanted

    def allocate(self) -> int:
        """The next free id."""
        while self._next in self._used:
            self._next += 1
        self._used.add(self._next)
        return self._next


def _topological(artifacts: list[Artifact], upstream: Mapping[int, list[int]]) -> list[Artifact]:
    """Dependency order; ties keep discovery order, so the plan is deterministic."""
    rank = {a.file_id: i for i, a in enumerate(artifacts)}
    by_id = {a.file_id: a for a in artifacts}
    graph = nx.DiGraph()
    graph.add_nodes_from(by_id)
    graph.add_edges_from((up, file_id) for file_id, ups in upstream.items() for up in ups)
    return [by_id[file_id] for file_id in nx.lexicographical_topological_sort(graph, rank.get)]
