"""Endpoint choice by Datameer version: the table, the version asked once, the 404 signal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.datameer.client import DatameerClient
from runner.datameer.protocol import server_facts
from runner.datameer.versions import capabilities, parse_version
from runner.errors import EndpointUnavailableError, NotFoundError
from runner.reference import JobRef
from testing.emulators import MakeEmulator
from testing.hostile_server import Answer, hostile_server, json_answer
from testing.scenarios import artifact, scenario

Connect = Callable[..., DatameerClient]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("7.5.2", (7, 5, 2), id="plain"),
        pytest.param(" 11.1.4-SNAPSHOT ", (11, 1, 4), id="snapshot"),
        pytest.param("v7.4", (7, 4), id="v-prefix"),
        pytest.param("X", None, id="unreadable"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_version(text: str | None, parsed: tuple[int, ...] | None) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize(
    ("version", "api_v2", "details_7_4", "sequential"),
    [
        pytest.param("6.4", False, False, False, id="6.4"),
        pytest.param("7.2", False, False, False, id="7.2"),
        pytest.param("7.2.5", True, False, False, id="7.2.5"),
        pytest.param("7.4", True, True, False, id="7.4"),
        pytest.param("7.5.2", True, True, True, id="7.5.2"),
        pytest.param("11.1", True, True, True, id="X-11"),
        pytest.param(None, True, None, None, id="unknown"),
    ],
)
def test_capabilities_by_version(
    version: str | None, api_v2: bool, details_7_4: bool | None, sequential: bool | None
) -> None:
    found = capabilities(version, "server")
    assert (found.api_v2, found.details_7_4, found.sequential) == (api_v2, details_7_4, sequential)
    assert found.legacy is not api_v2


def test_the_version_is_asked_once_and_cached(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1), version="7.4"))
    api = connect(server.url, detect_version=True)
    for _ in range(3):
        api.execution_status(JobRef.parse(1))
    assert api.server_version() == "7.4"
    assert server.stats()["GET /rest/license-details"] == 1
    facts = server_facts(api)
    assert facts["version"] == "7.4"
    assert facts["version_source"] == "server"


def test_the_sequential_trigger_is_not_sent_to_a_server_too_old_for_it(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1), version="7.4"))
    with pytest.raises(EndpointUnavailableError, match=r"needs Datameer 7\.5\.2\+ \(the server"):
        connect(server.url, detect_version=True).trigger_sequence([1])
    assert server.stats().get("POST /rest/job-execution?sequence=", 0) == 0


def test_an_unknown_version_meets_the_400_of_an_old_server_as_a_missing_endpoint(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1), version="7.4"))
    with pytest.raises(EndpointUnavailableError) as raised:
        connect(server.url).trigger_sequence([1])  # no version asked
    assert raised.value.status_code == 400
    assert server.ledger.entries() == []


def test_legacy_status_trigger_and_stop_by_configuration(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1, configuration_id=77), version="6.4"))
    ref = JobRef.parse(1)
    api = connect(server.url, detect_version=True, configurations={ref: 77})

    started = api.trigger(ref)
    assert api.execution_status(ref).execution_id == started.execution_id
    api.stop(ref)

    assert [e.action for e in server.ledger.entries()] == ["legacy_trigger", "legacy_stop"]
    assert not any(key.startswith(("GET /api", "POST /api")) for key in server.stats())


def test_legacy_without_a_configuration_id_says_what_to_add(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1), version="6.4"))
    with pytest.raises(EndpointUnavailableError, match="add configuration_id: to the job"):
        connect(server.url, detect_version=True).trigger(JobRef.parse(1))
    assert server.ledger.entries() == []


@pytest.mark.parametrize(
    ("configuration", "refused"),
    [
        pytest.param(71, False, id="the-right-one"),
        pytest.param(72, True, id="another-workbook"),
    ],
)
def test_a_configuration_id_naming_another_artifact_is_refused_before_any_trigger(
    make_emulator: MakeEmulator, connect: Connect, configuration: int, refused: bool
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, configuration_id=71, path="/Reports/Daily.wbk"),
            artifact(2, configuration_id=72, path="/Reports/Weekly.wbk"),
            version="6.4",
        )
    )
    ref = JobRef.parse("/Reports/Daily.wbk")
    api = connect(server.url, detect_version=True, configurations={ref: configuration})
    if refused:
        with pytest.raises(NotFoundError, match="configuration 72 is the workbook /Reports/Weekly"):
            api.trigger(ref)
        assert server.ledger.entries() == []
    else:
        api.trigger(ref)
        assert [e.file_id for e in server.ledger.triggers()] == [1]
    assert server.stats()["GET /rest/workbook/{id}"] == 1


def test_a_version_looked_up_ahead_is_asked_once(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    server = make_emulator(scenario(artifact(1), version="7.4"))
    api = connect(server.url, detect_version=True)
    look = api.look_up_version_ahead()
    assert look is not None
    assert api.look_up_version_ahead() is None  # already asked
    api.list_running()  # needs no version: goes out beside the look
    for _ in range(3):
        api.execution_status(JobRef.parse(1))  # waits for the look when it is not done
    look.join()
    assert api.server_version() == "7.4"
    assert server.stats()["GET /rest/license-details"] == 1
    assert api.look_up_version_ahead() is None  # known


@pytest.mark.parametrize(
    ("kw", "started"),
    [
        pytest.param({}, False, id="no detection"),
        pytest.param({"detect_version": True, "version": "6.4"}, False, id="version set"),
        pytest.param({"detect_version": True}, True, id="detection"),
    ],
)
def test_a_look_ahead_starts_only_where_the_version_is_asked(
    make_emulator: MakeEmulator, connect: Connect, kw: dict[str, object], started: bool
) -> None:
    server = make_emulator(scenario(artifact(1), version="7.4"))
    api = connect(server.url, **kw)
    look = api.look_up_version_ahead()
    assert (look is not None) is started
    if look is not None:
        look.join()
    assert server.stats().get("GET /rest/license-details", 0) == int(started)


@pytest.mark.parametrize(
    ("first", "asked", "version"),
    [
        pytest.param(json_answer(503, "busy"), 2, "7.4", id="busy: not kept, asked again"),
        pytest.param(json_answer(429, "slow down"), 2, "7.4", id="throttled: asked again"),
        pytest.param(json_answer(403, '{"message": "no"}'), 1, None, id="forbidden: kept"),
        pytest.param(json_answer(200, '{"ProductVersion": "7.4"}'), 1, "7.4", id="answered"),
    ],
)
def test_a_look_ahead_that_meets_a_busy_server_is_not_kept(
    connect: Connect, first: Answer, asked: int, version: str | None
) -> None:
    with hostile_server(first, json_answer(200, '{"ProductVersion": "7.4"}')) as server:
        api = connect(server.url, detect_version=True, retries=0)
        look = api.look_up_version_ahead()
        assert look is not None
        look.join()
        assert api.server_version() == version
        assert [r.path for r in server.received] == ["/rest/license-details"] * asked
