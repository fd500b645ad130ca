"""The run's worker threads on a virtual clock: calls queued behind busy threads never
freeze time, and time never runs past a call in flight."""

from __future__ import annotations

import threading
import time

import pytest

from runner.clock import VirtualClock
from runner.engine.workers import Workers


@pytest.mark.timeout(20)
def test_calls_queued_behind_threads_waiting_on_the_clock_still_run() -> None:
    clock = VirtualClock()
    workers = Workers(clock, 2, threading.Event())
    started: dict[str, float] = {}

    def pausing(name: str, seconds: float) -> str:
        started[name] = clock.monotonic()
        clock.wait(seconds)
        return name

    with clock.work():  # the loop's own ticket, as the scheduler holds it
        futures = [workers.submit(lambda n=n: pausing(n, 10.0)) for n in ("a", "b")]
        futures += [workers.submit(lambda n=n: pausing(n, 1.0)) for n in ("c", "d")]
        results = [workers.await_result(future, None) for future in futures]
    workers.shutdown()

    assert results == ["a", "b", "c", "d"]
    # The queued calls started the moment a thread freed, not at some later jump.
    assert (started["a"], started["b"], started["c"], started["d"]) == (0.0, 0.0, 10.0, 10.0)
    assert clock.monotonic() == 11.0


@pytest.mark.timeout(20)
def test_time_waits_for_a_call_in_flight() -> None:
    clock = VirtualClock()
    workers = Workers(clock, 1, threading.Event())
    seen: list[float] = []

    def real_work() -> None:
        time.sleep(0.05)  # an HTTP call: real time, no clock wait
        seen.append(clock.monotonic())

    with clock.work():
        future = workers.submit(real_work)
        clock.wait(30.0)  # time may not jump while the call is in flight...
        workers.await_result(future, None)
    workers.shutdown()

    assert seen == [0.0]  # ...so the call ended at virtual time 0
    assert clock.monotonic() == 30.0
