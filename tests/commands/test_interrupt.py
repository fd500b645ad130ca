"""Ctrl-C, SIGTERM and SIGHUP during a run: the first sets the run's stop event, at any
moment of the main thread; a second exits at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from testing.environment import subprocess_env
from testing.processes import exit_within

# The main thread spends its time inside the stop event's own wait, the moment at which a
# handler that set the event itself deadlocked (about one signal in two, here).
WAITS_ON_THE_EVENT = """
from runner.commands.interrupt import graceful_interrupts

with graceful_interrupts("stopping for the test") as stop:
    print("ready", flush=True)
    while not stop.is_set():
        stop.wait(0)
print("stopped", flush=True)
"""

# A main thread that never looks at the event: only a second signal ends it.
IGNORES_THE_EVENT = """
import time
from runner.commands.interrupt import graceful_interrupts

with graceful_interrupts("stopping for the test"):
    print("ready", flush=True)
    while True:
        time.sleep(0.01)
"""


def start(code: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=subprocess_env("http://127.0.0.1:9"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_a_signal_inside_the_events_own_wait_stops_the_run(signum: signal.Signals) -> None:
    processes = [start(WAITS_ON_THE_EVENT) for _ in range(8)]
    for index, process in enumerate(processes):
        time.sleep(0.002 * index)  # each at another moment of its loop
        process.send_signal(signum)
    for process in processes:
        out, err = exit_within(process, 20)
        assert (process.returncode, out) == (0, "stopped\n"), err
        assert err == f"dmpipe: {signum.name}: stopping for the test (again to exit at once)\n"


def test_a_second_signal_exits_at_once() -> None:
    process = start(IGNORES_THE_EVENT)
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    assert "SIGINT: stopping for the test" in process.stderr.readline()
    process.send_signal(signal.SIGTERM)
    _, err = exit_within(process, 20)
    assert process.returncode == 130
    assert err == "dmpipe: interrupted again, exiting now\n"
