"""The caller's ``cancelled`` event, relayed to an event of the run's own.

A library caller may set ``cancelled`` from a signal handler (``docs/library.md``).  Python
runs a handler in the main thread between two bytecodes, which may be inside that very
event's ``wait``, holding the lock ``Event.set`` takes: the handler would wait for itself
forever.  So the run's threads never wait on the caller's event: a thread of its own does,
and sets the run's event, which the run waits on and the caller never touches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# How often the relay thread looks whether the run is over (it wakes at once for a cancel).
RELAY_SLICE = 0.5


@contextmanager
def relayed(cancelled: threading.Event | None) -> Iterator[threading.Event | None]:
    """Within the block, an event of the run's own that is set once ``cancelled`` is
    (None without one).  The relay thread ends within ``RELAY_SLICE`` of the block."""
    if cancelled is None:
        yield None
        return
    own = threading.Event()
    over = False

    def relay() -> None:
        while not over:
            if cancelled.wait(RELAY_SLICE):
                own.set()
                return

    thread = threading.Thread(target=relay, name="dmpipe-cancel", daemon=True)
    thread.start()
    try:
        yield own
    finally:
        over = True
