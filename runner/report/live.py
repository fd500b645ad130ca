"""The live terminal view of a run: a rich table of jobs, redrawn as events arrive.

``Board`` folds run events into rows (thread-safe: trigger workers report from
pool threads, rich redraws from its own); ``render_board`` draws a snapshot;
``LiveView`` is the event sink that keeps a ``rich.live.Live`` on screen.
Datameer's progress and estimate are shown when the events carry them
(``data["progress"]``, ``data["estimate_seconds"]``).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.engine.events import EventKind, RunEvent
from runner.engine.outcome import JobOutcome
from runner.report.palette import TERMINAL_STYLE
from runner.report.wording import outcome_word
from runner.spec.durations import format_elapsed, slower_than_usual

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

# Events after which a job's elapsed clock stops.
_ENDING = frozenset({EventKind.FINISHED, EventKind.RETRY_SCHEDULED, EventKind.SKIPPED})


@dataclass(frozen=True)
class Row:
    """One job as the live table shows it."""

    job: str
    state: str = "pending"
    attempt: int = 0
    execution_id: int | None = None
    started: datetime | None = None  # this attempt's trigger, dmpipe's clock
    ended: datetime | None = None
    status: str = ""  # Datameer's last status
    progress: float | None = None
    estimate_seconds: float | None = None  # Datameer's: what is left
    usual_seconds: float | None = None  # the job's estimate (its file, or its history)
    note: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The whole board at one moment."""

    title: str
    rows: tuple[Row, ...]
    started: datetime | None
    finished: datetime | None
    notice: str


