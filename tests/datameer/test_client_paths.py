"""Paths in URLs, against an emulator that accepts only one encoding (``paths: strict``):
each setting sends the one form that server reads, detection finds it with GETs only, and a
path shaped like an id never reaches the server as one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.datameer.client import DatameerClient
from runner.datameer.status import JobStatus
from runner.errors import NotFoundError
from runner.reference import JobRef, PathEncoding
from testing.emulators import MakeEmulator
from testing.scenarios import artifact, scenario

PATHS = [
    pytest.param("/Reports/Q1 sales.wbk", id="spaces"),
    pytest.param("/Reports/A+B mix.wbk", id="plus-sign"),
    pytest.param("/Reports/100% done.wbk", id="percent"),
    pytest.param("/Reports/Top #5.wbk", id="hash"),
    pytest.param("/Reports/Why? Because.wbk", id="question-mark"),
    pytest.param("/Berichte/Umsätze März.wbk", id="unicode"),
    pytest.param("/Reports/2024 summary.wbk", id="leading-digit"),
    pytest.param("/Data/ImportJobs/URLS.imp", id="import-extension"),
    pytest.param("/Exports/Sales report.exp", id="export-extension"),
]
# Written the same in both encodings: the leading slash kept, as %2F.
ID_SHAPED = [
    pytest.param("/123", id="looks-like-a-file-id"),
    pytest.param("/f8d450cd-f065-4abb-a232-27cd20c48c2b", id="looks-like-a-uuid"),
]
ENCODINGS = [pytest.param(encoding, id=encoding.value) for encoding in PathEncoding]
# File 123 and the uuid exist too: a path sent as "123" would name them instead.
DECOYS = [
    artifact(123, path="/Decoys/file 123.wbk"),
    artifact(9, uuid="f8d450cd-f065-4abb-a232-27cd20c48c2b", path="/Decoys/uuid.wbk"),
]
Connect = Callable[..., DatameerClient]


def strict_server(make_emulator: MakeEmulator, path: str, encoding: PathEncoding) -> str:
    server = make_emulator(
        scenario(artifact(7, path=path), *DECOYS, paths="strict", path_encoding=encoding.value)
    )
    return server.url


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", PATHS + ID_SHAPED)
def test_each_encoding_reaches_the_artifact_on_a_strict_server(
    make_emulator: MakeEmulator, connect: Connect, path: str, encoding: PathEncoding
) -> None:
    server = make_emulator(
        scenario(artifact(7, path=path), *DECOYS, paths="strict", path_encoding=encoding.value)
    )
    api = connect(server.url, path_encoding=encoding)
    ref = JobRef.parse(path)

    assert api.execution_status(ref).status is JobStatus.NEVER_RAN
    assert api.trigger(ref).execution_id is not None
    api.stop(ref)

    assert [entry.file_id for entry in server.ledger.triggers()] == [7]
    assert [entry.file_id for entry in server.ledger.stops()] == [7]


@pytest.mark.parametrize("path", PATHS)
def test_the_other_encoding_is_refused_by_a_strict_server(
    make_emulator: MakeEmulator, connect: Connect, path: str
) -> None:
    # The check the strict mode exists for: a client that changes its encoding is caught.
    url = strict_server(make_emulator, path, PathEncoding.PLUS)
    with pytest.raises(NotFoundError):
        connect(url, path_encoding=PathEncoding.SEGMENT).execution_status(JobRef.parse(path))


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/Reports/Q1 sales.wbk", id="spaces"),
        pytest.param("/Reports/A+B mix.wbk", id="plus-sign"),
        pytest.param("/Berichte/Umsätze März.wbk", id="unicode"),
    ],
)
def test_detection_finds_the_servers_encoding_with_gets_only(
    make_emulator: MakeEmulator, connect: Connect, path: str, encoding: PathEncoding
) -> None:
    server = make_emulator(
        scenario(artifact(7, path=path), *DECOYS, paths="strict", path_encoding=encoding.value)
    )
    api = connect(server.url)
    ref = JobRef.parse(path)

    api.execution_status(ref)
    posts_before_trigger = {k: v for k, v in server.stats().items() if k.startswith("POST")}
    api.trigger(ref)

    assert (api.path_encoding, api.path_encoding_source) == (encoding, "detected")
    assert posts_before_trigger == {}
    assert [entry.file_id for entry in server.ledger.triggers()] == [7]
    # Remembered: the next status asks once, in the detected form.
    before = server.stats()["GET /api/job-execution/{ref}/status"]
    api.execution_status(ref)
    assert server.stats()["GET /api/job-execution/{ref}/status"] == before + 1


def test_a_missing_path_is_not_found_in_every_form(
    make_emulator: MakeEmulator, connect: Connect
) -> None:
    url = strict_server(make_emulator, "/Reports/There.wbk", PathEncoding.SEGMENT)
    api = connect(url)
    with pytest.raises(NotFoundError):
        api.execution_status(JobRef.parse("/Reports/Not there.wbk"))
    assert api.path_encoding_source == "default"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_path_shaped_like_an_id_is_never_taken_for_one_by_a_lenient_server(
    make_emulator: MakeEmulator, connect: Connect, encoding: PathEncoding
) -> None:
    server = make_emulator(scenario(artifact(7, path="/123"), *DECOYS))
    api = connect(server.url, path_encoding=encoding)
    api.trigger(JobRef.parse("/123"))
    assert [entry.file_id for entry in server.ledger.triggers()] == [7]
