"""Ctrl-C and SIGTERM: the first asks the run to stop its jobs and write its report; the
second exits at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from runner.errors import EXIT_INTERRUPTED


@contextmanager
def graceful_interrupts(
    doing: str = "stopping the jobs this run started",
) -> Iterator[threading.Event]:
    """Within the block, SIGINT/SIGTERM set the yielded event instead of raising.

    The first signal prints ``doing`` on stderr; a second one exits at once.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach only the main thread; embedders set the event themselves
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        del frame
        if stop.is_set():
            print("dmpipe: interrupted again, exiting now", file=sys.stderr, flush=True)
            os._exit(EXIT_INTERRUPTED)
        name = signal.Signals(signum).name
        print(
            f"dmpipe: {name}: {doing} (again to exit at once)",
            file=sys.stderr,
            flush=True,
        )
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
