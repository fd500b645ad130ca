"""``dmpipe run --mode sequential`` killed with SIGKILL at seeded points, then ``--resume``.

After the resume every job succeeded, each artifact ran exactly as often as its
attempts need (one sequential trigger per attempt, no chain run twice), the
report's executions are the emulator's, and nothing is left running.
"""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from runner.engine.journal import JOURNAL_NAME, read_journal
from testing.emulators import MakeEmulator
from testing.environment import server_env, subprocess_env
from testing.ledger_counts import effective_triggers, triggered_executions
from testing.processes import journal_lines, kill_when, start_dmpipe
from testing.scenarios import artifact, scenario

pytestmark = pytest.mark.slow

UUID = "f8d450cd-f065-4abb-a232-27cd20c48c2b"
# import (file id) → categorize (path, never ran) → enrich (uuid, never ran) → export
PIPELINE = f"""\
version: 1
name: sequential-crash
mode: sequential
variables: {{run_date: "2026-11-28"}}
policies: {{poll_interval: 0.02s, max_poll_interval: 0.1s, on_failure: cancel}}
defaults: {{retry: {{retries: 0, delay: 0.05s, backoff: 1, jitter: false}}}}
jobs:
  import_logs: {{file_id: 1}}
  categorize: {{path: "/Analytics/Sales categorization", needs: [import_logs]{{retry}}}}
  enrich: {{uuid: {UUID}, needs: [categorize]}}
  export: {{file_id: 4, needs: [enrich]}}
"""
PATIENCE = ["--lost-trigger-wait", "1"]


def crash_emulator(make_emulator: MakeEmulator, fail_once: bool) -> EmulatorServer:
    outcomes = {"outcomes": ["ERROR", "COMPLETED"]} if fail_once else {}
    return make_emulator(
        scenario(
            artifact(1, name="import_logs", duration=[15, 35], downstream=[2]),
            artifact(2, name="categorize", path="/Analytics/Sales categorization",
                     duration=[15, 35], downstream=[3], **outcomes),
            artifact(3, name="enrich", uuid=UUID, duration=[15, 35], downstream=[4]),
            artifact(4, name="export", duration=[15, 35]),
            clock="real", time_scale=100, seed=5,
        )
    )  # fmt: skip


def finished(server: EmulatorServer) -> int:
    return sum(1 for e in server.state.executions() if e.status in ("COMPLETED", "ERROR"))


KILL_POINTS: dict[str, Callable[[EmulatorServer, Path], int]] = {
    "after_sequence": lambda server, _: len(server.ledger.triggers()),
    "mid_chain": lambda server, _: finished(server),
    "journal_write": lambda _, report_dir: journal_lines(report_dir),
}


def kill_run(server: EmulatorServer, report_dir: Path, point: str, more: int, *args: str) -> None:
    count = KILL_POINTS[point]
    target = count(server, report_dir) + more
    process = start_dmpipe("run", *args, env=subprocess_env(server.url))
    kill_when(process, lambda: count(server, report_dir) >= target)
    assert process.returncode == -signal.SIGKILL, f"the run ended before {point} {target}"


@pytest.mark.parametrize(
    ("seed", "fail_once", "kills"),
    [
        pytest.param(1, False, [("after_sequence", 1, 1)], id="right-after-the-trigger"),
        pytest.param(2, False, [("mid_chain", 1, 2)], id="mid-chain"),
        pytest.param(3, False, [("journal_write", 3, 12)], id="while-writing-the-journal"),
        pytest.param(4, True, [("mid_chain", 2, 3)], id="after-a-failure-before-its-retry"),
        pytest.param(5, True, [("journal_write", 3, 8), ("mid_chain", 1, 1)], id="killed-twice"),
    ],
)
def test_a_killed_sequential_run_resumes_without_running_the_chain_twice(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    seed: int,
    fail_once: bool,
    kills: list[tuple[str, int, int]],
) -> None:
    server = crash_emulator(make_emulator, fail_once)
    rng = random.Random(seed)
    report_dir = tmp_path / "report"
    retry = ", retry: {retries: 1}" if fail_once else ""
    pipeline = tmp_path / "crash.yaml"
    pipeline.write_text(PIPELINE.replace("{retry}", retry), encoding="utf-8")
    args = [str(pipeline), "--report-dir", str(report_dir), *PATIENCE]
    for point, low, high in kills:
        kill_run(server, report_dir, point, rng.randint(low, high), *args)
        args = ["--resume", str(report_dir), *PATIENCE]
        read_journal(report_dir / JOURNAL_NAME)

    server_env(monkeypatch, server.url)
    code = main(["run", *args])

    assert code == 0, capsys.readouterr().err
    report = json.loads((report_dir / "report.json").read_text())
    assert {j["name"]: j["outcome"] for j in report["jobs"]} == dict.fromkeys(
        ["import_logs", "categorize", "enrich", "export"], "SUCCEEDED"
    )
    expected = {1: 1, 2: 2, 3: 2, 4: 2} if fail_once else {1: 1, 2: 1, 3: 1, 4: 1}
    assert effective_triggers(server) == expected
    watched = {a["execution_id"] for j in report["jobs"] for a in j["attempts"]}
    succeeded = {e.execution_id for e in server.state.executions() if e.status == "COMPLETED"}
    assert succeeded <= watched
    assert watched <= set(triggered_executions(server))
    assert not server.state.active()
