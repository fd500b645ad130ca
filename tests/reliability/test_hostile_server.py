"""A server (or something posing as one) answering garbage: a clear error, bounded memory
and time, and credentials never sent anywhere but the configured server.

Each case runs ``dmpipe job`` and ``dmpipe run`` (whose first call is list-running)
in-process against ``testing.hostile_server``; the client-level shapes of the same
failures are pinned in tests/datameer/test_client.py.
"""

from __future__ import annotations

import functools
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.commands.main import main
from testing.environment import server_env
from testing.hostile_server import Answer, HostileServer, hostile_server, json_answer
from testing.pipeline_files import write_pipeline

MB = 1024 * 1024
HTML = "text/html; charset=utf-8"
ERROR_PAGE = (
    b"<html><head><title>Error 500</title></head><body><h2>HTTP ERROR 500</h2>"
    b"<pre>java.lang.NullPointerException</pre></body></html>"
)


def job_running(tmp_path: Path) -> list[str]:
    return ["job", "running", "--retries", "1", "--timeout", "1"]


def run_pipeline(tmp_path: Path) -> list[str]:
    pipeline = write_pipeline(tmp_path / "hostile.yaml", [("a", 1, (), 0)])
    return ["run", str(pipeline), "--report-dir", str(tmp_path / "report")]


COMMANDS = [pytest.param(job_running, id="job"), pytest.param(run_pipeline, id="run")]


