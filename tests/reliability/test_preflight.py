"""The run's first call (``list-running``), through the real client on loopback: what
ends a run at once (nothing can be listening there, or the credentials are refused) and
what is asked again a few times first (a server that took the connection and dropped it,
or said it is busy)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

import runner
from runner.clock import VirtualClock
from runner.datameer.client import DatameerClient, Timeout
from runner.engine.driver import PREFLIGHT_RETRY_DELAYS, RunRequest, run_pipeline
from runner.errors import AuthenticationError, ConnectionFailedError
from testing.hostile_server import Answer, hostile_server, json_answer

RETRIES = 1  # the client's own: each call is one try and one retry
TRIES = RETRIES + 1


DEFAULT_LIMITS = Timeout()


def _run(
    url: str, tmp_path: Path, clock: VirtualClock, timeout: Timeout = DEFAULT_LIMITS
) -> runner.RunOutcome:
    """A run of a file with no jobs: its preflight is all it does."""
    pipeline = runner.Pipeline(name="none", path=str(tmp_path / "p.yaml"), version=1, jobs={})
    request = RunRequest(mode=runner.Mode.CLIENT, mode_reason="test", report_dir=tmp_path / "r")
    client = DatameerClient(
        url, user="u", password="p", retries=RETRIES, backoff_factor=0, timeout=timeout
    )
    with client as api:
        return run_pipeline(pipeline, api, request, lambda event: None, clock=clock)


def _warnings(tmp_path: Path) -> list[str]:
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    return [warning["kind"] for warning in report["warnings"]]


def test_a_server_that_drops_the_first_calls_is_asked_again(tmp_path: Path) -> None:
    # Every try of the first two calls meets a dropped connection; the third call is
    # answered.  Nothing was triggered, so asking again cannot start anything twice.
    drops = (Answer(drop=True),) * (TRIES * len(PREFLIGHT_RETRY_DELAYS))
    clock = VirtualClock()
    with hostile_server(*drops, json_answer(200, "[]")) as server:
        outcome = _run(server.url, tmp_path, clock)
    assert outcome.exit_code == 0
    assert [r.path for r in server.received] == ["/rest/jobs/list-running"] * (len(drops) + 1)
    assert _warnings(tmp_path) == ["server_unreachable"] * len(PREFLIGHT_RETRY_DELAYS)


def test_a_server_that_keeps_dropping_ends_the_run_after_the_last_ask(tmp_path: Path) -> None:
    clock = VirtualClock()
    failed = pytest.raises(ConnectionFailedError, match="list of running jobs failed")
    with hostile_server(Answer(drop=True)) as server, failed as raised:
        _run(server.url, tmp_path, clock)
    assert raised.value.dropped
    assert len(server.received) == TRIES * (len(PREFLIGHT_RETRY_DELAYS) + 1)
    assert _warnings(tmp_path) == ["server_unreachable"] * len(PREFLIGHT_RETRY_DELAYS)


def test_a_refused_connection_ends_the_run_at_once(tmp_path: Path) -> None:
    # Nothing listens on the port: a wrong address, said before any wait.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = VirtualClock()
    started = clock.monotonic()
    with pytest.raises(ConnectionFailedError, match="connection refused") as raised:
        _run(f"http://127.0.0.1:{port}", tmp_path, clock)
    assert not raised.value.dropped
    assert clock.monotonic() == started, "no wait to ask again"
    assert _warnings(tmp_path) == []


def test_a_server_that_lets_the_call_time_out_ends_the_run_at_once(tmp_path: Path) -> None:
    # The call had its limits (here half a second a read): asking again would only wait
    # as long again, and mid-run the run's own patience takes over.
    clock = VirtualClock()
    started = clock.monotonic()
    limits = Timeout(connect=1, read=0.5, total=5)
    failed = pytest.raises(ConnectionFailedError, match="no answer within")
    with hostile_server(Answer(hang=True)) as server, failed as raised:
        _run(server.url, tmp_path, clock, limits)
    assert not raised.value.dropped
    assert clock.monotonic() == started, "no wait to ask again"
    assert _warnings(tmp_path) == []


def test_refused_credentials_end_the_run_at_once(tmp_path: Path) -> None:
    clock = VirtualClock()
    refusal = json_answer(401, '{"error": "bad credentials"}')
    with hostile_server(refusal) as server, pytest.raises(AuthenticationError):
        _run(server.url, tmp_path, clock)
    assert len(server.received) == 1
    assert _warnings(tmp_path) == []
