"""Run directories: names that never collide, ``latest`` pointers, the lock, archiving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.rundir import (
    LOCK_NAME,
    archive_run,
    create_run_dir,
    follow_pointer,
    locked,
    new_run_id,
    point_latest,
    refuse_reuse,
    resolve_run_dir,
)

NOW = datetime(2026, 11, 30, 19, 6, 22, 123456)


def test_run_ids_carry_the_millisecond_and_differ_within_it() -> None:
    ids = {new_run_id("nightly", NOW) for _ in range(50)}
    assert len(ids) > 1
    assert all(i.startswith("nightly-20261130T190622.123-") for i in ids)


def test_run_directories_are_created_exclusively(tmp_path: Path) -> None:
    made = [create_run_dir("nightly", tmp_path) for _ in range(200)]
    assert len(set(made)) == 200
    assert all(path.is_dir() and not any(path.iterdir()) for path in made)


@pytest.mark.parametrize(
    "symlink", [pytest.param(True, id="symlink"), pytest.param(False, id="file")]
)
def test_latest_pointer_follows_the_newest_run(tmp_path: Path, symlink: bool) -> None:
    first, second = (create_run_dir("nightly", tmp_path) for _ in range(2))
    point_latest(tmp_path, "latest", first, symlink=symlink)
    pointer = point_latest(tmp_path, "latest", second, symlink=symlink)
    assert pointer.is_symlink() is symlink
    assert follow_pointer(pointer).resolve() == second.resolve()
    assert resolve_run_dir(Path("latest"), tmp_path) == second.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name, "latest"])


def test_resume_names_are_paths_first_then_names_in_the_runs_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    run = create_run_dir("nightly", runs)
    monkeypatch.chdir(tmp_path)
    assert resolve_run_dir(Path(run.name), runs) == run.resolve()
    assert resolve_run_dir(run, runs) == run.resolve()
    with pytest.raises(UsageError, match="no run directory nope"):
        resolve_run_dir(Path("nope"), runs)


def test_a_text_file_that_is_not_a_pointer_is_left_alone(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"version": 1}\n')
    assert follow_pointer(report) == report


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    with locked(tmp_path, "nightly"):
        text = (tmp_path / LOCK_NAME).read_text()
        assert f"pid {os.getpid()}\n" in text
        assert "pipeline nightly" in text
        in_use = rf"is in use by pid {os.getpid()} \(started "
        with pytest.raises(UsageError, match=in_use), locked(tmp_path, "nightly"):
            pass
    with locked(tmp_path, "nightly"):  # released at the end of the block
        pass
    assert oct((tmp_path / LOCK_NAME).stat().st_mode & 0o777) == oct(0o600)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from runner.rundir import locked\n"
        "with locked(Path(sys.argv[1]), 'p'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(UsageError, match=f"in use by pid {holder.pid}"), locked(tmp_path, "p"):
        pass
    holder.kill()
    holder.communicate(timeout=30)
    with locked(tmp_path, "p"):
        pass


def test_reuse_is_refused_with_what_the_directory_holds(tmp_path: Path) -> None:
    refuse_reuse(tmp_path)  # empty: fine
    started = {
        "kind": "run_started",
        "at": "2026-11-30T19:06:22",
        "data": {"run_id": "r1", "pipeline": "p"},
    }
    (tmp_path / "journal.jsonl").write_text(
        json.dumps({"version": 1, "kind": "journal"}) + "\n" + json.dumps(started) + "\n"
    )
    with pytest.raises(UsageError) as caught:
        refuse_reuse(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path} holds run r1 (pipeline p, started 2026-11-30T19:06:22); use --resume "
        f"{tmp_path}, or a new --report-dir, or --force to archive it"
    )


def test_archiving_moves_everything_aside_and_deletes_nothing(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("pid 1\n")
    (tmp_path / "journal.jsonl").write_text("old journal\n")
    (tmp_path / "report.json").write_text("{}\n")
    (tmp_path / "notes").mkdir()
    first = archive_run(tmp_path, NOW)
    assert first == tmp_path / "previous-20261130T190622.123"
    assert sorted(p.name for p in first.iterdir()) == ["journal.jsonl", "notes", "report.json"]
    assert (first / "journal.jsonl").read_text() == "old journal\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_NAME, first.name]
    assert archive_run(tmp_path, NOW) is None  # nothing left to move
    (tmp_path / "journal.jsonl").write_text("second\n")
    second = archive_run(tmp_path, NOW)
    assert second == tmp_path / "previous-20261130T190622.123-2"
