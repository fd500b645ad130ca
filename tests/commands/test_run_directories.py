"""Run directories through the real command line: one run per directory, resume only that run.

Every ``dmpipe`` here is a child process talking HTTP to an emulator; the assertions are
on exit codes, on the emulator's ledger (no duplicate trigger, nothing taken as done that
never ran) and on what each directory holds.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from runner.emulator import EmulatorServer
from runner.engine.journal import JOURNAL_NAME, read_journal
from testing.emulators import MakeEmulator
from testing.environment import subprocess_env
from testing.ledger_counts import effective_triggers, triggered_executions
from testing.processes import dmpipe_command
from testing.scenarios import artifact, scenario

pytestmark = pytest.mark.slow

POLICIES = "{poll_interval: 0.02s, max_poll_interval: 0.1s}"


def write_pipeline(path: Path, *jobs: tuple[str, int], mode: str = "client") -> Path:
    """A chain of ``(name, file_id)`` jobs, each needing the one before."""
    lines = [f"version: 1\nname: {path.stem}\nmode: {mode}\npolicies: {POLICIES}\njobs:"]
    for index, (name, file_id) in enumerate(jobs):
        after = f", needs: [{jobs[index - 1][0]}]" if index else ""
        lines.append(f"  {name}: {{file_id: {file_id}{after}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def emulator(make_emulator: MakeEmulator, *file_ids: int, duration: int = 50) -> EmulatorServer:
    """Jobs of ``duration`` emulated seconds on a clock 100 times faster than real time."""
    artifacts = [artifact(file_id, duration=duration) for file_id in file_ids]
    return make_emulator(scenario(*artifacts, clock="real", time_scale=100))


def start(server: EmulatorServer, cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        dmpipe_command("run", "--progress", "plain", *args),
        env=subprocess_env(server.url),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def dmpipe(server: EmulatorServer, cwd: Path, *args: str) -> tuple[int, str]:
    """Run ``dmpipe run ARGS`` to its end: (exit code, stderr)."""
    process = start(server, cwd, *args)
    err = process.communicate(timeout=120)[1]
    return process.returncode, err


def wait_for_triggers(server: EmulatorServer, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(triggered_executions(server)) < count and process.poll() is None:
        assert time.monotonic() < deadline, "no trigger seen"
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before the trigger was seen"


def reported_executions(report_dir: Path) -> list[int]:
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return [a["execution_id"] for j in report["jobs"] for a in j["attempts"]]


def outcomes(report_dir: Path) -> dict[str, str]:
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return {j["name"]: j["outcome"] for j in report["jobs"]}


def runs_started(report_dir: Path) -> int:
    """How many runs and resumes the directory's journal records."""
    records = read_journal(report_dir / JOURNAL_NAME)
    return sum(record.get("kind") == "run_started" for record in records)


def run_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir() and not p.is_symlink())


# 1 — two runs started at the same moment.
def test_two_runs_at_once_get_their_own_directories(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 2)
    pipeline = write_pipeline(tmp_path / "nightly.yaml", ("first", 1), ("second", 2))
    processes = [start(server, tmp_path, str(pipeline)) for _ in range(2)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in processes]

    assert [code for code, _ in results] == [0, 0], results
    runs = run_dirs(tmp_path / "dmpipe-runs")
    assert len(runs) == 2
    assert all(run.name.startswith("nightly-") for run in runs)
    for run in runs:
        assert runs_started(run) == 1
        assert (
            f"holds run {run.name} (pipeline nightly, started "
            in dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(run))[1]
        )
        assert outcomes(run) == {"first": "SUCCEEDED", "second": "SUCCEEDED"}
    # Each run reports its own executions, and together they are the ledger's.
    first, second = (set(reported_executions(run)) for run in runs)
    assert not first & second
    assert sorted(first | second) == sorted(triggered_executions(server))
    assert effective_triggers(server) == {1: 2, 2: 2}
    # Both pointers name the run that started last, whichever it was.
    latest = (tmp_path / "dmpipe-runs" / "latest").resolve()
    assert latest in [run.resolve() for run in runs]
    assert (tmp_path / "dmpipe-runs" / "nightly-latest").resolve() == latest
    show = subprocess.run(
        dmpipe_command("report", "show", "dmpipe-runs/latest"),
        env=subprocess_env(server.url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert show.returncode == 0, show.stderr
    assert "second" in show.stdout


# 2 — a fixed --report-dir reused by a fresh run.
def test_a_reused_report_dir_is_refused_and_force_archives_it(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 2, duration=300)
    pipeline = write_pipeline(tmp_path / "ci.yaml", ("first", 1), ("second", 2))
    report_dir = tmp_path / "out"
    killed = start(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    wait_for_triggers(server, 1, killed)
    killed.kill()
    killed.communicate(timeout=30)
    journal = (report_dir / JOURNAL_NAME).read_bytes()

    code, err = dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))

    assert code == 2, err
    assert f"{report_dir} holds run ci-" in err
    assert "(pipeline ci, started " in err
    assert "use --resume" in err
    assert "--force to archive it" in err
    assert "Traceback" not in err
    assert effective_triggers(server) == {1: 1}  # the refused run triggered nothing
    assert (report_dir / JOURNAL_NAME).read_bytes() == journal

    code, err = dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir), "--force")

    assert code == 0, err
    archives = [p for p in report_dir.iterdir() if p.name.startswith("previous-")]
    assert len(archives) == 1
    assert (archives[0] / JOURNAL_NAME).read_bytes() == journal  # moved aside, not deleted
    assert runs_started(report_dir) == 1
    assert outcomes(report_dir) == {"first": "SUCCEEDED", "second": "SUCCEEDED"}
    # The forced run ran every job itself: nothing taken as done from the archived run.
    assert sorted(reported_executions(report_dir)) == sorted(triggered_executions(server)[1:])


