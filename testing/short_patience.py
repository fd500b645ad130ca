"""``dmpipe`` with a test-sized patience for triggers whose answer never came.

A run resumed after a SIGKILL looks for the execution of every trigger the dead
process sent without hearing back, for ``EngineOptions.trigger_resolve_timeout``
(30 s) before sending it again.  Against a loopback emulator without status lag a
trigger that has not shown up within a second never will, so crash tests shorten
that wait, and nothing else: ``python -m testing.short_patience SECONDS ARGS...``
runs ``runner.main.main(ARGS)`` exactly as ``dmpipe ARGS`` would.
"""

from __future__ import annotations

import dataclasses
import sys

import runner.engine.api
from runner.main import main


def short_patience_options(seconds: float) -> type[runner.engine.api.EngineOptions]:
    """``EngineOptions`` whose default patience for a lost trigger is ``seconds``."""

    @dataclasses.dataclass(frozen=True)
    class ShortPatience(runner.engine.api.EngineOptions):
        trigger_resolve_timeout: float = seconds

    return ShortPatience


if __name__ == "__main__":
    runner.engine.api.EngineOptions = short_patience_options(float(sys.argv[1]))  # type: ignore[misc]
    sys.exit(main(sys.argv[2:]))
