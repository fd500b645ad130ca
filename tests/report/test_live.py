"""The live table: folding events into rows, and drawing them with rich."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from runner.engine.events import RunEvent
from runner.report.live import Board, render_board
from testing.reports import MIXED_OUTCOMES, MixedRun

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def event(second: float, kind: str, job: str = "", attempt: int = 0, **data: Any) -> RunEvent:
    return RunEvent(
        T0 + timedelta(seconds=second), kind, job, attempt, data.pop("message", ""), data
    )


def draw(board: Board, now_second: float, **console: Any) -> str:
    out = io.StringIO()
    target = Console(file=out, force_terminal=True, width=120, **console)
    target.print(render_board(board.snapshot(), T0 + timedelta(seconds=now_second)))
    return out.getvalue()


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def running_board() -> Board:
    board = Board()
    for item in (
        event(0, "run_started", message="run of nightly (client mode)", jobs=["load", "report"]),
        event(1, "triggered", "load", 1, execution_id=41),
        event(2, "status", "load", 1, status="RUNNING", progress=52, estimate_seconds=65),
    ):
        board.apply(item)
    return board


def test_rows_show_state_attempt_elapsed_progress_and_estimate() -> None:
    text = plain(draw(running_board(), now_second=13))
    load = next(line for line in text.splitlines() if "load" in line)
    assert "running" in load
    assert "41" in load
    assert "12.0s" in load  # elapsed since its trigger, up to now
    assert "RUNNING" in load
    assert "█████░░░░░  52%" in load
    assert "1m 05s" in load
    assert "run of nightly (client mode)" in text
    assert "2 jobs: 1 pending, 1 running · 13.0s" in text


def test_jobs_listed_up_front_are_pending_until_they_start() -> None:
    report_row = next(
        line for line in plain(draw(running_board(), 5)).splitlines() if "report" in line
    )
    assert "pending" in report_row


def test_a_retry_resets_progress_and_counts_the_attempt() -> None:
    board = running_board()
    board.apply(event(20, "retry_scheduled", "load", 1, message="FAILED; retrying in 2.0s"))
    board.apply(event(22, "triggered", "load", 2, execution_id=42))
    (row,) = [r for r in board.snapshot().rows if r.job == "load"]
    assert (row.state, row.attempt, row.execution_id, row.progress) == ("running", 2, 42, None)
    assert row.started == T0 + timedelta(seconds=22)


def test_a_finished_job_stops_its_clock() -> None:
    board = running_board()
    board.apply(event(31, "finished", "load", 1, outcome="SUCCEEDED", message="succeeded"))
    load = next(line for line in plain(draw(board, 100)).splitlines() if "load" in line)
    assert "succeeded" in load
    assert "30.0s" in load


def test_colour_by_state_and_no_colour_when_asked() -> None:
    board = running_board()
    board.apply(event(5, "finished", "report", 1, outcome="FAILED", message="Datameer said ERROR"))
    coloured = draw(board, 6)
    assert "\x1b[1;31m" in coloured  # failed rows in bold red
    uncoloured = draw(board, 6, no_color=True)
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", uncoloured)
    assert "Datameer said ERROR" in plain(uncoloured)


def test_markup_in_names_and_messages_prints_as_text() -> None:
    board = Board()
    board.apply(event(0, "skipped", "[bold]job[/]", 0, message="skipped: [red]x[/red] [/oops]"))
    text = plain(draw(board, 1))
    assert "[bold]job[/]" in text
    assert "skipped: [red]x[/red]" in text
    assert "[/oops]" in text


def test_a_real_runs_events_end_in_its_outcomes(mixed_run: MixedRun) -> None:
    board = Board()
    for item in mixed_run.events:
        board.apply(item)
    states = {row.job: row.state for row in board.snapshot().rows}
    expected = {
        name: outcome.lower().replace("_", " ") for name, (outcome, _) in MIXED_OUTCOMES.items()
    }
    assert states == expected
    text = plain(draw(board, 0))
    assert all(name in text for name in MIXED_OUTCOMES)


def test_progress_columns_appear_only_with_figures() -> None:
    board = Board()
    board.apply(event(0, "triggered", "load", 1, execution_id=41))
    assert "progress" not in plain(draw(board, 1))
    board.apply(event(1, "progress", "load", 1, progress=10))
    assert "progress" in plain(draw(board, 2))
    assert "█░░░░░░░░░  10%" in plain(draw(board, 2))


def headers(text: str) -> list[str]:
    line = next(line for line in plain(text).splitlines() if "job" in line and "state" in line)
    return [cell.strip() for cell in line.strip("┃│ ").split("┃" if "┃" in line else "│")]


def draw_at(board: Board, width: int) -> str:
    out = io.StringIO()
    target = Console(file=out, force_terminal=True, width=width)
    target.print(render_board(board.snapshot(), T0 + timedelta(seconds=13), width))
    return out.getvalue()


def test_a_narrow_terminal_drops_columns_instead_of_cutting_every_one() -> None:
    board = running_board()
    board.apply(event(3, "triggered", "report", 1, execution_id=1234567))
    board.apply(event(4, "finished", "report", 1, outcome="FAILED", message="x " * 40))

    wide = draw_at(board, 160)
    narrow = draw_at(board, 80)

    assert headers(wide) == [
        "job", "state", "try", "execution", "elapsed", "Datameer", "progress", "left (est.)",
        "note",
    ]  # fmt: skip
    kept = headers(narrow)
    assert kept[:2] == ["job", "state"]
    assert {"elapsed", "note"} <= set(kept)
    assert not {"try", "execution"} & set(kept)  # the least useful go first
    for text in (wide, narrow):
        assert "…" not in plain(text)  # nothing cut: dropped, or wrapped (the note)
        assert all(len(line) <= 160 for line in plain(text).splitlines())
    assert all(len(line) <= 80 for line in plain(narrow).splitlines())
    assert "running" in plain(narrow)
    assert "failed" in plain(narrow)


def test_a_finished_job_shows_no_stale_progress() -> None:
    board = running_board()  # load at 52 %, 1m 05s left
    board.apply(event(20, "finished", "load", 1, outcome="SUCCEEDED"))
    load = next(line for line in plain(draw(board, 21)).splitlines() if "load" in line)
    assert "100%" in load
    assert "52%" not in load
    assert "1m 05s" not in load

    failed = running_board()
    failed.apply(event(20, "finished", "load", 1, outcome="FAILED"))
    load = next(line for line in plain(draw(failed, 21)).splitlines() if "load" in line)
    assert "%" not in load


def test_without_datameer_estimate_the_usual_duration_counts_down() -> None:
    board = Board()
    started = event(0, "run_started", jobs=["load", "ship"], estimates={"load": 100, "ship": 10})
    for item in (started, event(0, "triggered", "load", 1), event(0, "triggered", "ship", 1)):
        board.apply(item)
    lines = plain(draw(board, 30)).splitlines()
    rows = {job: next(line for line in lines if f" {job} " in line) for job in ("load", "ship")}
    assert "~1m 10s" in rows["load"]  # 100 s usual, 30 s gone
    assert "slow" in rows["ship"]  # 30 s against a usual 10 s: over twice
