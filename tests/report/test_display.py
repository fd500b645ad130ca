"""Choosing what a run prints, and what each display writes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from runner.engine.events import RunEvent
from runner.report.display import Display, choose_display, event_display, no_color

AT = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
EVENTS = (
    RunEvent(AT, "run_started", message="run of demo (client mode: test)"),
    RunEvent(AT, "triggered", job="a", attempt=1, message="triggered execution 7"),
    RunEvent(AT, "status", job="a", attempt=1, message="execution 7 is RUNNING"),
    RunEvent(AT, "retry_scheduled", job="a", attempt=1, message="FAILED; retrying in 1.0s"),
    RunEvent(AT, "finished", job="a", attempt=2, message="failed", data={"outcome": "FAILED"}),
    RunEvent(AT, "finished", job="b", attempt=1, message="ok", data={"outcome": "SUCCEEDED"}),
    RunEvent(AT, "run_finished", message="run finished in 1.0s: 1 failed", data={"exit_code": 1}),
)


@pytest.mark.parametrize(
    ("progress", "quiet", "log_format", "tty", "environ", "expected"),
    [
        pytest.param("auto", False, "text", True, {}, Display.LIVE, id="auto-on-a-terminal"),
        pytest.param("auto", False, "text", False, {}, Display.PLAIN, id="auto-in-ci"),
        pytest.param(
            "auto", False, "text", True, {"TERM": "dumb"}, Display.PLAIN, id="auto-dumb-terminal"
        ),
        pytest.param("live", False, "text", False, {}, Display.LIVE, id="live-forced"),
        pytest.param("plain", False, "text", True, {}, Display.PLAIN, id="plain-on-a-terminal"),
        pytest.param("none", False, "text", True, {}, Display.NONE, id="none"),
        pytest.param("auto", True, "text", True, {}, Display.QUIET, id="quiet-beats-live"),
        pytest.param("none", True, "text", True, {}, Display.NONE, id="none-beats-quiet"),
        pytest.param("auto", False, "json", True, {}, Display.JSON, id="json-beats-live"),
        pytest.param("none", True, "json", False, {}, Display.JSON, id="json-beats-none"),
    ],
)
def test_choose_display(
    progress: str,
    quiet: bool,
    log_format: str,
    tty: bool,
    environ: dict[str, str],
    expected: Display,
) -> None:
    chosen = choose_display(
        progress, quiet=quiet, log_format=log_format, is_terminal=tty, environ=environ
    )
    assert chosen is expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, False, id="unset"),
        pytest.param({"NO_COLOR": ""}, False, id="empty"),
        pytest.param({"NO_COLOR": "1"}, True, id="set"),
    ],
)
def test_no_color(environ: dict[str, str], expected: bool) -> None:
    assert no_color(environ) is expected


def shown(display: Display, *, quiet: bool = False) -> str:
    stream = io.StringIO()
    with event_display(display, stream, {}, quiet=quiet) as sink:
        for event in EVENTS:
            sink(event)
    return stream.getvalue()


def test_plain_prints_a_timestamped_line_per_event_but_polls() -> None:
    lines = shown(Display.PLAIN).splitlines()
    assert lines[0] == "10:00:00 run of demo (client mode: test)"
    assert "10:00:00 a: triggered execution 7" in lines
    assert not any("RUNNING" in line for line in lines)  # status polls stay quiet
    assert lines[-1] == "10:00:00 run finished in 1.0s: 1 failed"


def test_quiet_prints_errors_and_the_closing_line() -> None:
    assert shown(Display.QUIET).splitlines() == [
        "10:00:00 a #2: failed",
        "10:00:00 run finished in 1.0s: 1 failed",
    ]


def test_none_prints_nothing() -> None:
    assert shown(Display.NONE) == ""


def test_json_prints_every_event_as_an_object() -> None:
    records = [json.loads(line) for line in shown(Display.JSON).splitlines()]
    assert [r["event"] for r in records] == [e.kind for e in EVENTS]
    assert records[4]["level"] == "error"
    assert records[3]["level"] == "warning"


def test_json_quiet_keeps_only_errors_and_the_end() -> None:
    records = [json.loads(line) for line in shown(Display.JSON, quiet=True).splitlines()]
    assert [r["event"] for r in records] == ["finished", "run_finished"]


def test_live_on_a_plain_stream_draws_the_final_table_and_the_closing_line() -> None:
    text = shown(Display.LIVE)
    assert "run of demo" in text
    assert "failed" in text
    assert "succeeded" in text
    assert text.rstrip().endswith("run finished in 1.0s: 1 failed")
    assert "\x1b[" not in text  # not a terminal: no escape codes