def test_a_killed_run_resumed_from_its_directory_triggers_nothing_twice(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 2, 3)
    pipeline = write_pipeline(tmp_path / "ci.yaml", ("a", 1), ("b", 2), ("c", 3))
    report_dir = tmp_path / "out"
    killed = start(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    wait_for_triggers(server, 2, killed)
    killed.kill()
    killed.communicate(timeout=30)

    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir), "--lost-trigger-wait", "1")

    assert code == 0, err
    assert effective_triggers(server) == {1: 1, 2: 1, 3: 1}
    assert sorted(reported_executions(report_dir)) == sorted(triggered_executions(server))
    assert stat.S_IMODE((report_dir / JOURNAL_NAME).stat().st_mode) == 0o600


# 3 — a resume while the original run still uses the directory.
def test_a_directory_in_use_is_refused_to_a_second_process(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 2, duration=300)
    pipeline = write_pipeline(tmp_path / "ci.yaml", ("first", 1), ("second", 2))
    report_dir = tmp_path / "out"
    original = start(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    wait_for_triggers(server, 1, original)

    resumed = dmpipe(server, tmp_path, "--resume", str(report_dir))
    fresh = dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir), "--force")
    forced = dmpipe(server, tmp_path, "--resume", str(report_dir), "--force")
    code, err = original.wait(timeout=120), original.communicate()[1]

    for second_code, second_err in (resumed, fresh, forced):
        assert second_code == 2, second_err
        assert f"{report_dir} is in use by pid {original.pid} (started " in second_err
        assert "Traceback" not in second_err
    assert code == 0, err
    assert effective_triggers(server) == {1: 1, 2: 1}
    assert sorted(reported_executions(report_dir)) == sorted(triggered_executions(server))
    assert not [p for p in report_dir.iterdir() if p.name.startswith("previous-")]


# 4 — resuming another pipeline's directory.
def test_resume_of_another_pipelines_directory_is_refused(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2),
            artifact(2, duration=2, outcomes=["ERROR", "COMPLETED"]),
            artifact(3, duration=2),
            clock="real",
            time_scale=100,
        )
    )
    a = write_pipeline(tmp_path / "a.yaml", ("load", 1), ("publish", 2))
    b = write_pipeline(tmp_path / "b.yaml", ("load", 3), ("publish", 2))
    report_dir = tmp_path / "out"
    assert dmpipe(server, tmp_path, str(a), "--report-dir", str(report_dir))[0] == 1

    code, err = dmpipe(server, tmp_path, str(b), "--resume", str(report_dir))

    assert code == 2, err
    assert f"it ran the file {a}, not {b}" in err
    assert "it ran pipeline a, not b" in err
    assert "job load ran file_id:1, now file_id:3" in err
    assert effective_triggers(server) == {1: 1, 2: 1}

    # --force: b's load (another artifact) runs afresh, publish (same artifact) is re-run
    # as it failed; nothing of a is taken as b's.
    code, err = dmpipe(server, tmp_path, str(b), "--resume", str(report_dir), "--force")

    assert code == 0, err
    assert effective_triggers(server) == {1: 1, 2: 2, 3: 1}
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    load = next(j for j in report["jobs"] if j["name"] == "load")
    assert load["resumed"] is False
    assert [a["execution_id"] for a in load["attempts"]] == [
        e.execution_id for e in server.ledger.triggers(3)
    ]


