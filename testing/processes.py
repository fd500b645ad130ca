"""``dmpipe`` as a child process: starting it, and killing it at a moment seen from outside."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from runner.engine.journal import JOURNAL_NAME


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


def kill_when(process: subprocess.Popen[str], reached: Callable[[], bool]) -> None:
    """SIGKILL ``process`` as soon as ``reached()`` (or it exited by itself), and reap it."""
    try:
        while not reached() and process.poll() is None:
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate(timeout=30)


def exit_within(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait up to ``timeout`` s for ``process`` to exit; its stdout and stderr.

    One still running then fails the test with what it was doing: SIGABRT makes
    faulthandler (``PYTHONFAULTHANDLER``, which ``subprocess_env`` sets) write every
    thread's stack on its stderr, shown with the end of what it wrote before.
    """
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, err = reap(process, 30)
        raise AssertionError(
            f"dmpipe was still running {timeout:g}s later; its stderr, thread stacks last:\n"
            f"{(err or '')[-12_000:]}"
        ) from None
    return out or "", err or ""


def reap(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait up to ``timeout`` s for ``process`` to exit, then SIGKILL it; what it wrote on
    stdout and stderr."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out or "", err or ""


def journal_lines(report_dir: Path) -> int:
    """How many lines the run directory's journal holds (0 before it exists)."""
    try:
        return (report_dir / JOURNAL_NAME).read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0
