"""``dmpipe run`` killed with SIGKILL at seeded points, then ``dmpipe run --resume``.

The kill points are moments seen from outside the process: the emulator's ledger
showing the Nth trigger (right after a trigger), its stats showing the Nth poll
being answered slowly (mid-poll), the journal holding N lines (while writing it; a
torn last line is then added, as a power cut would leave).  After the resume the
run is complete, no job was triggered twice for one attempt, none was lost, and
the journal read back at every step.
"""

from __future__ import annotations

import json
import random
import signal
from pathlib import Path

import pytest

from runner.commands.main import main
from runner.emulator import EmulatorServer
from runner.engine.journal import JOURNAL_NAME, read_journal
from testing.emulators import MakeEmulator
from testing.environment import server_env, subprocess_env
from testing.ledger_counts import effective_triggers, triggered_executions
from testing.pipeline_files import write_pipeline
from testing.processes import journal_lines, kill_when, start_dmpipe
from testing.scenarios import artifact, scenario

pytestmark = pytest.mark.slow

# (name, file id, needs, retries): a diamond of eight, one job failing once then retried.
JOBS = [
    ("extract_a", 1, (), 0),
    ("extract_b", 2, (), 0),
    ("extract_c", 3, (), 0),
    ("join_ab", 4, ("extract_a", "extract_b"), 0),
    ("join_bc", 5, ("extract_b", "extract_c"), 1),
    ("report", 6, ("join_ab", "join_bc"), 0),
    ("archive", 7, ("join_bc",), 0),
    ("publish", 8, ("report", "archive"), 0),
]
ATTEMPTS = {name: 2 if name == "join_bc" else 1 for name, *_ in JOBS}
POLL_PATHS = ["/rest/jobs/list-running", "/rest/job-execution/job-details/*"]
# A resumed run waits this long for each trigger the dead one may have sent (default 30 s).
PATIENCE_SECONDS = 1.0


def emulator_for_crashes(make_emulator: MakeEmulator) -> EmulatorServer:
    artifacts = [artifact(file_id, duration=[15, 35]) for _, file_id, *_ in JOBS]
    artifacts[4] = artifact(5, duration=[15, 35], outcomes=["ERROR", "COMPLETED"])
    return make_emulator(scenario(*artifacts, clock="real", time_scale=100, seed=9))


def triggers(server: EmulatorServer, report_dir: Path) -> int:
    return len(triggered_executions(server))


def polls(server: EmulatorServer, report_dir: Path) -> int:
    return server.stats().get("GET /rest/jobs/list-running", 0)


def lines(server: EmulatorServer, report_dir: Path) -> int:
    return journal_lines(report_dir)


# What each kill point counts; the test's table says how many more to wait for.
KILL_POINTS = {"after_trigger": triggers, "mid_poll": polls, "journal_write": lines}


def kill_run(server: EmulatorServer, report_dir: Path, point: str, more: int, *args: str) -> None:
    """Start ``dmpipe run ARGS``; SIGKILL it once ``more`` more of ``point`` were seen."""
    count = KILL_POINTS[point]
    if point == "mid_poll":
        # Every poll answer takes 0.3 s: once the server counted one, the runner is inside it.
        server.set_faults(latency=[0.3, 0.3], paths=POLL_PATHS)
    target = count(server, report_dir) + more
    process = start_dmpipe("run", *args, env=subprocess_env(server.url))
    # The run's first list-running goes out before its journal records the run (a read,
    # nothing to resume yet): a kill point counts only once the run_started line is there
    # (the header is the first line).
    kill_when(
        process, lambda: journal_lines(report_dir) >= 2 and count(server, report_dir) >= target
    )
    server.set_faults()
    assert process.returncode == -signal.SIGKILL, f"the run ended before {point} {target}"


def tear_last_line(report_dir: Path, rng: random.Random) -> None:
    """Append half a record, as a crash in the middle of a write would leave it."""
    path = report_dir / JOURNAL_NAME
    last = path.read_bytes().splitlines()[-1]
    with path.open("ab") as journal:
        journal.write(last[: rng.randint(1, len(last) - 1)])


# (kill point, seeded range of how many more to wait for) for each successive run.
@pytest.mark.parametrize(
    ("seed", "kills"),
    [
        pytest.param(1, [("after_trigger", 1, 4)], id="after-a-trigger"),
        pytest.param(2, [("mid_poll", 1, 4)], id="mid-poll"),
        pytest.param(3, [("journal_write", 3, 25)], id="while-writing-the-journal"),
        pytest.param(
            4,
            [("journal_write", 3, 12), ("after_trigger", 1, 2), ("mid_poll", 1, 2)],
            id="killed-three-times",
        ),
    ],
)
def test_a_killed_run_resumes_without_duplicates_or_losses(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    seed: int,
    kills: list[tuple[str, int, int]],
) -> None:
    server = emulator_for_crashes(make_emulator)
    rng = random.Random(seed)
    report_dir = tmp_path / "report"
    pipeline = write_pipeline(tmp_path / "crash.yaml", JOBS)
    # Without status lag, a lost trigger's execution shows up at once or never: a short wait.
    patience = ["--lost-trigger-wait", str(PATIENCE_SECONDS)]
    args = [str(pipeline), "--report-dir", str(report_dir), *patience]
    for point, low, high in kills:
        kill_run(server, report_dir, point, rng.randint(low, high), *args)
        args = ["--resume", str(report_dir), *patience]
        if point == "journal_write":
            tear_last_line(report_dir, rng)
        read_journal(report_dir / JOURNAL_NAME)  # never corrupt: at worst a torn last line

    server_env(monkeypatch, server.url)
    code = main(["run", *args])

    assert code == 0, capsys.readouterr().err
    report = json.loads((report_dir / "report.json").read_text())
    assert {j["name"]: j["outcome"] for j in report["jobs"]} == dict.fromkeys(ATTEMPTS, "SUCCEEDED")
    assert {j["name"]: len(j["attempts"]) for j in report["jobs"]} == ATTEMPTS
    # No duplicate trigger, no lost execution: the report's executions are the ledger's.
    assert effective_triggers(server) == {file_id: ATTEMPTS[name] for name, file_id, *_ in JOBS}
    reported = sorted(a["execution_id"] for j in report["jobs"] for a in j["attempts"])
    assert reported == sorted(triggered_executions(server))
    assert not server.state.active()
    records = read_journal(report_dir / JOURNAL_NAME)
    assert records[-1]["kind"] == "run_finished"
