"""The run's first call (``list-running``), which may be sent before the engine is loaded.

Light on purpose: ``runner.launch`` starts the call as soon as the client is made, and
the engine (a few tens of milliseconds to import) loads while the server answers;
``run_pipeline`` then waits for that answer instead of sending the call itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.clock import Clock

log = logging.getLogger("runner.engine")


class Call:
    """One call run in a daemon thread of its own (``start``, or ``wait`` when not started):
    a server that never answers must not hold the process at exit, and a waiting caller
    can give up on it."""

    def __init__(
        self,
        call: Callable[[], object],
        name: str = "dmpipe-preflight",
        then: Callable[[], object] | None = None,
    ) -> None:
        self._call = call
        self._then = then
        self._answer: list[BaseException | None] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Call:
        """Send the call now; ``wait`` then waits for its answer."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._call()
        except BaseException as error:  # handed to the waiting thread by wait()
            self._answer.append(error)
            return
        self._answer.append(None)
        if self._then is not None:
            try:
                self._then()
            except Exception as error:  # only a head start: what needs it does it again
                log.debug("after the preflight: %s", error)

    def wait(self, cancelled: threading.Event, clock: Clock) -> None:
        """Until the call ends, raising what it raised; returns early (the call abandoned)
        when ``cancelled`` is set."""
        with clock.work():  # virtual time stands still while the call is in flight
            self.start()
            while self._thread.is_alive() and not cancelled.is_set():
                self._thread.join(0.1)
        if self._answer and self._answer[0] is not None:
            raise self._answer[0]


def start_preflight(
    list_running: Callable[[], object], then: Callable[[], object] | None = None
) -> Call:
    """Send the run's first ``list-running`` now, for ``run_pipeline(preflight=...)``;
    once it is answered, ``then()`` in the same thread (quick: it may only start
    another call, such as ``DatameerClient.look_up_version_ahead``).  Nothing follows
    a failed call: a refused login stays one request."""
    return Call(list_running, then=then).start()
