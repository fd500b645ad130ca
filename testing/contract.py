"""Judging a dmpipe run by the server's ledger: the run contract C1–C4 (docs, issue 10).

``judge(record, report, user, exit_code)`` compares what the emulator did (its ledger
and its executions) with what dmpipe's report.json says, and returns a ``Verdict``
whose ``violations()`` name each broken clause in one line. The tests of
tests/reliability/test_contract_*.py and ``bench/signal_trials.py`` share it.

- C1 at most once: per artifact, the executions this run's user triggered never outnumber
  the report's attempts that name an execution (or say that a trigger's outcome stayed
  unknown: an execution the server never showed cannot be named).
- C2 nothing left behind: when dmpipe returned, every execution it triggered is final or a
  stop reached the server for it; no other user's execution was stopped by this run.
- C3 no false success: exit 0 only if every job has a successful execution of its own
  artifact on the server, and every SUCCEEDED job's execution is one.
- C4 report = server: every execution this run caused is in the report under the job of its
  artifact, with the server's final status once the report calls it final.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from runner.emulator import EmulatorServer
from testing.processes import reap

ROOT = Path(__file__).resolve().parent.parent

ACTIVE = ("QUEUED", "WAITING_FOR_OTHER_JOB", "RUNNING")
SUCCESSES = ("COMPLETED", "COMPLETED_WITH_WARNINGS")
STOP_ACTIONS = ("stop", "legacy_stop")
TRIGGER_ACTIONS = ("trigger", "legacy_trigger", "sequence")


@dataclass(frozen=True)
class ServerRecord:
    """What the server did and shows: its ledger and every execution, as JSON."""

    ledger: list[dict[str, Any]]
    executions: list[dict[str, Any]]

    def status(self, execution_id: int) -> str | None:
        """The execution's status now ("null" for a JSON null one), None when unknown."""
        for execution in self.executions:
            if execution["execution_id"] == execution_id:
                return str(execution["status"])
        return None

    def file_of(self, execution_id: int) -> int | None:
        """The artifact an execution ran."""
        for execution in self.executions:
            if execution["execution_id"] == execution_id:
                return int(execution["file_id"])
        return None


def server_record(server: EmulatorServer) -> ServerRecord:
    """The record of an in-process emulator."""
    return ServerRecord(server.ledger.to_json(), [e.to_json() for e in server.state.executions()])


def fetch_server_record(url: str, timeout: float = 10.0) -> ServerRecord:
    """The record of an emulator in another process, over its private endpoints."""

    def get(name: str) -> Any:
        answer = requests.get(f"{url}/__emulator__/{name}", timeout=timeout)
        answer.raise_for_status()
        return answer.json()

    return ServerRecord(get("ledger"), get("state")["executions"])


