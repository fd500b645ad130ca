"""The client against answers written byte for byte: what a request looks like on the
wire, the framings and encodings an answer may use, when a connection is used again, and
what a broken answer becomes.

Every call goes through the real client; the scripted server (``testing.scripted_server``)
counts the connections and keeps each request as it arrived.  A trigger is sent once
whatever the answer does.
"""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from runner.datameer.client import DatameerClient, Timeout
from runner.errors import (
    ApiError,
    ConnectionFailedError,
    OutcomeUnknownError,
    ServerError,
    UnreadableAnswerError,
)
from runner.reference import JobRef
from testing.scripted_server import Reply, answer, chunked, scripted_server

USER, PASSWORD = "admin", "admin"
EMPTY = answer(b"[]")
TRIGGERED = answer(b'{"job-execution-id": 7}')


def _client(url: str) -> DatameerClient:
    # One retry for a GET, at once: a broken answer is asked for twice, never a trigger.
    return DatameerClient(
        url, user=USER, password=PASSWORD, timeout=Timeout(2, 2, 10), retries=1, backoff_factor=0
    )


def _deflated(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(data) + packer.flush()


def _get_then_trigger(
    reply: Reply, get_error: type[ApiError]
) -> tuple[ApiError, OutcomeUnknownError]:
    """A GET, then a trigger, answered ``reply``: what each raised (the GET ``get_error``);
    the trigger reached the server once."""
    with scripted_server(reply) as server:
        api = _client(server.url)
        with pytest.raises(get_error) as failed:
            api.list_running()
        with pytest.raises(OutcomeUnknownError) as unknown:
            api.trigger(JobRef.parse(48))
    triggers = [r for r in server.requests if r.request_line.startswith("POST")]
    assert len(triggers) == 1, "a trigger is never sent twice"
    return failed.value, unknown.value


def test_calls_share_one_kept_alive_connection_and_each_request_is_whole() -> None:
    with scripted_server(*[Reply(EMPTY)] * 5, Reply(TRIGGERED)) as server:
        api = _client(server.url)
        for _ in range(5):
            assert api.list_running() == []
        assert api.trigger(JobRef.parse(48)).execution_id == 7
    assert server.connections == 1
    first = server.requests[0]
    port = server.url.rsplit(":", 1)[1]
    assert first.request_line == "GET /rest/jobs/list-running HTTP/1.1"
    assert first.header("Host") == f"127.0.0.1:{port}"
    assert first.header("Accept-Encoding") == "gzip, deflate"
    assert (first.header("Authorization") or "").startswith("Basic ")
    assert first.header("Content-Length") is None
    post = server.requests[-1]
    assert post.request_line == "POST /api/job-execution/48/trigger HTTP/1.1"
    assert post.header("Content-Length") == "0"
    assert post.body == b""


def test_a_post_body_arrives_whole_with_its_length() -> None:
    with scripted_server(Reply(answer(b'{"execution-plan": []}'))) as server:
        api = _client(server.url)
        assert api.trigger_sequence([4, 5], {"day": "1"}).steps == ()
    request = server.requests[0]
    assert request.header("Content-Type") == "application/json"
    assert request.header("Content-Length") == str(len(request.body))
    assert json.loads(request.body) == {"variables": {"day": "1"}, "fileIds": [4, 5]}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(answer(chunked(b"[", b"]"), "Transfer-Encoding: chunked"), id="chunked"),
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n" + EMPTY, id="informational-first"),
        pytest.param(answer(gzip.compress(b"[]"), "Content-Encoding: gzip"), id="gzip"),
        pytest.param(
            answer(_deflated(b"[]", zlib.MAX_WBITS), "Content-Encoding: deflate"), id="deflate"
        ),
        pytest.param(
            answer(_deflated(b"[]", -zlib.MAX_WBITS), "Content-Encoding: deflate"),
            id="raw-deflate",
        ),
        pytest.param(answer(b"[]", "Content-Encoding: identity"), id="identity"),
    ],
)
def test_framings_and_encodings_are_read(data: bytes) -> None:
    with scripted_server(Reply(data)) as server:
        api = _client(server.url)
        assert api.list_running() == []
        assert api.list_running() == []
    assert server.connections == 1, "a whole answer leaves its connection reusable"


