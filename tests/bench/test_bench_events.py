"""Smoke test of bench/bench_events.py at a small size: every event reaches every sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.bench_runs import run_bench

pytestmark = pytest.mark.bench


def test_bench_events_small(tmp_path: Path) -> None:
    figures, stdout = run_bench(tmp_path, "bench_events.py", "--jobs", "50", "--repeat", "2")
    assert (figures["benchmark"], figures["jobs"], figures["events"]) == ("events", 50, 350)
    # The journal: its header and every event but progress; the display: triggered, finished.
    assert figures["journal_lines"] == 1 + 50 * 6
    assert figures["display_lines"] == 50 * 2
    assert set(figures["us_per_event"]) == {
        "RunContext.emit + the fan-out of all three",
        "RunContext.emit, no sink",
        "the display (plain lines, heartbeat)",
        "the journal",
        "the warning log",
    }
    assert all(value > 0 for value in figures["us_per_event"].values())
    assert "350 events (50 jobs)" in stdout
