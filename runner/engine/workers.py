"""The threads a run's HTTP calls go through: a bounded pool for triggers and stops, and
one thread for polls, so that the loop can wait for them and still answer Ctrl-C.

Every call holds a clock ticket from submission to its result, so that virtual time
(``runner.clock.VirtualClock``) never runs past a call in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from runner.clock import Clock

T = TypeVar("T")

# How often a wait without a deadline looks at the interrupt.
_SLICE = 0.1


class Workers:
    """The run's worker threads; ``shutdown`` abandons calls still hanging."""

    def __init__(self, clock: Clock, http_workers: int, cancelled: threading.Event) -> None:
        self._clock = clock
        self._cancelled = cancelled
        self.pool = ThreadPoolExecutor(http_workers, thread_name_prefix="dmpipe")
        self._poller = ThreadPoolExecutor(1, thread_name_prefix="dmpipe-poll")

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` in the pool."""
        return self._run(self.pool, call)

    def submit_poll(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` on the poll thread."""
        return self._run(self._poller, call)

    def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        ticket = self._clock.work()

        def run() -> None:
            with ticket:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    future.set_result(call())
                except BaseException as error:  # handed to whoever awaits the future
                    future.set_exception(error)

        inner = pool.submit(run)
        inner.add_done_callback(lambda done: ticket.drop() if done.cancelled() else None)
        return future

    def await_result(self, future: Future[T], deadline: float | None) -> T | None:
        """The future's result, or None once ``deadline`` (clock time) passed — or, without
        a deadline, once the run is interrupted: the loop never hangs on a server that
        stopped answering."""
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        while not done.is_set():
            if deadline is None:
                if self._cancelled.is_set():
                    return None
                self._clock.wait(_SLICE, done)
                continue
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.wait(remaining, done)
        return future.result()

    def shutdown(self) -> None:
        """Stop taking work; calls still hanging on a silent server are abandoned, not
        waited for: each is bounded by the client's deadline and changes nothing."""
        for pool in (self.pool, self._poller):
            pool.shutdown(wait=False, cancel_futures=True)
