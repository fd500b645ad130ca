"""--log-format json: one object per line, levels by meaning, no secrets."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from runner.engine.events import RunEvent
from runner.report.logs import JsonEventLines, JsonLogFormatter, event_record, scrub
from runner.report.severity import severity, shown_when_quiet

AT = datetime(2026, 11, 28, 10, 0, 5, tzinfo=UTC)


def test_an_event_line_has_the_fields_log_shippers_index() -> None:
    stream = io.StringIO()
    sink = JsonEventLines(stream)
    sink(RunEvent(AT, "triggered", "load", 2, "triggered execution 7", {"execution_id": 7}))
    (line,) = stream.getvalue().splitlines()
    assert json.loads(line) == {
        "time": "2026-11-28T10:00:05+00:00",
        "level": "info",
        "logger": "dmpipe.run",
        "event": "triggered",
        "job": "load",
        "attempt": 2,
        "message": "triggered execution 7",
        "data": {"execution_id": 7},
    }


def test_run_wide_events_have_no_job() -> None:
    record = event_record(RunEvent(AT, "run_started", message="run of x"))
    assert (record["job"], record["attempt"]) == (None, None)


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        pytest.param("finished", {"outcome": "FAILED"}, "error", id="failed"),
        pytest.param("finished", {"outcome": "TIMED_OUT"}, "error", id="timed-out"),
        pytest.param("finished", {"outcome": "SUCCEEDED"}, "info", id="succeeded"),
        pytest.param("stop_unconfirmed", {}, "error", id="stop-unconfirmed"),
        pytest.param("server_lost", {}, "error", id="server-lost"),
        pytest.param("retry_scheduled", {"outcome": "FAILED"}, "warning", id="retry"),
        pytest.param("server_unreachable", {}, "warning", id="unreachable"),
        pytest.param("run_finished", {"exit_code": 0}, "info", id="run-ok"),
        pytest.param("run_finished", {"exit_code": 1}, "error", id="run-failed"),
        pytest.param("status", {"status": "RUNNING"}, "info", id="status"),
        pytest.param("credentials_refused", {}, "error", id="credentials-refused"),
        pytest.param("sequence_unknown", {}, "warning", id="sequence-unknown"),
        pytest.param("wrong_execution", {}, "warning", id="wrong-execution"),
        pytest.param("progress", {"progress": 50.0}, "info", id="progress"),
    ],
)
def test_severity(kind: str, data: dict[str, Any], expected: str) -> None:
    assert severity(RunEvent(AT, kind, data=data)) == expected


def test_quiet_keeps_the_end_even_when_it_went_well() -> None:
    assert shown_when_quiet(RunEvent(AT, "run_finished", data={"exit_code": 0}))
    assert not shown_when_quiet(RunEvent(AT, "retry_scheduled"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "GET https://etl:s3cret@dm.example.com/api failed",
            "GET https://dm.example.com/api failed",
            id="url-user-info",
        ),
        pytest.param(
            "GET http://etl:p@ss:w@[::1]:99999/api failed, ask ops@example.com",
            "GET http://[::1]:99999/api failed, ask ops@example.com",
            id="url-password-with-@",
        ),
        pytest.param(
            "Authorization: Basic ZXRsOnMzY3JldA==", "Authorization: Basic [redacted]", id="basic"
        ),
        pytest.param("password=s3cret rest", "password=[redacted] rest", id="password-pair"),
        pytest.param("token: abc123", "token: [redacted]", id="token"),
        pytest.param("execution 7 is RUNNING", "execution 7 is RUNNING", id="harmless"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_secrets_never_reach_the_line() -> None:
    stream = io.StringIO()
    JsonEventLines(stream)(
        RunEvent(
            AT,
            "server_unreachable",
            message="cannot reach http://etl:s3cret@dm:8080/",
            data={
                "password": "s3cret",
                "nested": {"url": "http://u:s3cret@h/"},
                "list": ["pwd=s3cret"],
            },
        )
    )
    assert "s3cret" not in stream.getvalue()
    assert json.loads(stream.getvalue())["data"]["password"] == "[redacted]"


def test_log_records_become_json_lines_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("tests.report.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("TLS off for https://%s@host", "etl:s3cret")
        try:
            raise ValueError("password=s3cret")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "warning"
    assert first["logger"] == "tests.report.json"
    assert first["message"] == "TLS off for https://host"
    assert second["level"] == "error"
    assert "ValueError" in second["exception"]
    assert "s3cret" not in stream.getvalue()