def dmpipe(
    server: HostileServer,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    server_env(monkeypatch, server.url)
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        pytest.param(
            json_answer(200, '[{"dapJobConfigurationId": 17, "jobStatus": "RUN'),
            3,
            'the answer is not JSON: \'[{"dapJobConfigurationId": 17',
            id="truncated-json",
        ),
        pytest.param(
            json_answer(200, '{"status": "success"'),
            3,
            "the answer is not JSON",
            id="unclosed-object",
        ),
        pytest.param(
            json_answer(200, "[" * 100_000 + "]" * 100_000),
            3,
            "the answer is not JSON",
            id="100000-deep-json",
        ),
        pytest.param(
            json_answer(200, '[{"dapJobConfigurationId": 1' + "0" * 100_000 + "}]"),
            3,
            "the answer is not JSON",
            id="100000-digit-number",
        ),
        pytest.param(
            Answer(200, ERROR_PAGE, content_type=HTML),
            3,
            "the answer is not JSON: '<html><head><title>Error 500",
            id="html-page-with-200",
        ),
        pytest.param(
            Answer(200, b"<error>denied</error>", content_type="application/xml"),
            3,
            "the answer is not JSON: '<error>denied</error>'",
            id="xml",
        ),
        pytest.param(
            Answer(200, bytes(range(256)) * 4, content_type="application/octet-stream"),
            3,
            "the answer is not JSON: '\\x00\\x01\\x02",
            id="binary",
        ),
        pytest.param(
            Answer(200, ERROR_PAGE, content_type="application/json"),
            3,
            "the answer is not JSON: '<html>",
            id="html-labelled-json",
        ),
    ],
)
def test_garbage_answers_fail_clearly(
    command: Callable[[Path], list[str]],
    answer: Answer,
    code: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with hostile_server(answer) as server:
        exit_code, err = dmpipe(server, command(tmp_path), monkeypatch, capsys)
    assert exit_code == code, err
    assert message in err
    assert "Traceback" not in err
    assert "this is a bug" not in err
    assert len(err) < 2000, "an error is a few lines, not the server's page"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            Answer(500, ERROR_PAGE, content_type=HTML),
            "list of running jobs failed (HTTP 500): the server failed",
            id="html-error-page",
        ),
        pytest.param(Answer(drop=True), "the connection failed", id="dropped-connection"),
    ],
)
def test_retried_failures_fail_clearly_after_the_retries(
    answer: Answer,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Only `job` here: its --retries 1 keeps the backoff short (run retries 3 times).
    with hostile_server(answer) as server:
        exit_code, err = dmpipe(server, job_running(tmp_path), monkeypatch, capsys)
    assert exit_code == 3, err
    assert message in err
    assert "Traceback" not in err
    assert len(server.received) == 2, "one try and one retry"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(json_answer(200, "[]", content_type="text/html"), id="json-labelled-html"),
        pytest.param(json_answer(200, "[]", content_type="text/plain"), id="json-labelled-text"),
        pytest.param(
            json_answer(200, "[]", content_type="application/json; charset=no-such-charset"),
            id="unknown-charset",
        ),
    ],
)
def test_a_json_body_is_read_whatever_its_label(
    answer: Answer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Proxies and old servers mislabel JSON: what counts is that it parses as JSON.
    with hostile_server(answer) as server:
        exit_code, err = dmpipe(server, job_running(tmp_path), monkeypatch, capsys)
    assert exit_code == 0, err


@functools.cache
def gzip_bomb() -> bytes:
    """50 KB of gzip that inflates to a 50 MB JSON list (built once, in a few 100 ms)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    chunk = b"0," * (32 * 1024)
    parts = [packer.compress(b"[")]
    parts += [packer.compress(chunk) for _ in range(50 * MB // len(chunk))]
    return b"".join([*parts, packer.compress(b"0]"), packer.flush()])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Answer(body=b"[", stream_bytes=50 * MB), id="50-MB-streamed"),
        pytest.param(
            Answer(body=b"[", headers=(("Content-Length", str(50 * MB)),), stream_bytes=50 * MB),
            id="50-MB-declared",
        ),
        pytest.param(None, id="gzip-bomb-50-MB"),
    ],
)
@pytest.mark.timeout(60)
def test_a_50_mb_answer_is_refused_in_bounded_memory(
    command: Callable[[Path], list[str]],
    answer: Answer | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = answer or Answer(body=gzip_bomb(), headers=(("Content-Encoding", "gzip"),))
    with hostile_server(answer) as server:
        tracemalloc.start()
        try:
            exit_code, err = dmpipe(server, command(tmp_path), monkeypatch, capsys)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert exit_code == 3, err
    assert "the answer is larger than 10 MB" in err
    # The 10 MB cap, plus the test server's own buffers; never the 50 MB.
    assert peak < 24 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["job", "running", "--timeout", "1"],
            3,
            "list of running jobs failed: the answer was still arriving after 1s",
            id="get",
        ),
        pytest.param(
            ["job", "trigger", "1", "--timeout", "1"],
            3,
            "the answer was still arriving after 1s",
            id="trigger",
        ),
    ],
)
@pytest.mark.timeout(20)
def test_a_slow_loris_answer_is_cut_off(
    args: list[str],
    code: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Headers at once, then one byte every 20 ms: each read is quick, the answer endless.
    with hostile_server(Answer(body=b'[{"dapJobConfigurationId": 17', drip=0.02)) as server:
        exit_code, err = dmpipe(server, args, monkeypatch, capsys)
    assert exit_code == code, err
    assert message in err
    assert len(server.received) == 1, "a slow answer is not retried"
    if "trigger" in args:
        assert "may have started a job: check its status before triggering again" in err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_never_gets_the_credentials(
    command: Callable[[Path], list[str]],
    status: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with hostile_server(json_answer(200, "[]"), host="localhost") as elsewhere:
        target = elsewhere.url.replace("://", "://admin:stolen@") + "/rest/jobs/list-running"
        redirect = Answer(status, b"", headers=(("Location", target),))
        with hostile_server(redirect) as server:
            exit_code, err = dmpipe(server, command(tmp_path), monkeypatch, capsys)
    assert exit_code != 0
    assert f"the server redirects to {elsewhere.url}/rest/jobs/list-running" in err
    assert "stolen" not in err
    assert "Authorization" in server.received[0].headers, "the configured server got them"
    assert elsewhere.received == [], "nothing at all went to the other host"


def test_server_text_in_errors_is_escaped_and_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A reason that would retitle the terminal and clear the screen, then 100 KB of text.
    reason = "\\u001b]0;owned\\u0007\\u001b[2J" + "A" * 100_000
    answer = json_answer(400, '{"status": "failure", "reason": "' + reason + '"}')
    with hostile_server(answer) as server:
        exit_code, err = dmpipe(server, ["job", "trigger", "1"], monkeypatch, capsys)
    assert exit_code == 1, err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "\\x1b]0;owned\\x07\\x1b[2J" in err
    assert len(err) < 1000
