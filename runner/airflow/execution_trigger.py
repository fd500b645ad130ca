"""The async wait of deferred Datameer tasks, run by Airflow's triggerer.

Every ``DatameerExecutionTrigger`` of one triggerer process that waits on the same
connection shares one ``ServerWatch``: one ``list-running`` call per tick answers for all
of their executions, and only an execution that left the list gets a ``job-details``
call (the engine's ``runner.engine.poller.poll``).  A trigger fires once its execution
is final, when its deadline (the task's ``execution_timeout``) passes, or when the
execution cannot be found.  The trigger's arguments hold the connection id, never a
credential.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from runner.airflow.datameer_hook import DatameerHook
from runner.airflow.watch import details_to_data, stop_execution
from runner.datameer.client import DatameerClient
from runner.engine.poller import Watch, poll
from runner.model import Job
from runner.reference import JobRef, RefKind

log = logging.getLogger("runner.airflow")

FINAL = "final"  # the execution ended: the event carries its job details
TIMEOUT = "timeout"  # the deadline passed first
LOST = "lost"  # the server does not know the execution (for longer than the grace)
ERROR = "error"  # the server refused the credentials, or answered nonsense about it


@dataclass
class _Waiter:
    watch: Watch
    future: asyncio.Future[dict[str, Any]]
    unseen_since: float | None = None


@dataclass
class ServerWatch:
    """Polls one server for every execution the triggers of this event loop wait on."""

    conn_id: str
    poll_interval: float
    max_poll_interval: float
    unseen_grace: float
    waiters: dict[int, list[_Waiter]] = field(default_factory=dict)
    ticks: int = 0
    _client: DatameerClient | None = None
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self, watch: Watch, deadline: float | None) -> dict[str, Any]:
        """The event payload for ``watch``: final, timeout, lost or error."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(watch, loop.create_future())
        self.waiters.setdefault(watch.execution_id, []).append(waiter)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=f"datameer-watch-{self.conn_id}")
        timeout = None if deadline is None else max(0.0, deadline - time.time())
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            return {"event": TIMEOUT, "execution_id": watch.execution_id}
        finally:
            self._forget(waiter)

    def _forget(self, waiter: _Waiter) -> None:
        same = self.waiters.get(waiter.watch.execution_id, [])
        if waiter in same:
            same.remove(waiter)
        if not same:
            self.waiters.pop(waiter.watch.execution_id, None)

    async def _run(self) -> None:
        pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="datameer-details")
        interval = self.poll_interval
        try:
            if self._client is None:
                settings = await DatameerHook.asettings(self.conn_id)
                self._client = DatameerClient.from_settings(settings)
            while self.waiters:
                self._wake.clear()
                changed = await self._tick(pool)
                interval = (
                    self.poll_interval if changed else min(interval * 1.5, self.max_poll_interval)
                )
                try:
                    await asyncio.wait_for(self._wake.wait(), interval)
                    interval = self.poll_interval  # a new execution to watch: look soon
                except TimeoutError:
                    pass
        except Exception as error:  # every waiter must hear of it
            self._settle_all({"event": ERROR, "message": str(error)})
        finally:
            pool.shutdown(wait=False)
            if self._client is not None:
                self._client.close()
                self._client = None

    async def _tick(self, pool: ThreadPoolExecutor) -> bool:
        assert self._client is not None
        watches = [waiters[0].watch for waiters in self.waiters.values() if waiters]
        result = await asyncio.to_thread(poll, self._client, watches, pool)
        self.ticks += 1
        if result.refused is not None:
            self._settle_all({"event": ERROR, "message": str(result.refused)})
            return True
        if result.transient:
            log.warning("Datameer did not answer (%s); trying again", result.transient)
        changed = False
        now = time.monotonic()
        for execution_id, seen in result.observations.items():
            if seen.details is not None and seen.details.status.is_terminal:
                self._settle(
                    execution_id, {"event": FINAL, "details": details_to_data(seen.details)}
                )
                changed = True
            elif seen.missing:
                changed |= self._unseen(execution_id, now, seen.error)
            elif seen.error is not None:
                self._settle(execution_id, {"event": ERROR, "message": seen.error})
                changed = True
        return changed

    def _unseen(self, execution_id: int, now: float, error: str | None) -> bool:
        for waiter in self.waiters.get(execution_id, []):
            waiter.unseen_since = waiter.unseen_since or now
            if now - waiter.unseen_since >= self.unseen_grace:
                self._settle(execution_id, {"event": LOST, "message": error or "not found"})
                return True
        return False

    def _settle(self, execution_id: int, payload: dict[str, Any]) -> None:
        for waiter in self.waiters.get(execution_id, []):
            if not waiter.future.done():
                waiter.future.set_result({"execution_id": execution_id, **payload})

    def _settle_all(self, payload: dict[str, Any]) -> None:
        for execution_id in list(self.waiters):
            self._settle(execution_id, payload)


# One ServerWatch per event loop and connection (a triggerer runs one loop).
_WATCHES: dict[tuple[int, str], tuple[asyncio.AbstractEventLoop, ServerWatch]] = {}


def server_watch(conn_id: str, poll_interval: float, max_poll_interval: float) -> ServerWatch:
    """The shared watch of ``conn_id`` in the running event loop."""
    loop = asyncio.get_running_loop()
    for key, (other, _) in list(_WATCHES.items()):
        if other.is_closed():  # dag.test() runs each trigger in a loop of its own
            del _WATCHES[key]
    key = (id(loop), conn_id)
    entry = _WATCHES.get(key)
    if entry is None or entry[0] is not loop:
        watch = ServerWatch(conn_id, poll_interval, max_poll_interval, unseen_grace=120.0)
        _WATCHES[key] = (loop, watch)
        return watch
    shared = entry[1]
    shared.poll_interval = min(shared.poll_interval, poll_interval)
    return shared


class DatameerExecutionTrigger(BaseTrigger):
    """Fires once Datameer execution ``execution_id`` is final (or the deadline passed).

    ``deadline`` is a Unix time; ``None`` waits as long as it takes.
    """

    def __init__(
        self,
        conn_id: str,
        execution_id: int,
        configuration_id: int | None = None,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        deadline: float | None = None,
        job: str = "",
        ref_kind: str = "",
        ref_value: str = "",
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.execution_id = int(execution_id)
        self.configuration_id = configuration_id
        self.poll_interval = float(poll_interval)
        self.max_poll_interval = float(max_poll_interval)
        self.deadline = deadline
        self.job = job
        self.ref_kind = ref_kind
        self.ref_value = ref_value

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and arguments the triggerer re-creates the trigger from."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "execution_id": self.execution_id,
                "configuration_id": self.configuration_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "deadline": self.deadline,
                "job": self.job,
                "ref_kind": self.ref_kind,
                "ref_value": self.ref_value,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait with every other trigger of this connection; yield one event."""
        shared = server_watch(self.conn_id, self.poll_interval, self.max_poll_interval)
        watch = Watch(self.execution_id, self.configuration_id)
        payload = await shared.wait(watch, self.deadline)
        yield TriggerEvent(payload)

    async def on_kill(self) -> None:
        """A user killed the deferred task (mark failed, clear): stop this execution."""
        if not self.ref_kind:
            return
        settings = await DatameerHook.asettings(self.conn_id)
        job = Job(name=self.job or "task", ref=JobRef(RefKind(self.ref_kind), self.ref_value))

        def stop() -> str:
            with DatameerClient.from_settings(settings) as client:
                return stop_execution(client, job, self.execution_id, patience=10.0)

        said = await asyncio.to_thread(stop)
        log.info("%s: %s", job.name, said)