class Board:
    """The live table's state, updated event by event."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}
        self._lock = threading.Lock()
        self._title = "dmpipe"
        self._started: datetime | None = None
        self._finished: datetime | None = None
        self._notice = ""

    def apply(self, event: RunEvent) -> None:
        """Fold one event into the board."""
        with self._lock:
            if event.job:
                self._rows[event.job] = _next_row(self._rows.get(event.job), event)
            else:
                self._run_event(event)

    def snapshot(self) -> Snapshot:
        """A consistent copy to draw."""
        with self._lock:
            rows = tuple(self._rows.values())
            return Snapshot(self._title, rows, self._started, self._finished, self._notice)

    def _run_event(self, event: RunEvent) -> None:
        if event.kind is EventKind.RUN_STARTED:
            self._title = event.message or self._title
            self._started = event.at
            usual = event.data.get("estimates") or {}
            for name in event.data.get("jobs") or ():
                row = self._rows.setdefault(str(name), Row(str(name)))
                if name in usual:
                    self._rows[str(name)] = replace(row, usual_seconds=float(usual[name]))
        elif event.kind is EventKind.RUN_FINISHED:
            self._finished = event.at  # its line is printed under the final table
        elif event.message:
            self._notice = event.message


def _next_row(row: Row | None, event: RunEvent) -> Row:
    row = row or Row(event.job)
    if event.attempt and event.attempt != row.attempt:
        row = replace(row, attempt=event.attempt, progress=None, estimate_seconds=None, status="")
    row = _with_figures(row, event.data)
    kind, data = event.kind, event.data
    if kind in (EventKind.TRIGGERED, EventKind.ATTACHED):
        return replace(
            row,
            state="running",
            execution_id=data.get("execution_id"),
            started=event.at,
            ended=None,
            note="",
        )
    if kind in (EventKind.TRIGGERING, EventKind.TRIGGER_SENT):
        return replace(row, state="triggering", started=event.at, ended=None)
    if kind is EventKind.STATUS:
        return replace(row, status=str(data.get("status", row.status)))
    if kind in _ENDING:
        state = _ending_state(kind, data)
        note = "" if state == "succeeded" else event.message
        # The last figures the server gave are stale now: a finished job is 100 % or none.
        progress = 100.0 if state == "succeeded" and row.progress is not None else None
        return replace(
            row, state=state, ended=event.at, note=note, progress=progress, estimate_seconds=None
        )
    if kind in (EventKind.WAITING, EventKind.CHAIN_WAIT):
        return replace(row, state="waiting", note=event.message)
    if kind is EventKind.STOP_REQUESTED:
        return replace(row, state="stopping", note=event.message)
    noted = (EventKind.STOP_UNCONFIRMED, EventKind.TRIGGER_UNKNOWN)
    return replace(row, note=event.message) if kind in noted else row


def _ending_state(kind: EventKind, data: dict[str, Any]) -> str:
    if kind is EventKind.RETRY_SCHEDULED:
        return "retrying"
    if kind is EventKind.SKIPPED:
        return "skipped"
    try:
        return outcome_word(JobOutcome(data.get("outcome")))
    except ValueError:
        return "finished"


def _with_figures(row: Row, data: dict[str, Any]) -> Row:
    progress, estimate = data.get("progress"), data.get("estimate_seconds")
    if progress is None and estimate is None:
        return row
    return replace(
        row,
        progress=float(progress) if progress is not None else row.progress,
        estimate_seconds=float(estimate) if estimate is not None else row.estimate_seconds,
    )


def render_board(snapshot: Snapshot, now: datetime, width: int | None = None) -> RenderableType:
    """The table for ``snapshot``, elapsed times measured up to ``now``; on a terminal
    ``width`` columns wide the least useful columns are left out rather than every one cut."""
    from rich.table import Table
    from rich.text import Text

    end = snapshot.finished or now
    run_elapsed = (end - snapshot.started).total_seconds() if snapshot.started else None
    caption = f"{_counts(snapshot.rows)} · {format_elapsed(run_elapsed)}"
    # Text, never markup: job names and server messages may contain "[...]".
    table = Table(
        title=Text(snapshot.title),
        title_justify="left",
        caption=Text(caption + (f"\n{snapshot.notice}" if snapshot.notice else "")),
        caption_justify="left",
    )
    # Datameer's progress and estimate get columns once some event has carried them.
    figures = any(
        r.progress is not None or r.estimate_seconds is not None or r.usual_seconds is not None
        for r in snapshot.rows
    )
    shown = [(h, j) for h, j in _COLUMNS if figures or h not in _FIGURE_COLUMNS]
    cells = [_cells(row, end) for row in snapshot.rows]
    if width is not None:
        shown = _fitting(shown, cells, width)
    for header, justify in shown:
        table.add_column(header, justify=justify, no_wrap=header != "note")
    for row, row_cells in zip(snapshot.rows, cells, strict=True):
        texts = (Text(row_cells[h]) for h, _ in shown)
        table.add_row(*texts, style=TERMINAL_STYLE.get(row.state))
    return table


# Left out first when the terminal is narrow; job, state and elapsed always stay, and the
# note wraps instead (it says why a job failed).
_DROPPED_FIRST = ("try", "execution", "left (est.)", "Datameer", "progress")
_NOTE_MIN = 16


def _fitting(
    shown: list[tuple[str, Any]], cells: list[dict[str, str]], width: int
) -> list[tuple[str, Any]]:
    """``shown`` less the fewest columns that make the table fit ``width``."""

    def needed(columns: list[tuple[str, Any]]) -> int:
        widths = [
            min(_NOTE_MIN, _widest(h, cells)) if h == "note" else _widest(h, cells)
            for h, _ in columns
        ]
        return sum(widths) + 3 * len(columns) + 1  # padding and rules of rich's box

    columns = list(shown)
    for header in _DROPPED_FIRST:
        if needed(columns) <= width:
            break
        columns = [(h, j) for h, j in columns if h != header]
    return columns


def _widest(header: str, cells: list[dict[str, str]]) -> int:
    return max([len(header), *(len(row[header]) for row in cells)])


_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("job", "left"),
    ("state", "left"),
    ("try", "right"),
    ("execution", "right"),
    ("elapsed", "right"),
    ("Datameer", "left"),
    ("progress", "left"),
    ("left (est.)", "right"),
    ("note", "left"),
)
_FIGURE_COLUMNS = frozenset({"progress", "left (est.)"})


def _cells(row: Row, now: datetime) -> dict[str, str]:
    elapsed = None
    if row.started is not None:
        elapsed = ((row.ended or now) - row.started).total_seconds()
    return {
        "job": row.job,
        "state": row.state,
        "try": str(row.attempt or ""),
        "execution": str(row.execution_id or ""),
        "elapsed": format_elapsed(elapsed) if elapsed is not None else "",
        "Datameer": row.status,
        "progress": _progress_bar(row.progress),
        "left (est.)": _left(row, elapsed),
        "note": row.note if row.state not in ("running", "triggering") else "",
    }


def _left(row: Row, elapsed: float | None) -> str:
    """What is left: Datameer's estimate; else the job's usual duration less what it ran
    (``~``), or ``slow`` once it took more than twice its usual duration."""
    if row.state != "running":
        return ""
    if row.estimate_seconds is not None:
        return format_elapsed(row.estimate_seconds)
    if row.usual_seconds is None or elapsed is None:
        return ""
    if slower_than_usual(elapsed, row.usual_seconds):
        return "slow"
    return "~" + format_elapsed(max(0.0, row.usual_seconds - elapsed))


def _progress_bar(progress: float | None, width: int = 10) -> str:
    if progress is None:
        return ""
    share = min(max(progress, 0.0), 100.0) / 100
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {progress:3.0f}%"


def _counts(rows: tuple[Row, ...]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    listed = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    noun = "job" if len(rows) == 1 else "jobs"
    return f"{len(rows)} {noun}" + (f": {listed}" if listed else "")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LiveView:
    """An event sink keeping the live table on ``console`` until ``close``."""

    def __init__(self, console: Console, now: Callable[[], datetime] = _utc_now) -> None:
        from rich.live import Live

        self.board = Board()
        self._console = console
        self._now = now
        self._closing_line = ""
        self._live: Live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=False,
        )

    def __call__(self, event: RunEvent) -> None:
        self.board.apply(event)
        if event.kind is EventKind.RUN_FINISHED:
            self._closing_line = event.message

    def start(self) -> None:
        """Put the table on screen (redrawn four times a second)."""
        self._live.start()

    def close(self) -> None:
        """Draw the final table, leave it on screen, then print the closing line."""
        self._live.stop()
        if not self._console.is_terminal:
            self._console.line()  # off a terminal rich leaves the cursor after the table
        if self._closing_line:
            self._console.print(self._closing_line, markup=False, highlight=False, soft_wrap=True)

    def _render(self) -> RenderableType:
        return render_board(self.board.snapshot(), self._now(), self._console.width)


@contextmanager
def live_view(console: Console) -> Iterator[LiveView]:
    """A started ``LiveView``; log records go above the table meanwhile."""
    view = LiveView(console)
    before = sys.stderr
    view.start()
    # On a terminal rich swaps sys.stderr for a proxy that prints above the table;
    # logging's handler still holds the old stream, so point it at the proxy too.
    moved = _move_log_handlers(before, sys.stderr)
    try:
        yield view
    finally:
        _move_log_handlers(sys.stderr, before, only=moved)
        view.close()


def _move_log_handlers(
    old: Any, new: Any, only: list[logging.Handler] | None = None
) -> list[logging.Handler]:
    if old is new:
        return []
    moved: list[logging.Handler] = []
    for handler in only if only is not None else logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is old:
            handler.setStream(new)
            moved.append(handler)
    return moved
