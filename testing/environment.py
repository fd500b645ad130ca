"""The environment of a ``dmpipe`` under test: a server URL and credentials, no netrc, no home."""

from __future__ import annotations

import os
import socket

import pytest

from testing.scenarios import PASSWORD, ROOT, USER

# Environment variables that would change how dmpipe connects: cleared for every test.
CONNECTION_VARIABLES = (
    "DATAMEER_URL",
    "DATAMEER_USER",
    "DATAMEER_PASSWORD",
    "DATAMEER_PASSWORD_FILE",
    "DATAMEER_CA_BUNDLE",
    "DATAMEER_INSECURE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


def server_env(
    monkeypatch: pytest.MonkeyPatch, url: str, password: str = PASSWORD, user: str = USER
) -> None:
    """Point ``dmpipe`` at ``url`` through the environment, with no netrc and no home."""
    for name in CONNECTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAMEER_URL", url)
    monkeypatch.setenv("DATAMEER_USER", user)
    monkeypatch.setenv("DATAMEER_PASSWORD", password)
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.setenv("HOME", "/nonexistent")


def subprocess_env(url: str, password: str = PASSWORD, **extra: str) -> dict[str, str]:
    """The environment of a ``dmpipe`` child process talking to ``url``."""
    env = {k: v for k, v in os.environ.items() if k not in CONNECTION_VARIABLES}
    env.update(
        DATAMEER_URL=url,
        DATAMEER_USER=USER,
        DATAMEER_PASSWORD=password,
        NETRC="/nonexistent",
        HOME="/nonexistent",
        PYTHONPATH=str(ROOT),
        # A child that hangs is sent SIGABRT (testing.processes.exit_within): faulthandler
        # then writes every thread's stack on its stderr.
        PYTHONFAULTHANDLER="1",
    )
    env.update(extra)
    return env


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"
