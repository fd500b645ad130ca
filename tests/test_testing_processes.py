"""The test helper that waits for a dmpipe child: a hung child fails the test with its
threads' stacks, so that a hang CI meets once can be read afterwards."""

from __future__ import annotations

import subprocess
import sys

import pytest

from testing.environment import subprocess_env
from testing.processes import exit_within

HANGS = """
import threading
def stuck_in_a_worker():
    threading.Event().wait()
worker = threading.Thread(target=stuck_in_a_worker, name="worker")
worker.start()
print("started", flush=True)
worker.join()
"""


def start(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=subprocess_env("http://127.0.0.1:9"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_child_that_exits_gives_its_output() -> None:
    process = start("import sys; print('out'); print('err', file=sys.stderr)")
    assert exit_within(process, 30) == ("out\n", "err\n")


def test_a_hung_child_fails_with_every_threads_stack() -> None:
    process = start(HANGS)
    assert process.stdout is not None
    assert process.stdout.readline() == "started\n"
    with pytest.raises(AssertionError) as failed:
        exit_within(process, 0.5)
    message = str(failed.value)
    assert "still running 0.5s later" in message
    assert "stuck_in_a_worker" in message  # the worker thread's stack
    assert "in join" in message  # the main thread's, waiting for it
    assert process.returncode is not None  # and it is gone
