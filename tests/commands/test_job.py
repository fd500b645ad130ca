"""``dmpipe job ...`` against the emulator: in-process through ``main()``, and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from testing.environment import closed_port_url

SALES = "/Analytics/Sales categorization"
COUNTERS = {"IMPORT_RECORDS": 494400, "IMPORT_DROPPED_RECORDS": 0}


def scenario(**extra: Any) -> dict[str, Any]:
    """The reference's workbook 48 plus a data-driven pair 3 → 4, on a manual clock."""
    return {
        "version": "7.5.2",
        "clock": "manual",
        "users": {"admin": {"password": "admin"}},
        "artifacts": [
            {
                "file_id": 48,
                "configuration_id": 12,
                "path": SALES,
                "kind": "import_job",
                "data_id": 272,
                "history": [
                    {"status": "COMPLETED", "id": 27},
                    {"status": "COMPLETED", "id": 30, "counters": COUNTERS},
                ],
            },
            {"file_id": 3, "name": "apache_log", "downstream": [4]},
            {"file_id": 4, "name": "categorization"},
        ],
        **extra,
    }


@pytest.fixture
def serve(
    make_emulator: Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., EmulatorServer]:
    """Start an emulator (the shared fixture) and point the DATAMEER_* environment at it."""
    for name in ("DATAMEER_PASSWORD_FILE", "DATAMEER_INSECURE", "DATAMEER_CA_BUNDLE", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    def start(**extra: Any) -> EmulatorServer:
        server = make_emulator(scenario(**extra))
        monkeypatch.setenv("DATAMEER_URL", server.url)
        monkeypatch.setenv("DATAMEER_USER", "admin")
        monkeypatch.setenv("DATAMEER_PASSWORD", "admin")
        return server

    return start


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["job", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- every subcommand --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["status", SALES],
            ["status:       COMPLETED", "file id:      48", "execution id: 30"],
            id="status-path",
        ),
        pytest.param(
            ["status", "--v1", "12"],
            ["configuration id: 12", "status:           COMPLETED", "execution id:     30"],
            id="status-v1",
        ),
        pytest.param(
            ["history", "12"],
            ["EXECUTION ID  STATUS", "30            COMPLETED", "27            COMPLETED"],
            id="history",
        ),
        pytest.param(
            ["history", "12", "--start", "1", "--length", "1"],
            ["27            COMPLETED"],
            id="history-page",
        ),
        pytest.param(
            ["details", "30"],
            ["status:                   COMPLETED", "  IMPORT_RECORDS:         494,400"],
            id="details",
        ),
        pytest.param(["running"], ["(none)"], id="running-none"),
        pytest.param(
            ["trigger", SALES], ["execution id: ", "user:         admin", "RESTAPI"], id="trigger"
        ),
        pytest.param(
            ["trigger-sequence", "3", "--var", "run_date=2026-11-28"],
            ["CONFIGURATION ID  CONFIGURATION NAME  TRIGGERED  EXECUTION ID", "apache_log", "yes"],
            id="trigger-sequence",
        ),
        pytest.param(["stop", "48"], ["stop requested for file 48"], id="stop"),
        pytest.param(["delete", "272"], ["data id: 272", "deleted: yes"], id="delete"),
        pytest.param(["trigger", "--legacy", "12"], ["execution id: "], id="trigger-legacy"),
    ],
)
def test_every_subcommand(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: list[str],
) -> None:
    serve()
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    for fragment in expected:
        assert fragment in out