def test_resume_with_a_changed_job_or_another_server_is_refused(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 2, 4, duration=300)
    pipeline = write_pipeline(tmp_path / "p.yaml", ("first", 1), ("second", 2))
    report_dir = tmp_path / "out"
    killed = start(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    wait_for_triggers(server, 1, killed)
    killed.kill()
    killed.communicate(timeout=30)
    elsewhere = emulator(make_emulator, 1, 2)

    other = subprocess.run(
        dmpipe_command("run", "--resume", str(report_dir), "--force"),
        env=subprocess_env(elsewhere.url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    write_pipeline(pipeline, ("first", 1), ("second", 4))
    changed = dmpipe(server, tmp_path, "--resume", str(report_dir))

    assert other.returncode == 2, other.stderr
    assert f"it ran on {server.url.rstrip('/')}, not {elsewhere.url.rstrip('/')}" in other.stderr
    assert not elsewhere.ledger.triggers()
    assert changed[0] == 2, changed[1]
    assert "job second ran file_id:2, now file_id:4" in changed[1]
    assert effective_triggers(server) == {1: 1}

    # --force: first (unchanged) is re-attached to its execution, second runs on file 4.
    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir), "--force")

    assert code == 0, err
    assert effective_triggers(server) == {1: 1, 4: 1}
    assert sorted(reported_executions(report_dir)) == sorted(triggered_executions(server))


# 5 — resuming a run that already succeeded.
def test_resume_of_a_finished_run_does_nothing(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = emulator(make_emulator, 1, 2, duration=2)
    pipeline = write_pipeline(tmp_path / "done.yaml", ("first", 1), ("second", 2))
    assert dmpipe(server, tmp_path, str(pipeline))[0] == 0
    report = (tmp_path / "dmpipe-runs" / "latest" / "report.json").read_bytes()
    requests = sum(server.stats().values())

    code, err = dmpipe(server, tmp_path, "--resume", "latest")

    assert code == 0, err
    assert "already succeeded" in err
    assert "nothing to resume" in err
    assert sum(server.stats().values()) == requests  # not one call to the server
    assert effective_triggers(server) == {1: 1, 2: 1}
    assert (tmp_path / "dmpipe-runs" / "latest" / "report.json").read_bytes() == report


def test_resume_of_a_run_killed_after_its_last_job_writes_the_report_only(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, duration=2)
    pipeline = write_pipeline(tmp_path / "done.yaml", ("only", 1))
    report_dir = tmp_path / "out"
    assert dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))[0] == 0
    # As if killed after journaling the job's success, before the report and run_finished.
    journal = report_dir / JOURNAL_NAME
    kept = [line for line in journal.read_text().splitlines() if '"run_finished"' not in line]
    journal.write_text("\n".join(kept) + "\n")
    (report_dir / "report.json").unlink()
    requests = sum(server.stats().values())

    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir))

    assert code == 0, err
    assert sum(server.stats().values()) == requests
    assert outcomes(report_dir) == {"only": "SUCCEEDED"}
    assert reported_executions(report_dir) == triggered_executions(server)


def test_run_and_resume_by_the_latest_pointer(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2),
            artifact(2, duration=2, outcomes=["ERROR", "COMPLETED"]),
            clock="real",
            time_scale=100,
        )
    )
    pipeline = write_pipeline(tmp_path / "nightly.yaml", ("first", 1), ("second", 2))
    assert dmpipe(server, tmp_path, str(pipeline))[0] == 1

    code, err = dmpipe(server, tmp_path, "--resume", "nightly-latest")

    assert code == 0, err
    (run,) = run_dirs(tmp_path / "dmpipe-runs")
    assert outcomes(run) == {"first": "SUCCEEDED", "second": "SUCCEEDED"}
    assert Counter(e.file_id for e in server.ledger.triggers()) == {1: 1, 2: 2}
    assert stat.S_IMODE((run / JOURNAL_NAME).stat().st_mode) == 0o600
    assert (tmp_path / "dmpipe-runs" / "latest").readlink() == Path(run.name)


