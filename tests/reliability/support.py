"""Helpers of the reliability tests: pipeline files, the server environment, ``dmpipe`` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
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
    )
    env.update(extra)
    return env


def dmpipe_command(*args: str, module: str = "runner") -> list[str]:
    """The command line of a ``dmpipe`` child process (``python -m runner ARGS``)."""
    return [sys.executable, "-m", module, *args]


def start_dmpipe(
    *args: str, env: Mapping[str, str], module: str = "runner"
) -> subprocess.Popen[str]:
    """Start ``dmpipe ARGS`` with stdout and stderr captured as text."""
    return subprocess.Popen(
        dmpipe_command(*args, module=module),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_pipeline(
    path: Path,
    jobs: Iterable[tuple[str, int, tuple[str, ...], int]],
    *,
    policies: str = "{poll_interval: 0.02s, max_poll_interval: 0.1s, on_failure: continue}",
    extra: str = "",
) -> Path:
    """A pipeline file of ``(name, file_id, needs, retries)`` jobs, with fast retries."""
    lines = [
        "version: 1",
        f"name: {path.stem}",
        "mode: client",
        f"policies: {policies}",
        "defaults: {retry: {retries: 0, delay: 0.05s, backoff: 1, jitter: false}}",
        "jobs:",
    ]
    for name, file_id, needs, retries in jobs:
        after = f", needs: [{', '.join(needs)}]" if needs else ""
        retry = f", retry: {{retries: {retries}}}" if retries else ""
        lines.append(f"  {name}: {{file_id: {file_id}{after}{retry}}}")
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def effective_triggers(server: EmulatorServer) -> Counter[int]:
    """How many executions the emulator started per file id."""
    return Counter(
        e.file_id for e in server.ledger.triggers() if e.effective and e.file_id is not None
    )


def triggered_executions(server: EmulatorServer) -> list[int]:
    """The execution ids the emulator's triggers created, in order."""
    return [
        e.execution_id
        for e in server.ledger.triggers()
        if e.effective and e.execution_id is not None
    ]
