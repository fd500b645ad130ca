"""What a run prints while it goes: choosing the display, and building its event sink.

``choose_display`` is the whole policy, a pure function: JSON lines when asked
for, nothing with ``--progress none``, the closing line and errors with
``--quiet``, otherwise the live table on a terminal (``--progress auto``) or
when forced (``live``), and plain timestamped lines everywhere else (CI logs).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from runner.engine.events import EventKind, EventSink, RunEvent

# Seconds of silence after which plain output says which jobs still run (CI kills silent steps).
DEFAULT_EVERY = 60.0

PROGRESS_CHOICES = ("auto", "live", "plain", "none")
LOG_FORMATS = ("text", "json")


class Display(enum.Enum):
    """How run events reach the user."""

    LIVE = "live"  # a rich table redrawn in place
    PLAIN = "plain"  # one timestamped line per event
    QUIET = "quiet"  # the closing line and errors only
    JSON = "json"  # one JSON object per event, for log shippers
    NONE = "none"  # nothing


def choose_display(
    progress: str,
    *,
    quiet: bool,
    log_format: str,
    is_terminal: bool,
    environ: Mapping[str, str],
) -> Display:
    """The display for these options, given whether stderr is a terminal."""
    if log_format == "json":
        return Display.JSON
    if progress == "none":
        return Display.NONE
    if quiet:
        return Display.QUIET
    if progress == "live":
        return Display.LIVE
    if progress == "plain":
        return Display.PLAIN
    dumb = environ.get("TERM", "") == "dumb"
    return Display.LIVE if is_terminal and not dumb else Display.PLAIN


def no_color(environ: Mapping[str, str]) -> bool:
    """True when the user asked for no colour (https://no-color.org: set and not empty)."""
    return bool(environ.get("NO_COLOR"))


@contextmanager
def event_display(
    display: Display,
    stream: TextIO,
    environ: Mapping[str, str],
    *,
    quiet: bool = False,
    heartbeat: float = DEFAULT_EVERY,
    colors: bool | None = None,
) -> Iterator[EventSink]:
    """The event sink for ``display``, writing to ``stream``; a live table is closed at exit.

    Plain and quiet output get a heartbeat line when nothing was printed for ``heartbeat``
    seconds while jobs run (0: never).  ``colors`` False takes the colours out (None: as
    ``NO_COLOR`` in ``environ`` says).
    """
    from runner.engine.events import ProgressLines
    from runner.report.severity import shown_when_quiet

    if display is Display.LIVE:
        from rich.console import Console

        from runner.report.live import live_view

        colourless = no_color(environ) if colors is None else not colors
        console = Console(file=stream, no_color=colourless, highlight=False)
        with live_view(console) as view:
            yield view
        return
    if display is Display.JSON:
        from runner.report.logs import JsonEventLines

        yield JsonEventLines(stream, keep=shown_when_quiet if quiet else None)
        return
    if display is Display.NONE:
        yield _only(lambda _: False, ProgressLines(stream))
        return
    from runner.report.heartbeat import Heartbeat, WatchedStream

    watched = WatchedStream(stream)
    lines = ProgressLines(watched)  # type: ignore[arg-type]  # a TextIO for what it uses
    sink = lines if display is Display.PLAIN else _only(shown_when_quiet, lines)
    if heartbeat <= 0:
        yield sink
        return
    with Heartbeat(sink, watched, heartbeat) as beating:
        yield beating


def _only(keep: Callable[[RunEvent], bool], sink: EventSink) -> EventSink:
    def filtered(event: RunEvent) -> None:
        if keep(event):
            sink(event)

    return filtered


class ClosingLineLast:
    """Holds back the closing line of a run that an error ended, so that the command line
    prints it under that error (the error first, the closing line last).

    ``keep_order``: pass it through anyway (JSON log lines carry the error themselves).
    """

    def __init__(self, *, keep_order: bool = False) -> None:
        self.keep_order = keep_order
        self.line = ""

    def around(self, sink: EventSink) -> EventSink:
        """``sink`` without the closing line of a run ended by an error (kept in ``line``)."""

        def held(event: RunEvent) -> None:
            ended_by_error = event.kind is EventKind.RUN_FINISHED and event.data.get("error")
            if ended_by_error and not self.keep_order:
                self.line = event.message
                return
            sink(event)

        return held