def test_force_names_an_execution_of_a_replaced_artifact_still_running(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = emulator(make_emulator, 1, 4, duration=300)
    pipeline = write_pipeline(tmp_path / "p.yaml", ("first", 1))
    report_dir = tmp_path / "out"
    killed = start(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    journal = report_dir / JOURNAL_NAME
    while not journal.exists() or b'"triggered"' not in journal.read_bytes():
        assert killed.poll() is None, "the run ended before journaling its trigger"
        time.sleep(0.01)
    killed.kill()
    killed.communicate(timeout=30)
    (old,) = triggered_executions(server)
    write_pipeline(pipeline, ("first", 4))

    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir), "--force")

    assert code == 0, err
    assert f"execution {old} of job first (file_id:1) may still be running" in err
    assert effective_triggers(server) == {1: 1, 4: 1}
    assert old not in reported_executions(report_dir)


def test_resume_of_a_finished_sequential_run_does_nothing(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2, downstream=[2]),
            artifact(2, duration=2),
            clock="real",
            time_scale=100,
        )
    )
    pipeline = write_pipeline(tmp_path / "chain.yaml", ("load", 1), ("publish", 2), mode="auto")
    with pipeline.open("a", encoding="utf-8") as file:
        file.write("variables: {run_date: '2026-11-30'}\n")
    report_dir = tmp_path / "out"
    code, err = dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))
    assert code == 0, err
    assert [e.action for e in server.ledger.triggers()] == ["sequence", "sequence"]
    sequences = len(server.ledger.triggers())
    requests = sum(server.stats().values())

    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir))

    assert code == 0, err
    assert "already succeeded" in err
    assert len(server.ledger.triggers()) == sequences
    assert sum(server.stats().values()) == requests


def test_resume_keeps_the_runs_selection(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2),
            artifact(2, duration=2, outcomes=["ERROR", "COMPLETED"]),
            clock="real",
            time_scale=100,
        )
    )
    pipeline = write_pipeline(tmp_path / "p.yaml", ("first", 1), ("second", 2))
    report_dir = tmp_path / "out"
    args = ("--report-dir", str(report_dir), "--select", "second")
    assert dmpipe(server, tmp_path, str(pipeline), *args)[0] == 1

    other = dmpipe(server, tmp_path, "--resume", str(report_dir), "--select", "first")
    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir))

    assert other[0] == 2, other[1]
    assert "it ran the selection --select second, not --select first" in other[1]
    assert code == 0, err
    assert effective_triggers(server) == {2: 2}  # first was never part of the run
    assert outcomes(report_dir) == {"second": "SUCCEEDED"}


def test_a_journal_without_identity_is_resumed_only_with_force_and_afresh(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    server = make_emulator(
        scenario(
            artifact(1, duration=2),
            artifact(2, duration=2, outcomes=["ERROR", "COMPLETED"]),
            clock="real",
            time_scale=100,
        )
    )
    pipeline = write_pipeline(tmp_path / "p.yaml", ("first", 1), ("second", 2))
    report_dir = tmp_path / "out"
    assert dmpipe(server, tmp_path, str(pipeline), "--report-dir", str(report_dir))[0] == 1
    # As an older dmpipe wrote it: run_started names the mode, the file and the jobs only.
    journal = report_dir / JOURNAL_NAME
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    for record in records:
        if record.get("kind") == "run_started":
            record["data"] = {k: record["data"][k] for k in ("mode", "resume", "file", "jobs")}
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))

    refused = dmpipe(server, tmp_path, "--resume", str(report_dir))
    code, err = dmpipe(server, tmp_path, "--resume", str(report_dir), "--force")
    again = dmpipe(server, tmp_path, "--resume", str(report_dir))

    assert refused[0] == 2, refused[1]
    assert "written by an older dmpipe" in refused[1]
    assert code == 0, err
    assert effective_triggers(server) == {1: 2, 2: 2}  # nothing taken over: all afresh
    assert again[0] == 0, again[1]
    assert "already succeeded" in again[1]
    assert effective_triggers(server) == {1: 2, 2: 2}


def test_an_emulator_run_cannot_be_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runner.commands.main import main

    report_dir = tmp_path / "report"
    quickstart = str(Path(__file__).resolve().parents[2] / "examples" / "quickstart.yaml")
    assert main(["run", quickstart, "--emulator", "--report-dir", str(report_dir)]) == 0
    capsys.readouterr()
    code = main(["run", "--resume", str(report_dir), "--emulator"])
    assert code == 2
    assert "ended with the run it served" in capsys.readouterr().err
