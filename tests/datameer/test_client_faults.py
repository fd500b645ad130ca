"""The client against a server that misbehaves on the wire (``testing.hostile_server``):
what each failure becomes, and how many requests reached the server.

The server's own count of requests is the judge: a trigger is sent once whatever happens,
an answer that may hide a started job is an unknown outcome, a read that cannot be read
is transient, and no call outlives ``Timeout.total``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from runner.datameer.client import DatameerClient, Timeout
from runner.errors import (
    ApiError,
    ConnectionFailedError,
    EndpointUnavailableError,
    OutcomeUnknownError,
    ThrottledError,
    TransientApiError,
    UnreadableAnswerError,
)
from runner.reference import JobRef
from testing.certs import Certificate, make_certificate, openssl_available
from testing.hostile_server import Answer, hostile_server, json_answer

USER, PASSWORD = "admin", "admin"
HTML = "text/html"
UNTRUSTED = "TLS certificate verification failed: pass --ca-bundle FILE"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    if not openssl_available():
        pytest.skip("no openssl binary to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _trigger(api: DatameerClient) -> object:
    return api.trigger(JobRef.parse(48))


def _legacy_trigger(api: DatameerClient) -> object:
    return api.trigger_legacy(12)


def _sequential_trigger(api: DatameerClient) -> object:
    return api.trigger_sequence([4, 5], {"day": "1"})


def _list_running(api: DatameerClient) -> object:
    return api.list_running()


TRIGGERS = [
    pytest.param(_trigger, "trigger of file 48", id="trigger"),
    pytest.param(_legacy_trigger, "legacy trigger of configuration 12", id="legacy"),
    pytest.param(_sequential_trigger, "sequential trigger of files 4, 5", id="sequential"),
]


# -- 1. TLS: a stream that breaks after the request is an unknown outcome -------------------


@pytest.mark.parametrize(("call", "name"), TRIGGERS)
@pytest.mark.parametrize(
    ("answer", "how"),
    [
        # The server reads the whole request (it may act on it), then ends the TLS stream
        # without close_notify, or sends bytes that are no TLS record (an SSL error).
        pytest.param(Answer(drop=True), "Remote end closed connection", id="eof"),
        pytest.param(Answer(corrupt=True), "the TLS stream failed", id="ssl-error"),
    ],
)
def test_a_tls_stream_broken_after_the_request_is_an_unknown_outcome(
    certificate: Certificate,
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    name: str,
    answer: Answer,
    how: str,
) -> None:
    with hostile_server(answer, tls=certificate) as server:
        api = connect(server.url, verify=str(certificate.cert))
        with pytest.raises(OutcomeUnknownError) as raised:
            call(api)
    message = str(raised.value)
    assert f"{name} failed: the connection broke after the request was sent" in message
    assert how in message
    assert "handshake" not in message
    assert len(server.received) == 1, "a trigger is never sent twice"


def test_a_tls_stream_broken_under_a_read_is_retried_then_transient(
    certificate: Certificate, connect: Callable[..., DatameerClient]
) -> None:
    with hostile_server(Answer(corrupt=True), tls=certificate) as server:
        api = connect(server.url, verify=str(certificate.cert), retries=2)
        with pytest.raises(ConnectionFailedError, match="the TLS stream failed"):
            api.list_running()
    assert len(server.received) == 3


@pytest.mark.parametrize(("call", "name"), [*TRIGGERS, pytest.param(_list_running, "", id="read")])
def test_an_untrusted_certificate_sends_nothing(
    certificate: Certificate,
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    name: str,
) -> None:
    with (
        hostile_server(json_answer(200, "{}"), tls=certificate) as server,
        pytest.raises(ConnectionFailedError) as raised,
    ):
        call(connect(server.url, retries=0))
    assert UNTRUSTED in str(raised.value)
    assert server.received == [], "the request never left: the handshake failed first"


def test_a_tls_cut_after_a_trusted_handshake_then_a_good_answer(
    certificate: Certificate, connect: Callable[..., DatameerClient]
) -> None:
    answers = (Answer(drop=True), json_answer(200, "[]"))
    with hostile_server(*answers, tls=certificate) as server:
        assert connect(server.url, verify=str(certificate.cert)).list_running() == []
    assert len(server.received) == 2


# -- 2. a trigger answered 2xx without an execution id may have started a job --------------


UNREADABLE_TRIGGER_ANSWERS = [
    pytest.param(json_answer(200, '{"status": "success"}'), "unexpected answer: ", id="no-id"),
    pytest.param(
        Answer(200, b"<html><body>Job started</body></html>", content_type=HTML),
        "the answer is not JSON: '<html>",
        id="html",
    ),
    pytest.param(Answer(200, b"\x00\xffgarbage"), "the answer is not JSON", id="garbage"),
    pytest.param(json_answer(200, ""), "the answer is not JSON: an empty answer", id="empty"),
    pytest.param(json_answer(201, '["ok"]'), "expected a JSON object", id="list"),
]


@pytest.mark.parametrize(("call", "name"), TRIGGERS)
@pytest.mark.parametrize(("answer", "missing"), UNREADABLE_TRIGGER_ANSWERS)
def test_a_trigger_answered_yes_without_an_id_is_an_unknown_outcome(
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    name: str,
    answer: Answer,
    missing: str,
) -> None:
    with hostile_server(answer) as server, pytest.raises(OutcomeUnknownError) as raised:
        call(connect(server.url))
    message = str(raised.value)
    assert message.startswith(f"{name} failed: the server said yes but ")
    assert missing in message
    assert "may have started" in message
    assert len(server.received) == 1
    assert raised.value.exit_code == 3


def test_a_trigger_answer_without_an_id_names_the_key(
    connect: Callable[..., DatameerClient],
) -> None:
    with hostile_server(json_answer(200, '{"status": "success"}')) as server:
        with pytest.raises(OutcomeUnknownError, match="'job-execution-id' is missing"):
            connect(server.url).trigger(JobRef.parse(48))
        with pytest.raises(OutcomeUnknownError, match="no execution id"):
            connect(server.url).trigger_legacy(12)
        with pytest.raises(OutcomeUnknownError, match="'execution-plan' is missing"):
            connect(server.url).trigger_sequence([4])


# -- 5. unreadable reads and 429 are transient -------------------------------------------


READS = [
    pytest.param(_list_running, id="list-running"),
    pytest.param(lambda api: api.execution_status(JobRef.parse(48)), id="status"),
    pytest.param(lambda api: api.job_status(12), id="status-v1"),
    pytest.param(lambda api: api.job_details(30), id="details"),
    pytest.param(lambda api: api.job_history(12), id="history"),
]
MAINTENANCE = b"<html><title>Down for maintenance</title><body>back at 02:00</body></html>"


@pytest.mark.parametrize("call", READS)
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Answer(200, MAINTENANCE, content_type=HTML), id="html"),
        pytest.param(Answer(200, b"\x1b[2J\x00garbage"), id="garbage"),
        pytest.param(json_answer(200, "42"), id="number"),
    ],
)
def test_an_unreadable_answer_to_a_read_is_transient(
    connect: Callable[..., DatameerClient],
    call: Callable[[DatameerClient], object],
    answer: Answer,
) -> None:
    with hostile_server(answer) as server, pytest.raises(UnreadableAnswerError) as raised:
        call(connect(server.url))
    assert isinstance(raised.value, TransientApiError)
    assert "\x1b" not in str(raised.value)
    assert len(server.received) == 1


def test_a_429_with_retry_after_is_waited_out_and_the_read_recovers(
    connect: Callable[..., DatameerClient],
) -> None:
    busy = json_answer(
        429, '{"status": "failure", "reason": "slow down"}', headers=(("Retry-After", "0"),)
    )
    with hostile_server(busy, busy, json_answer(200, "[]")) as server:
        assert connect(server.url).list_running() == []
    assert len(server.received) == 3


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param((), id="no-retry-after"),
        pytest.param((("Retry-After", "0"),), id="retry-after-0"),
    ],
)
def test_a_429_that_lasts_is_a_throttled_error_after_the_retries(
    connect: Callable[..., DatameerClient], headers: tuple[tuple[str, str], ...]
) -> None:
    throttled = Answer(429, b"Too Many Requests", "text/plain", headers)
    with hostile_server(throttled) as server, pytest.raises(ThrottledError) as raised:
        connect(server.url, retries=2).list_running()
    assert "list of running jobs failed (HTTP 429): the server is throttling" in str(raised.value)
    assert isinstance(raised.value, TransientApiError)
    assert raised.value.status_code == 429
    assert len(server.received) == 3


def test_a_retry_after_longer_than_the_call_may_last_ends_it_at_once(
    connect: Callable[..., DatameerClient],
) -> None:
    busy = Answer(429, b"", "text/plain", (("Retry-After", "3600"),))
    with hostile_server(busy) as server:
        api = connect(server.url, timeout=Timeout(connect=1, read=1, total=2))
        with pytest.raises(ThrottledError, match="it asked to wait 3600s"):
            api.list_running()
    assert len(server.received) == 1


def test_a_429_to_a_trigger_is_not_resent(connect: Callable[..., DatameerClient]) -> None:
    throttled = Answer(429, b"", headers=(("Retry-After", "0"),))
    with hostile_server(throttled) as server, pytest.raises(ThrottledError):
        connect(server.url).trigger(JobRef.parse(48))
    assert len(server.received) == 1


# -- 11. no call outlives Timeout.total ------------------------------------------------------


SHORT = Timeout(connect=1.0, read=20.0, total=0.6)
STALLS = [
    pytest.param(Answer(hang=True), id="never-answers"),
    pytest.param(Answer(drip_headers=0.05), id="drips-headers"),
    pytest.param(Answer(200, b"[" + b" " * 1000 + b"]", drip=0.05), id="drips-body"),
]


@pytest.mark.slow
@pytest.mark.parametrize("answer", STALLS)
def test_a_stalling_server_cannot_hold_a_read_past_the_deadline(
    connect: Callable[..., DatameerClient], answer: Answer
) -> None:
    with hostile_server(answer) as server:
        api = connect(server.url, timeout=SHORT, retries=3)
        with pytest.raises(ConnectionFailedError, match=r"no complete answer within 0\.6s"):
            api.list_running()
    assert len(server.received) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("answer", STALLS)
def test_a_stalling_server_makes_a_trigger_an_unknown_outcome(
    connect: Callable[..., DatameerClient], answer: Answer
) -> None:
    with hostile_server(answer) as server:
        api = connect(server.url, timeout=SHORT)
        with pytest.raises(OutcomeUnknownError, match=r"no complete answer within 0\.6s"):
            api.trigger(JobRef.parse(48))
    assert len(server.received) == 1


def test_the_deadline_bounds_retries_of_failing_reads(
    connect: Callable[..., DatameerClient],
) -> None:
    # Each attempt fails fast, but the backoff between them would add up to minutes.
    with hostile_server(Answer(503, b"busy", "text/plain")) as server:
        api = connect(server.url, timeout=Timeout(1, 1, total=0.5), retries=10, backoff_factor=5.0)
        with pytest.raises(ApiError) as raised:
            api.list_running()
    assert isinstance(raised.value, TransientApiError)
    assert len(server.received) < 11


@pytest.mark.slow
def test_a_client_keeps_working_after_a_call_was_cut(
    connect: Callable[..., DatameerClient],
) -> None:
    with hostile_server(Answer(hang=True), json_answer(200, "[]")) as server:
        api = connect(server.url, timeout=SHORT, retries=0)
        with pytest.raises(ConnectionFailedError):
            api.list_running()
        assert api.list_running() == []


# -- 14. an endpoint the server lacks is never retried -----------------------------------


def test_a_missing_endpoint_is_asked_once(connect: Callable[..., DatameerClient]) -> None:
    page = Answer(404, b"<html><body>HTTP ERROR 404</body></html>", content_type=HTML)
    with hostile_server(page) as server, pytest.raises(EndpointUnavailableError):
        connect(server.url, retries=5).execution_status(JobRef.parse(48))
    assert len(server.received) == 1


def test_a_failure_object_says_the_servers_words(
    connect: Callable[..., DatameerClient],
) -> None:
    failure = json_answer(200, '{"error": "license expired on 2026-11-01"}')
    with hostile_server(failure) as server, pytest.raises(UnreadableAnswerError) as raised:
        connect(server.url).list_running()
    assert "the server says: license expired on 2026-11-01" in str(raised.value)
    assert "should be a status text" not in str(raised.value)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        pytest.param(json_answer(500, '{"error": "disk full on node 3"}'), "ServerError", id="500"),
        pytest.param(json_answer(400, '{"message": "disk full on node 3"}'), "ApiError", id="400"),
    ],
)
def test_an_error_status_with_an_undocumented_body_says_the_servers_words(
    connect: Callable[..., DatameerClient], answer: Answer, kind: str
) -> None:
    with hostile_server(answer) as server, pytest.raises(ApiError) as raised:
        connect(server.url, retries=0).list_running()
    assert type(raised.value).__name__ == kind
    assert str(raised.value).startswith(
        f"list of running jobs failed (HTTP {answer.status}): disk full on node 3 ["
    )
