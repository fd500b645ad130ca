"""Run directories: one run per directory, named so two runs never share one, locked while used.

A run directory holds one run's ``journal.jsonl`` and reports.  By default it is
``dmpipe-runs/<pipeline>-<YYYYmmddTHHMMSS.fff>-<random>/``, created exclusively,
and ``dmpipe-runs/latest`` and ``dmpipe-runs/<pipeline>-latest`` point at the
newest (a symlink, or a one-line text file where symlinks cannot be made).
While a run or a resume uses a directory it holds ``fcntl.flock`` on
``DIR/.lock``; the kernel releases it when the process dies, even by SIGKILL,
so no stale lock is ever left behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.engine.events import EventKind
from runner.errors import UsageError

RUNS_FOLDER = Path("dmpipe-runs")
LOCK_NAME = ".lock"
LATEST = "latest"
ARCHIVE_PREFIX = "previous-"
# What a directory holds once a run used it (journal.jsonl, report.json).
RUN_FILES = ("journal.jsonl", "report.json")
_POINTER_MAX_BYTES = 4096


def stamp(now: datetime) -> str:
    """``YYYYmmddTHHMMSS.fff``: sorts like the time, readable, safe in a file name."""
    return now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}"


def new_run_id(pipeline_name: str, now: datetime | None = None) -> str:
    """``<pipeline>-<time to the millisecond>-<4 random hex>``: unique even for runs started
    in the same millisecond on different machines sharing a folder."""
    return f"{pipeline_name}-{stamp(now or datetime.now())}-{secrets.token_hex(2)}"


def create_run_dir(pipeline_name: str, runs: Path = RUNS_FOLDER) -> Path:
    """A new, empty directory ``runs/<run id>``; never one another run created."""
    while True:
        directory = runs / new_run_id(pipeline_name)
        try:
            directory.mkdir(parents=True)
        except FileExistsError:
            continue  # the same millisecond and the same random suffix: draw again
        except OSError as error:
            raise _unusable(runs, error) from error
        return directory


def _unusable(directory: Path, error: OSError) -> UsageError:
    return UsageError(
        f"cannot use {directory} for a run: {error.strerror or error}; "
        "choose another folder with --report-dir"
    )


def latest_names(pipeline_name: str) -> tuple[str, str]:
    """The pointers a new run in the runs folder updates: the newest of any pipeline, and
    the newest of this pipeline."""
    return LATEST, f"{pipeline_name}-{LATEST}"


def point_latest(runs: Path, name: str, target: Path, *, symlink: bool = True) -> Path:
    """Make ``runs/name`` point at the run directory ``target``, atomically.

    A relative symlink where the file system allows one, else a text file holding the
    directory's name; either is replaced by a rename, so a reader never sees it missing.
    """
    pointer = runs / name
    temporary = runs / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    relative = os.path.relpath(target, runs)
    try:
        if symlink:
            try:
                temporary.symlink_to(relative, target_is_directory=True)
            except OSError:
                symlink = False
        if not symlink:
            temporary.write_text(relative + "\n", encoding="utf-8")
        temporary.replace(pointer)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return pointer


def follow_pointer(path: Path) -> Path:
    """``path`` itself, or the run directory a ``latest`` text-file pointer names."""
    if not path.is_file() or path.stat().st_size > _POINTER_MAX_BYTES:
        return path
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return path
    if not text or "\n" in text:
        return path
    target = path.parent / text
    return target if target.is_dir() else path


def resolve_run_dir(given: Path, runs: Path = RUNS_FOLDER) -> Path:
    """The run directory ``--resume`` names: a path, or a name in the runs folder
    (``latest``, ``nightly-latest``, ``nightly-20261130T…``); pointers are followed."""
    candidates = [given] if given.is_absolute() or given.exists() else [given, runs / given]
    for candidate in candidates:
        if candidate.exists():
            return follow_pointer(candidate).resolve()
    raise UsageError(
        f"--resume: no run directory {given}"
        + ("" if given.is_absolute() else f" (nor {runs / given})")
    )


@contextmanager
def locked(directory: Path, pipeline_name: str) -> Iterator[None]:
    """Hold the exclusive lock of ``directory`` (created if missing) for the ``with`` block.

    Raises UsageError naming the holder when another process has it.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise _unusable(directory, error) from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{directory} is in use by {_holder(descriptor)}") from None
        # Who holds it, for the message another process prints; the lock is the flock.
        holder = f"pid {os.getpid()}\nstarted {datetime.now().isoformat(timespec='seconds')}\n"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{holder}pipeline {pipeline_name}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # also releases the lock


def _holder(descriptor: int) -> str:
    """``pid N (started T)`` from a lock file's text; its writer may not have written it yet."""
    text = os.pread(descriptor, _POINTER_MAX_BYTES, 0).decode("utf-8", errors="replace")
    fields = dict(line.partition(" ")[::2] for line in text.splitlines() if " " in line)
    if "pid" not in fields:
        return "another dmpipe process (it is starting)"
    started = f" (started {fields['started']})" if "started" in fields else ""
    pipeline = f", running {fields['pipeline']}" if "pipeline" in fields else ""
    return f"pid {fields['pid']}{started}{pipeline}"


def holds_run(directory: Path) -> bool:
    """True when ``directory`` holds the journal or report of a run."""
    return any((directory / name).exists() for name in RUN_FILES)


def describe_run(directory: Path) -> str:
    """``run X (pipeline P, started T)`` for the run recorded in ``directory``."""
    started = _first_run_started(directory / RUN_FILES[0])
    if started is not None:
        data = started.get("data") or {}
        run_id = data.get("run_id") or "?"
        pipeline = data.get("pipeline") or "?"
        return f"run {run_id} (pipeline {pipeline}, started {started.get('at', '?')})"
    try:
        report = json.loads((directory / RUN_FILES[1]).read_text(encoding="utf-8"))
        pipeline = (report.get("pipeline") or {}).get("name", "?")
        return f"a run of {pipeline} (started {report.get('started_at', '?')})"
    except (OSError, ValueError, AttributeError):
        return "an earlier run"


def _first_run_started(journal: Path) -> dict[str, Any] | None:
    try:
        with journal.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("kind") == EventKind.RUN_STARTED:
                    return record
    except OSError:
        return None
    return None


def refuse_reuse(directory: Path) -> None:
    """Raise UsageError when a fresh run would write into a directory an earlier run used."""
    if holds_run(directory):
        raise UsageError(
            f"{directory} holds {describe_run(directory)}; use --resume {directory}, "
            "or a new --report-dir, or --force to archive it"
        )


def archive_run(directory: Path, now: datetime | None = None) -> Path | None:
    """Move everything an earlier run left in ``directory`` into ``directory/previous-<time>/``.

    Nothing is deleted; the lock file and earlier archives stay where they are.  Returns the
    archive, or None when there was nothing to move.
    """
    entries = [
        entry
        for entry in directory.iterdir()
        if entry.name != LOCK_NAME and not entry.name.startswith(ARCHIVE_PREFIX)
    ]
    if not entries:
        return None
    base = f"{ARCHIVE_PREFIX}{stamp(now or datetime.now())}"
    archive = directory / base
    number = 1
    while True:
        try:
            archive.mkdir(mode=0o700)
            break
        except FileExistsError:
            number += 1
            archive = directory / f"{base}-{number}"
    for entry in entries:
        entry.rename(archive / entry.name)
    return archive
