"""``dmpipe emulator`` in a child process, so the runner's CPU and memory are its own.

The emulator serves a scenario file on a free loopback port; the benchmark reads
its request counts, ledger and execution state through the private, uncounted
``/__emulator__/`` endpoints (docs/emulator.md).
"""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from workload import scenario_text

ROOT = Path(__file__).resolve().parent.parent
_URL = re.compile(r"emulator at (http://\S+)")
START_TIMEOUT = 60.0  # seconds: loading a 2,000-artifact scenario takes a moment


class EmulatorProcess:
    """An emulator child process serving ``scenario`` until the ``with`` block ends."""

    def __init__(self, scenario: Mapping[str, Any], folder: Path) -> None:
        self.scenario_path = folder / "scenario.json"
        self.scenario_path.write_text(scenario_text(scenario), encoding="utf-8")
        self.time_scale = float(scenario.get("time_scale", 1))
        self._process: subprocess.Popen[str] | None = None
        self._session = requests.Session()
        self.url = ""

    def __enter__(self) -> EmulatorProcess:
        command = [sys.executable, "-m", "runner", "emulator", "--port", "0"]
        command += ["--scenario", str(self.scenario_path)]
        self._process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.url = self._read_url(self._process)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._session.close()
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()  # SIGTERM: the emulator stops cleanly
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()

    @staticmethod
    def _read_url(process: subprocess.Popen[str]) -> str:
        """The URL of the banner line; the child's error when it never comes."""
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        line = process.stdout.readline() if readable else ""
        found = _URL.search(line)
        if found is None:
            process.kill()
            _, error = process.communicate()
            raise SystemExit(f"the emulator did not start: {line.strip()} {error[-2000:]}")
        return found.group(1)

    def _get(self, name: str) -> Any:
        response = self._session.get(f"{self.url}/__emulator__/{name}", timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, int]:
        """Requests received per endpoint, and ``total`` (private calls not counted)."""
        stats: dict[str, int] = self._get("stats")
        return stats

    def ledger(self) -> list[dict[str, Any]]:
        """Every trigger, stop and delete the emulator acted on, oldest first."""
        ledger: list[dict[str, Any]] = self._get("ledger")
        return ledger

    def executions(self) -> list[dict[str, Any]]:
        """Every execution with its emulated ``start_time`` and ``stop_time``."""
        executions: list[dict[str, Any]] = self._get("state")["executions"]
        return executions

    def clock_sync(self) -> tuple[float, float]:
        """A (wall time, emulated time) pair read at the same moment, within half a round trip."""
        before = time.time()
        # Advancing by 0 answers the emulated time without listing every execution.
        response = self._session.post(f"{self.url}/__emulator__/advance?seconds=0", timeout=30)
        after = time.time()
        response.raise_for_status()
        return (before + after) / 2, float(response.json()["now"])
