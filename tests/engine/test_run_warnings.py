"""The run's warnings, derived from its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.engine.events import EventKind, RunEvent
from runner.engine.run_warnings import WarningLog

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def heard(*events: tuple[int, EventKind, dict[str, object]]) -> list[tuple[str, str]]:
    log = WarningLog()
    for seconds, kind, data in events:
        log(RunEvent(AT + timedelta(seconds=seconds), kind, "load", 1, f"{kind}", data))
    return [(warning.kind, warning.message) for warning in log.warnings]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        pytest.param(
            (EventKind.TRIGGER_SENT, {}),
            (
                "trigger_resent",
                "no execution of the lost trigger found after 30.0s: trigger sent again",
            ),
            id="sent-again",
        ),
        pytest.param(
            (EventKind.TRIGGERED, {"execution_id": 7}),
            ("trigger_found", "execution 7 of the lost trigger found after 30.0s: not sent again"),
            id="found",
        ),
    ],
)
def test_a_lost_trigger_says_how_long_it_was_looked_for(
    second: tuple[EventKind, dict[str, object]], expected: tuple[str, str]
) -> None:
    kind, data = second
    warnings = heard(
        (0, EventKind.TRIGGER_UNKNOWN, {}),
        (10, EventKind.STATUS, {"status": "RUNNING"}),
        (30, kind, data),
    )
    assert warnings == [("trigger_unknown", "trigger_unknown"), expected]


def test_a_finished_job_forgets_its_lost_trigger() -> None:
    warnings = heard(
        (0, EventKind.TRIGGER_UNKNOWN, {}),
        (5, EventKind.FINISHED, {"outcome": "FAILED"}),
        (9, EventKind.TRIGGER_SENT, {}),
    )
    assert [kind for kind, _ in warnings] == ["trigger_unknown"]


def test_the_events_of_a_run_as_planned_are_no_warnings() -> None:
    warnings = heard(
        *[(0, kind, {}) for kind in (EventKind.TRIGGERING, EventKind.TRIGGER_SENT)],
        (1, EventKind.TRIGGERED, {"execution_id": 7}),
        (2, EventKind.STATUS, {"status": "RUNNING"}),
        (3, EventKind.PROGRESS, {"progress": 40.0}),
        (4, EventKind.FINISHED, {"outcome": "SUCCEEDED"}),
    )
    assert warnings == []
