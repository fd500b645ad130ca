"""The caller's ``cancelled`` event, relayed to the run's own: the run never waits on the
caller's event, so a caller may set it from a signal handler."""

from __future__ import annotations

import threading
import time

from runner.cancel import RELAY_SLICE, relayed


def relays_alive() -> int:
    return sum(thread.name == "dmpipe-cancel" for thread in threading.enumerate())


def gone_within(seconds: float) -> bool:
    """The relay threads ended within ``seconds`` (a bound for a loaded machine, not a time
    the test measures: the relay looks every ``RELAY_SLICE``)."""
    deadline = time.monotonic() + seconds
    while relays_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return relays_alive() == 0


def test_no_event_is_no_event() -> None:
    with relayed(None) as own:
        assert own is None


def test_the_run_gets_an_event_of_its_own_set_once_the_callers_is() -> None:
    cancelled = threading.Event()
    with relayed(cancelled) as own:
        assert own is not None
        assert own is not cancelled
        assert not own.wait(0.05)
        cancelled.set()
        assert own.wait(5)
    assert gone_within(RELAY_SLICE * 20)


def test_an_event_set_before_the_run_stops_it_from_the_start() -> None:
    cancelled = threading.Event()
    cancelled.set()
    with relayed(cancelled) as own:
        assert own is not None
        assert own.wait(5)


def test_the_relay_ends_with_the_run_when_nothing_cancelled_it() -> None:
    cancelled = threading.Event()
    with relayed(cancelled) as own:
        assert own is not None
        assert relays_alive() == 1
    assert gone_within(RELAY_SLICE * 20)
    cancelled.set()  # after the run: nobody relays it any more
    assert not own.is_set()