def test_running_lists_what_was_triggered(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve()
    assert run(capsys, "trigger", "48")[0] == 0
    server.clock.advance(5)
    code, out, _ = run(capsys, "running")
    assert code == 0
    [header, row] = out.splitlines()
    assert " ".join(header.split()) == (
        "CONFIGURATION ID EXECUTION ID STATUS START TIME ESTIMATE PROGRESS"
    )
    assert row.split()[:3] == ["12", str(server.ledger.triggers()[0].execution_id), "RUNNING"]


def test_actions_reach_the_server(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve()
    run(capsys, "trigger-sequence", "3", "--var", "a=1", "--var", "b=x=y")
    run(capsys, "stop", "3")
    assert [(e.action, e.file_id) for e in server.ledger.entries()] == [
        ("sequence", 3),
        ("sequence", 4),
        ("stop", 3),
    ]
    assert dict(server.ledger.entries()[0].variables) == {"a": "1", "b": "x=y"}


@pytest.mark.parametrize(
    ("args", "key", "value"),
    [
        pytest.param(["status", "48", "--json"], "status", "COMPLETED", id="status"),
        pytest.param(["--json", "details", "30"], "counters", COUNTERS, id="details-before"),
        pytest.param(["status", "--v1", "12", "--json"], "execution_id", 30, id="v1"),
        pytest.param(["delete", "272", "--json"], "deleted", True, id="delete"),
        pytest.param(["stop", "48", "--json"], "stop_requested_for", "file 48", id="stop"),
    ],
)
def test_json_output(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    key: str,
    value: object,
) -> None:
    serve()
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert json.loads(out)[key] == value


def test_json_lists_and_timestamps(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    serve()
    _, out, _ = run(capsys, "history", "12", "--json")
    assert json.loads(out) == [
        {"execution_id": 30, "status": "COMPLETED", "raw_status": "COMPLETED"},
        {"execution_id": 27, "status": "COMPLETED", "raw_status": "COMPLETED"},
    ]
    _, out, _ = run(capsys, "status", "48", "--json")
    assert json.loads(out)["start_time"].startswith("20")


def test_connection_options_before_or_after_the_action(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = serve()
    monkeypatch.delenv("DATAMEER_URL")
    monkeypatch.delenv("DATAMEER_USER")
    assert run(capsys, "status", "48", "--server", server.url, "--user", "admin")[0] == 0
    assert run(capsys, "--server", server.url, "--user", "admin", "status", "48")[0] == 0
    # A value given after the action wins; one given before is not undone by the action's default.
    code, _, err = run(
        capsys,
        "--server",
        "http://127.0.0.1:1",
        "--user",
        "admin",
        "status",
        "48",
        "--server",
        server.url,
    )
    assert (code, err) == (0, "")


def test_password_from_a_file_or_netrc(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    serve()
    monkeypatch.delenv("DATAMEER_PASSWORD")
    secret = tmp_path / "password"
    secret.write_text("admin\n")
    monkeypatch.setenv("DATAMEER_PASSWORD_FILE", str(secret))
    assert run(capsys, "status", "48")[0] == 0
    monkeypatch.delenv("DATAMEER_PASSWORD_FILE")
    monkeypatch.delenv("DATAMEER_USER")
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login admin password admin\n")
    netrc.chmod(0o600)
    assert run(capsys, "status", "48")[0] == 0


def test_insecure_warns_on_stderr(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    serve()
    code, out, err = run(capsys, "--insecure", "status", "48", "--json")
    assert code == 0
    assert json.loads(out)["status"] == "COMPLETED"
    assert err == "dmpipe: warning: TLS certificate verification is off\n"


# -- bad input: one line on stderr, the documented exit code -----------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["status", "/No/Such thing"],
            2,
            "job status v2 for /No/Such thing failed (HTTP 404): File doesn't exist",
            id="unknown-reference",
        ),
        pytest.param(
            ["trigger", "99"], 2, "trigger of file 99 failed (HTTP 404)", id="unknown-trigger"
        ),
        pytest.param(["stop", "99"], 2, "stop of file 99 failed (HTTP 404)", id="unknown-stop"),
        pytest.param(
            ["details", "999"],
            2,
            "job details of execution 999 failed (HTTP 404)",
            id="unknown-execution",
        ),
        pytest.param(
            ["delete", "273"],
            2,
            "delete of data 273 failed (HTTP 404): Entity of type 'Data' with id '273' not found.",
            id="unknown-data",
        ),
        pytest.param(
            ["history", "999"], 2, "job history of configuration 999 failed", id="unknown-config"
        ),
        pytest.param(
            ["details", "abc"],
            2,
            "dmpipe: error: job details: argument EXECUTION_ID: expected a whole number >= 0, "
            "got 'abc'",
            id="malformed-execution-id",
        ),
        pytest.param(
            ["history", "-3"], 2, "argument CONFIG_ID: expected a whole number", id="negative-id"
        ),
        pytest.param(
            ["delete", "1.5"], 2, "argument DATA_ID: expected a whole number", id="malformed-data"
        ),
        pytest.param(
            ["trigger-sequence", "3", "x"],
            2,
            "argument FILE_ID: expected a whole number",
            id="malformed-file-id",
        ),
        pytest.param(
            ["status", "--v1", "abc"],
            2,
            "dmpipe job status: argument CONFIG_ID: expected a whole number >= 0, got 'abc'",
            id="malformed-config-id",
        ),
        pytest.param(
            ["stop", "--legacy", "abc"],
            2,
            "dmpipe job stop: argument EXECUTION_ID: expected a whole number",
            id="malformed-legacy-stop",
        ),
        pytest.param(
            ["trigger", "/"], 2, "argument REF: the path '/' names no artifact", id="empty-path"
        ),
        pytest.param(
            ["trigger-sequence", "3", "--var", "novalue"],
            2,
            "--var expects NAME=VALUE, got 'novalue'",
            id="bad-variable",
        ),
        pytest.param(
            ["status", "48", "--timeout", "0"],
            2,
            "argument --timeout: expected a number of seconds > 0, got '0'",
            id="bad-timeout",
        ),
        pytest.param(
            ["status", "48", "--password", "hunter2"],
            2,
            "there is no --password option: a password on the command line leaks",
            id="password-flag",
        ),
        pytest.param(["frobnicate"], 2, "invalid choice: 'frobnicate'", id="unknown-action"),
        pytest.param(
            ["status", "9" * 5000],
            2,
            "dmpipe job status: argument REF: a file id has at most 19 digits, got 5000",
            id="huge-file-id",
        ),
        pytest.param(
            ["details", "9" * 5000],
            2,
            "argument EXECUTION_ID: expected at most 19 digits, got 5000",
            id="huge-execution-id",
        ),
        pytest.param(
            ["status", "/Workbooks/../../etc/passwd"],
            2,
            "argument REF: the path '/Workbooks/../../etc/passwd' has a . or .. segment",
            id="dot-dot-path",
        ),
        pytest.param(
            ["trigger", "/Workbooks/./Sales"],
            2,
            "argument REF: the path '/Workbooks/./Sales' has a . or .. segment",
            id="dot-path",
        ),
        pytest.param(
            ["stop", "/Workbooks/Sales\r\nX-Injected: 1"],
            2,
            "argument REF: the path '/Workbooks/Sales\\r\\nX-Injected: 1' holds a control",
            id="crlf-path",
        ),
        pytest.param(
            ["running", "--server", "http://127.0.0.1:99999"],
            2,
            "the server URL 'http://127.0.0.1:99999' has no valid port: use a number 1-65535",
            id="port-out-of-range",
        ),
        pytest.param(
            ["running", "--server", "http://127.0.0.1:abc"],
            2,
            "the server URL 'http://127.0.0.1:abc' has no valid port",
            id="port-not-a-number",
        ),
        pytest.param(
            ["running", "--server", "http://[::1"],
            2,
            "argument --server: not a URL: expected https://host:port",
            id="malformed-url-flag",
        ),
        pytest.param(
            ["status", "48", "--ca-bundle", "/nonexistent/ca.pem"],
            2,
            "the CA bundle /nonexistent/ca.pem is not a readable file",
            id="missing-ca-bundle",
        ),
    ],
)
def test_bad_input(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    server = serve()
    got, out, err = run(capsys, *args)
    assert (got, out) == (code, "")
    assert err.count("\n") == 1
    assert err.startswith("dmpipe: error: ")
    assert message in err
    assert "hunter2" not in err
    assert not any(entry.effective for entry in server.ledger.entries())


def test_wrong_password(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve()
    monkeypatch.setenv("DATAMEER_PASSWORD", "Zx9-not-it")
    code, _, err = run(capsys, "status", "48")
    assert code == 3
    assert err.count("\n") == 1
    assert "job status v2 for file 48 failed (HTTP 401): the server refused the credentials" in err
    assert "Zx9-not-it" not in err


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:99999", id="port-out-of-range"),
        pytest.param("http://127.0.0.1:abc", id="port-not-a-number"),
        pytest.param("http://[::1", id="unclosed-ipv6"),
        pytest.param("http://u:hunter2@[::1", id="unclosed-ipv6-with-password"),
    ],
)
def test_a_malformed_server_url_in_the_environment_is_a_usage_error(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setenv("DATAMEER_URL", url)
    code, out, err = run(capsys, "running")
    assert (code, out) == (2, "")
    assert err.startswith("dmpipe: error: the server URL ")
    assert err.count("\n") == 1
    assert "hunter2" not in err


def test_a_user_without_a_password_stops_before_any_call(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = serve()
    monkeypatch.delenv("DATAMEER_PASSWORD", raising=False)
    monkeypatch.delenv("DATAMEER_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.setenv("HOME", "/nonexistent")
    code, out, err = run(capsys, "trigger", "48", "--user", "bob")
    assert (code, out) == (3, "")
    assert err == (
        "dmpipe: error: no password for user 'bob': set DATAMEER_PASSWORD, "
        "DATAMEER_PASSWORD_FILE or ~/.netrc\n"
    )
    assert server.stats().get("total", 0) == 0, "not one request reached the server"


def test_no_server_configured(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATAMEER_URL", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    code, _, err = run(capsys, "running")
    assert (code, err) == (
        2,
        "dmpipe: error: no Datameer server: pass --server or set DATAMEER_URL\n",
    )


def test_unreachable_server(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    serve()
    url = closed_port_url()
    code, _, err = run(capsys, "running", "--server", url, "--retries", "0")
    assert code == 3
    assert err == (
        "dmpipe: error: list of running jobs failed: connection refused: is the server running "
        f"and the URL right? [{url}/rest/jobs/list-running]\n"
    )


def test_server_answering_500(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(faults={"error_rate": 1.0})
    code, _, err = run(capsys, "history", "12", "--retries", "1")
    assert code == 3
    assert err.count("\n") == 1
    assert "job history of configuration 12 failed (HTTP 500)" in err
    assert server.stats()["total"] == 2


def test_missing_endpoint(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    serve(version="7.4")
    code, _, err = run(capsys, "trigger-sequence", "3")
    assert code == 2
    assert err.count("\n") == 1
    assert "the server has no such endpoint: the sequential trigger needs Datameer 7.5.2+" in err


def test_trigger_with_lost_answer_exits_3_and_says_to_check(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(faults={"lost_trigger_rate": 1.0, "paths": ["*/trigger"]})
    code, _, err = run(capsys, "trigger", SALES)
    assert code == 3
    assert err.count("\n") == 1
    assert "may have started a job: check its status before triggering again" in err
    assert len(server.ledger.triggers()) == 1


@pytest.fixture
def html_server() -> Iterator[str]:
    """A server that answers every request with a 200 HTML page (a proxy's login page)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = b"<html><body>Please sign in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_server_answering_html(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str], html_server: str
) -> None:
    serve()
    code, _, err = run(capsys, "trigger", "48", "--server", html_server)
    assert code == 3
    assert err == (
        "dmpipe: error: trigger of file 48 failed: the server said yes but the answer is not "
        "JSON: '<html><body>Please sign in</body></html>'; it may have "
        "started a job: check its status before triggering again "
        f"[{html_server}/api/job-execution/48/trigger]\n"
    )


# -- a real process ----------------------------------------------------------------------


def test_as_a_subprocess(serve: Callable[..., EmulatorServer]) -> None:
    server = serve()
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "runner", "job", "status", SALES, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["execution_id"] == 30
    failed = subprocess.run(
        [sys.executable, "-m", "runner", "job", "details", "abc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1
    assert "Traceback" not in failed.stderr
    assert server.ledger.entries() == []


@pytest.mark.parametrize(
    ("encoding", "code"),
    [pytest.param("segment", 0, id="the-server's"), pytest.param("plus", 2, id="another")],
)
def test_path_encoding_option_writes_a_path_ref_that_way(
    serve: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    encoding: str,
    code: int,
) -> None:
    serve(paths="strict", path_encoding="segment")
    got, out, err = run(capsys, "status", SALES, "--path-encoding", encoding, "--json")
    assert got == code, err
    if code == 0:
        assert json.loads(out)["status"] == "COMPLETED"


def test_datameer_version_option_replaces_asking_the_server(
    serve: Callable[..., EmulatorServer], capsys: pytest.CaptureFixture[str]
) -> None:
    serve()
    code, _, err = run(capsys, "--datameer-version", "7.1.0", "status", "48")
    assert code != 0
    assert "7.2.5" in err
    assert "status --v1 CONFIG_ID" in err  # what to do instead, on this command line


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["job", "status", "48"], id="job"),
        pytest.param(["run", "examples/quickstart.yaml", "--emulator"], id="run"),
    ],
)
def test_a_datameer_version_that_is_no_version_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main([*command, "--datameer-version", "banana"]) == 2
    assert "'banana' is not a Datameer version, like 7.5.2" in capsys.readouterr().err