def read_report(report_dir: Path) -> dict[str, Any] | None:
    """report.json of a run, or None when there is none (or it is not JSON)."""
    try:
        report: dict[str, Any] = json.loads((report_dir / "report.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return report


@dataclass(frozen=True)
class Verdict:
    """How a run measured against C1–C4; empty lists mean the clause held."""

    duplicates: Mapping[int, int]  # file id → executions beyond the report's attempts
    orphans: Sequence[int]  # this run's executions still active, no stop ever sent
    others_stopped: Sequence[int]  # executions this run's stops cancelled but it never started
    false_successes: Sequence[str]
    mismatches: Sequence[str]
    missing_report: bool
    run_executions: Mapping[int, int] = field(default_factory=dict)  # execution → file id

    @property
    def duplicate_count(self) -> int:
        """Executions beyond one per attempt, over every artifact."""
        return sum(self.duplicates.values())

    def violations(self) -> list[str]:
        """One line per broken clause, for an assertion message."""
        lines = [
            f"C1: file {f}: {n} execution(s) beyond the report's attempts"
            for f, n in sorted(self.duplicates.items())
            if n
        ]
        lines += [f"C2: execution {e} left active with no stop sent" for e in self.orphans]
        lines += [f"C2: another user's execution {e} was stopped" for e in self.others_stopped]
        lines += [f"C3: {line}" for line in self.false_successes]
        lines += [f"C4: {line}" for line in self.mismatches]
        if self.missing_report:
            lines.append("C4: no report.json")
        return lines


def judge(
    record: ServerRecord, report: Mapping[str, Any] | None, user: str, exit_code: int | None
) -> Verdict:
    """Measure one run (``user`` is who dmpipe logged in as) against the contract."""
    mine = run_executions(record.ledger, user)
    stopped_by_run = _stopped_by(record.ledger, user)
    attempts = _attempts(report)
    return Verdict(
        duplicates=_duplicates(mine, attempts, report is not None),
        orphans=[
            e
            for e in mine
            if record.status(e) in ACTIVE and e not in _stops_sent(record.ledger, user, mine[e])
        ],
        others_stopped=sorted(stopped_by_run - set(mine)),
        false_successes=_false_successes(record, report, mine, exit_code),
        mismatches=_mismatches(record, mine, attempts),
        missing_report=report is None,
        run_executions=mine,
    )


def run_executions(ledger: Sequence[Mapping[str, Any]], user: str) -> dict[int, int]:
    """Execution id → file id of every execution ``user`` triggered through the API."""
    return {
        int(e["execution_id"]): int(e["file_id"])
        for e in ledger
        if e["action"] in TRIGGER_ACTIONS
        and e["effective"]
        and e["user"] == user
        and e.get("via", "api") == "api"
        and e["execution_id"] is not None
    }


@dataclass(frozen=True)
class _Attempt:
    job: str
    file_id: int | None
    number: int
    execution_id: int | None
    status: str | None
    stop_requested: bool
    # A trigger whose outcome stayed unknown: the report says an execution may exist.
    unknown: bool = False


def _attempts(report: Mapping[str, Any] | None) -> list[_Attempt]:
    if report is None:
        return []
    found = []
    for job in report.get("jobs", []):
        file_id = job_file_id(job)
        for attempt in job.get("attempts", []):
            raw = attempt.get("raw_status") or attempt.get("status")
            found.append(
                _Attempt(
                    job=str(job["name"]),
                    file_id=None if file_id is None else int(file_id),
                    number=int(attempt.get("number", 0)),
                    execution_id=attempt.get("execution_id"),
                    status=None if raw is None else _normal(raw),
                    stop_requested=bool(attempt.get("stop_requested")),
                    unknown=attempt.get("execution_id") is None
                    and bool(attempt.get("left_running")),
                )
            )
    return found


def job_file_id(job: Mapping[str, Any]) -> int | None:
    """The file id a report's job ran: as resolved, else its ``file_id`` reference."""
    if job.get("file_id") is not None:
        return int(job["file_id"])
    ref = job.get("ref") or {}
    return int(ref["value"]) if ref.get("kind") == "file_id" else None


def _normal(status: object) -> str:
    return "null" if status is None else str(status).upper()


def _duplicates(
    mine: Mapping[int, int], attempts: Sequence[_Attempt], have_report: bool
) -> dict[int, int]:
    per_file = Counter(mine.values())
    if not have_report:  # without a report, count executions beyond one per artifact
        return {f: n - 1 for f, n in per_file.items() if n > 1}
    with_id = Counter(a.file_id for a in attempts if a.execution_id is not None or a.unknown)
    return {f: n - with_id[f] for f, n in per_file.items() if n > with_id[f]}


def _stops_sent(ledger: Sequence[Mapping[str, Any]], user: str, file_id: int) -> set[int]:
    """Executions of ``file_id`` a stop by ``user`` named or cancelled."""
    sent: set[int] = set()
    for entry in ledger:
        if entry["action"] in STOP_ACTIONS and entry["user"] == user:
            sent.update(int(i) for i in entry.get("stopped") or ())
            if entry["execution_id"] is not None:
                sent.add(int(entry["execution_id"]))
    return sent


def _stopped_by(ledger: Sequence[Mapping[str, Any]], user: str) -> set[int]:
    return {
        int(i)
        for e in ledger
        if e["action"] in STOP_ACTIONS and e["user"] == user
        for i in e.get("stopped") or ()
    }


def _false_successes(
    record: ServerRecord,
    report: Mapping[str, Any] | None,
    mine: Mapping[int, int],
    exit_code: int | None,
) -> list[str]:
    if report is None:
        return ["exit 0 without a report"] if exit_code == 0 else []
    lines = []
    for job in report.get("jobs", []):
        file_id = job_file_id(job)
        ok = [e for e, f in mine.items() if f == file_id and record.status(e) in SUCCESSES]
        if exit_code == 0 and not ok:
            lines.append(f"exit 0 but job {job['name']} has no successful execution of its own")
        if job.get("outcome") == "SUCCEEDED":
            last = (job.get("attempts") or [{}])[-1].get("execution_id")
            if last is None or record.file_of(int(last)) != file_id:
                lines.append(f"job {job['name']} SUCCEEDED with execution {last}, not its own")
            elif record.status(int(last)) not in SUCCESSES:
                lines.append(
                    f"job {job['name']} SUCCEEDED but execution {last} is "
                    f"{record.status(int(last))} on the server"
                )
    return lines


def _mismatches(
    record: ServerRecord, mine: Mapping[int, int], attempts: Sequence[_Attempt]
) -> list[str]:
    lines = []
    by_execution = {a.execution_id: a for a in attempts if a.execution_id is not None}
    # Executions the report could not name: each may be an attempt it reports as unknown.
    unknown = Counter(a.file_id for a in attempts if a.unknown)
    for execution, file_id in sorted(mine.items()):
        attempt = by_execution.get(execution)
        server = record.status(execution)
        if attempt is None and unknown[file_id] > 0:
            unknown[file_id] -= 1
            continue
        if attempt is None:
            lines.append(f"execution {execution} (file {file_id}, {server}) is not in the report")
            continue
        if attempt.file_id != file_id:
            lines.append(
                f"{attempt.job} #{attempt.number} names execution {execution} of file {file_id}"
            )
        if server not in ACTIVE and attempt.status != _normal(server):
            if (attempt.status in ACTIVE or attempt.status is None) and attempt.stop_requested:
                continue  # the report says a stop was sent and not yet confirmed
            lines.append(
                f"{attempt.job} #{attempt.number}: report says {attempt.status}, "
                f"the server {server} (execution {execution})"
            )
    for execution_id, attempt in sorted(by_execution.items()):
        if execution_id not in mine:
            lines.append(
                f"{attempt.job} #{attempt.number} names execution {execution_id}, "
                "which this run did not trigger"
            )
    return lines


# -- running dmpipe ----------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """How a dmpipe child process ended: ``code`` None when it had to be killed."""

    code: int | None
    stderr: str
    exit_seconds: float | None = None  # signal → exit, when a signal was sent
    hung: bool = False


def finish(
    process: subprocess.Popen[str],
    *,
    timeout: float,
    send: signal.Signals | None = None,
) -> Finished:
    """Optionally signal ``process``, then wait up to ``timeout`` s for it to exit.

    A process still alive then gets SIGINT, 10 s, then SIGKILL: ``hung`` is True.
    """
    sent = time.monotonic()
    if send is not None:
        process.send_signal(send)
    try:
        _, err = process.communicate(timeout=timeout)
        latency = time.monotonic() - sent if send is not None else None
        return Finished(process.returncode, err, latency)
    except subprocess.TimeoutExpired:
        pass
    process.send_signal(signal.SIGINT)
    _, err = reap(process, 10)
    return Finished(None, err, None, hung=True)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` every 10 ms until it holds or ``timeout`` real seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def dmpipe_env(url: str, user: str, password: str, **extra: str) -> dict[str, str]:
    """A child's environment talking to ``url``: credentials only there, never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAMEER_", "REQUESTS_"))}
    env.update(
        DATAMEER_URL=url,
        DATAMEER_USER=user,
        DATAMEER_PASSWORD=password,
        NETRC="/nonexistent",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def start_run(
    pipeline: Path | None, report_dir: Path, env: Mapping[str, str], *extra: str
) -> subprocess.Popen[str]:
    """``dmpipe run PIPELINE --report-dir DIR EXTRA...`` as a child with captured output."""
    args = [sys.executable, "-m", "runner", "run"]
    args += [str(pipeline)] if pipeline is not None else []
    args += ["--report-dir", str(report_dir), "--progress", "plain", *extra]
    return subprocess.Popen(
        args,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )


def _default_signals() -> None:
    """Give the child default SIGINT/SIGHUP handling, even when started under ``nohup`` or
    in the background (which ignore them): it must meet the signals a terminal sends."""
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
