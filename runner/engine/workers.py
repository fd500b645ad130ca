"""The threads a run's HTTP calls go through: a bounded pool for triggers and stops, and
one thread for polls, so that the loop can wait for them and still answer Ctrl-C.

Every call holds a clock ticket while it is in flight, so that virtual time
(``runner.clock.VirtualClock``) never runs past it (see ``_Lane``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from runner.clock import Clock, Ticket

T = TypeVar("T")

# How often a wait without a deadline looks at the interrupt (the loop's waits too).
INTERRUPT_SLICE = 0.1


class _Lane:
    """One thread pool and the clock tickets of its calls.

    A call holds a ticket from submission to its result, so virtual time never runs past
    it.  A call that must queue behind busy threads holds none while it queues: the busy
    threads may themselves be waiting on the clock (a trigger search pausing), and time
    has to move for them to free.  A finishing call hands a ticket on to the queue before
    giving its own back, so time never jumps between one call and the next.
    """

    def __init__(self, clock: Clock, threads: int, name: str) -> None:
        self._clock = clock
        self._threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._unfinished = 0  # submitted calls not yet over (running or queued)
        self._queued = 0  # calls that queued without a ticket and have not started
        self._handed: list[Ticket] = []  # tickets finished calls left for queued ones

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            ticket: Ticket | None = None
            if self._unfinished < self._threads:
                ticket = self._clock.work()
            else:
                self._queued += 1
            self._unfinished += 1

        def run() -> None:
            with ticket or self._handed_ticket():
                try:
                    if future.set_running_or_notify_cancel():
                        try:
                            future.set_result(call())
                        except BaseException as error:  # handed to whoever awaits it
                            future.set_exception(error)
                finally:
                    self._hand_on()

        def never_ran(done: Future[None]) -> None:
            if not done.cancelled():
                return
            with self._lock:
                self._unfinished -= 1
                if ticket is not None:
                    ticket.drop()
                    return
                self._queued -= 1
                if len(self._handed) > self._queued:
                    self._handed.pop().drop()

        self.pool.submit(run).add_done_callback(never_ran)
        return future

    def _handed_ticket(self) -> Ticket:
        with self._lock:
            self._queued -= 1
            return self._handed.pop() if self._handed else self._clock.work()

    def _hand_on(self) -> None:
        """A call is over: while it still holds its ticket, leave one for a queued call."""
        with self._lock:
            self._unfinished -= 1
            if self._queued > len(self._handed):
                self._handed.append(self._clock.work())

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class Workers:
    """The run's worker threads; ``shutdown`` abandons calls still hanging."""

    def __init__(self, clock: Clock, http_workers: int, cancelled: threading.Event) -> None:
        self._clock = clock
        self._cancelled = cancelled
        self._calls = _Lane(clock, http_workers, "dmpipe")
        self._polls = _Lane(clock, 1, "dmpipe-poll")
        # A poll's own fan-out (job details of executions that left list-running): threads
        # of its own, so a poll never queues behind triggers pausing in a search.
        self.poll_fanout = ThreadPoolExecutor(http_workers, thread_name_prefix="dmpipe-details")

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` in the pool."""
        return self._calls.submit(call)

    def submit_poll(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` on the poll thread."""
        return self._polls.submit(call)

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
                self._clock.wait(INTERRUPT_SLICE, done)
                continue
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return None
            self._clock.wait(remaining, done)
        return future.result()

    def shutdown(self) -> None:
        """Stop taking work; calls still hanging on a silent server are abandoned, not
        waited for: each is bounded by the client's deadline and changes nothing."""
        for lane in (self._calls, self._polls):
            lane.shutdown()
        self.poll_fanout.shutdown(wait=False, cancel_futures=True)
