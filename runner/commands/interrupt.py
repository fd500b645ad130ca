"""Ctrl-C, SIGTERM and SIGHUP (the terminal or SSH session closed): the first asks the run
to stop its jobs and write its report; the second exits at once."""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from runner.errors import EXIT_INTERRUPTED

# SIGHUP does not exist on Windows.
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _say(text: str) -> None:
    """Tell the user on stderr, if anybody still reads it (after SIGHUP nobody may)."""
    # RuntimeError: the signal came while the main thread was writing to stderr itself.
    with suppress(OSError, ValueError, RuntimeError):
        print(text, file=sys.stderr, flush=True)


def interrupts_from_the_start() -> None:
    """From dmpipe's first moment until a run takes them over, SIGTERM and SIGHUP end it
    as Ctrl-C does: exit 130 with one line, never the bare death of a signal."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    for sig in _SIGNALS[1:]:
        signal.signal(sig, handle)


@contextmanager
def graceful_interrupts(
    doing: str = "stopping the jobs this run started",
) -> Iterator[threading.Event]:
    """Within the block, SIGINT/SIGTERM/SIGHUP set the yielded event instead of raising.

    The first signal prints ``doing`` on stderr; a second one exits at once.

    The handler itself only notes the signal in a ``queue.SimpleQueue`` (reentrant, made for
    this); a thread of its own sets the event.  A handler that set the event itself could
    deadlock: Python runs it in the main thread between two bytecodes, possibly inside that
    event's own ``wait``, which holds the lock ``set`` takes.
    """
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach only the main thread; embedders set the event themselves
        return
    heard: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def handle(signum: int, frame: FrameType | None) -> None:
        del frame
        heard.put(signum)

    def watch() -> None:
        while (signum := heard.get()) is not None:
            name = signal.Signals(signum).name
            if stop.is_set():
                _say("dmpipe: interrupted again, exiting now")
                os._exit(EXIT_INTERRUPTED)
            _say(f"dmpipe: {name}: {doing} (again to exit at once)")  # before what it causes
            stop.set()

    watcher = threading.Thread(target=watch, name="dmpipe-signals", daemon=True)
    watcher.start()
    previous = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        heard.put(None)
        watcher.join(timeout=1.0)