def test_a_large_gzip_body_is_decoded_whole() -> None:
    # Over 3 MB of JSON packed into a few KB, decoded in bounded pieces as it is read.
    rows = [
        {"dapJobConfigurationId": n, "jobExecutionId": n, "jobStatus": "RUNNING", "x": "y" * 200}
        for n in range(1, 14_001)
    ]
    text = json.dumps(rows).encode()
    assert len(text) > 3 * 1024 * 1024
    with scripted_server(Reply(answer(gzip.compress(text), "Content-Encoding: gzip"))) as server:
        running = _client(server.url).list_running()
    assert [job.execution_id for job in running] == list(range(1, 14_001))


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(answer(b"[]", "Connection: close"), close=True), id="connection-close"),
        pytest.param(
            Reply(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[]", close=True),
            id="body-until-close",
        ),
        pytest.param(Reply(EMPTY, close=True), id="closed-without-saying"),
    ],
)
def test_a_connection_that_cannot_carry_another_call_is_not_reused(reply: Reply) -> None:
    with scripted_server(reply) as server:
        api = _client(server.url)
        for _ in range(3):
            assert api.list_running() == []
    assert server.connections == 3
    assert len(server.requests) == 3


def test_bytes_after_an_answers_body_do_not_break_the_next_calls() -> None:
    with scripted_server(Reply(EMPTY + b"junk after the body")) as server:
        api = _client(server.url)
        for _ in range(3):
            assert api.list_running() == []
    assert len(server.requests) == 3


def test_each_trigger_on_a_server_that_closes_after_answering_is_sent_once() -> None:
    with scripted_server(Reply(answer(b'{"job-execution-id": 7}', "Connection: close"))) as server:
        api = _client(server.url)
        for _ in range(3):
            assert api.trigger(JobRef.parse(48)).execution_id == 7
    assert len(server.requests) == 3
    assert server.connections == 3


@pytest.mark.parametrize(
    ("data", "said"),
    [
        pytest.param(b"garbage\r\n\r\n", "'garbage'", id="not-http"),
        pytest.param(b"", "Remote end closed connection without response", id="nothing"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1,2",
            "IncompleteRead(4 bytes read, 96 more expected",
            id="cut-body",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2,",
            "IncompleteRead",
            id="cut-chunks",
        ),
    ],
)
def test_a_broken_answer_fails_a_get_and_leaves_a_trigger_unknown(data: bytes, said: str) -> None:
    failed, unknown = _get_then_trigger(Reply(data, close=True), ConnectionFailedError)
    assert said in str(failed)
    assert said in str(unknown)
    assert "the connection broke after the request was sent" in str(unknown)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_an_answer_that_does_not_decode_is_unreadable_not_a_broken_connection(
    encoding: str,
) -> None:
    # A whole answer: with "Connection: close" the trigger goes out on a new connection.
    broken = answer(b"not packed at all", f"Content-Encoding: {encoding}", "Connection: close")
    unreadable, unknown = _get_then_trigger(Reply(broken, close=True), UnreadableAnswerError)
    said = f"the answer cannot be decoded as its Content-Encoding ({encoding}) says"
    assert said in str(unreadable)
    assert f"the server said yes but {said}" in str(unknown)
    assert "it may have started a job" in str(unknown)


def test_a_failure_that_does_not_decode_keeps_its_status() -> None:
    broken = answer(
        b"not gzip", "Content-Encoding: gzip", "Connection: close", status="503 Unavailable"
    )
    with scripted_server(Reply(broken, close=True)) as server:
        api = DatameerClient(server.url, user=USER, password=PASSWORD, retries=0)
        with pytest.raises(ServerError) as failed:
            api.list_running()
    assert failed.value.status_code == 503
