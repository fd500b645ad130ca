"""A canary password never shows: not on stdout or stderr (``-v`` logs and tracebacks
included), not in report files or journals, not in exception text — across every command
and its failure paths.

The commands whose output is the point (a run, its interruption, the emulator, the slow
failures) run as real ``dmpipe -v`` processes; the many others run in-process through
``main(["-v", ...])``, their logs captured at DEBUG as ``-v`` would print them.
"""

from __future__ import annotations

import base64
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runner.commands.main import main
from testing.emulators import MakeEmulator
from testing.environment import CONNECTION_VARIABLES, closed_port_url, subprocess_env
from testing.processes import start_dmpipe
from testing.raw_http import call
from testing.scenarios import USER, artifact, scenario

pytestmark = pytest.mark.slow

CANARY = "Cnry-7fQ2-zX9p-4Lm"
# The forms a password leaks in: as written, and inside a Basic Authorization header.
LEAKS = (
    CANARY.encode(),
    base64.b64encode(f"{USER}:{CANARY}".encode()),
    base64.b64encode(CANARY.encode()).rstrip(b"="),
)

PIPELINE = """\
version: 1
name: {name}
mode: client
policies: {{poll_interval: 0.02s, max_poll_interval: 0.1s}}
{extra}jobs:
  first: {{file_id: {first}}}
  second: {{file_id: {second}, needs: [first]}}
"""


@dataclass
class Case:
    """One ``dmpipe -v`` invocation and the exit code that shows its path was taken."""

    name: str
    args: list[str]
    code: int
    url: str = ""
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    name: str
    expected: int
    code: int | None
    output: bytes


class Runner:
    """Runs cases in-process (sequentially) or as processes (in the background)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        self.monkeypatch, self.capsys, self.caplog = monkeypatch, capsys, caplog
        self.processes: list[tuple[Case, subprocess.Popen[str], str]] = []
        self.outcomes: list[Outcome] = []

    def in_process(self, case: Case) -> None:
        with self.monkeypatch.context() as patch:
            for name in CONNECTION_VARIABLES:
                patch.delenv(name, raising=False)
            for name, value in connection_env(case).items():
                patch.setenv(name, value)
            self.caplog.clear()
            code = main(["-v", *case.args])
        captured = self.capsys.readouterr()
        text = captured.out + captured.err + self.caplog.text
        self.outcomes.append(Outcome(case.name, case.code, code, text.encode()))

    def in_background(self, case: Case, before: str = "") -> subprocess.Popen[str]:
        env = subprocess_env(case.url, password=CANARY, **case.env)
        process = start_dmpipe("-v", *case.args, env=env)
        self.processes.append((case, process, before))
        return process

    def collect(self) -> list[Outcome]:
        for case, process, before in self.processes:
            out, err = process.communicate(timeout=90)
            output = (before + out + err).encode()
            self.outcomes.append(Outcome(case.name, case.code, process.returncode, output))
        self.processes.clear()
        return self.outcomes


def connection_env(case: Case) -> dict[str, str]:
    return {
        "DATAMEER_URL": case.url,
        "DATAMEER_USER": USER,
        "DATAMEER_PASSWORD": CANARY,
        "NETRC": "/nonexistent",
        "HOME": "/nonexistent",
        **case.env,
    }


def pipeline(folder: Path, name: str, first: int, second: int, extra: str = "") -> str:
    path = folder / f"{name}.yaml"
    text = PIPELINE.format(name=name, first=first, second=second, extra=extra)
    path.write_text(text, encoding="utf-8")
    return str(path)


def files_under(folder: Path, written: set[Path]) -> Iterator[Path]:
    """Every file dmpipe wrote below ``folder`` (not those the test wrote itself)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path not in written:
            yield path


def test_the_password_never_shows_anywhere(
    make_emulator: MakeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Each run its own artifacts, so that runs at the same time never wait for one another.
    artifacts = [artifact(i) for i in (1, 3, 4, 6, 7, 8, 9, 10)]
    artifacts += [artifact(2, outcomes=["ERROR"]), artifact(5, data_id=5)]
    artifacts += [artifact(11, duration=10_000)]
    canary_users = {"users": {USER: {"password": CANARY}}}
    good = make_emulator(scenario(*artifacts, clock="real", time_scale=100, **canary_users))
    other = make_emulator(scenario(*artifacts, users={USER: {"password": "not-the-canary"}}))
    broken = make_emulator(
        scenario(*artifacts, faults={"error_rate": 1.0}, clock="real", **canary_users)
    )
    folder = tmp_path / "work"
    folder.mkdir()
    ok = pipeline(folder, "ok", 1, 3)
    failing = pipeline(folder, "failing", 6, 2)
    background = pipeline(folder, "background", 9, 10)
    long_one = pipeline(folder, "long", 11, 1)
    literal = pipeline(folder, "literal", 1, 3, extra=f"server: {{password: {CANARY}}}\n")
    url_with_password = f"http://{USER}:{CANARY}@{good.url.removeprefix('http://')}"
    in_url = pipeline(folder, "in_url", 7, 8, extra=f"server: {{url: '{url_with_password}'}}\n")
    wrong_type = pipeline(folder, "wrong_type", 1, 3, extra=f"server: {{password: [{CANARY}]}}\n")
    offline = pipeline(
        folder,
        "offline",
        1,
        3,
        extra="emulator:\n  clock: real\n  time_scale: 100\n"
        f"  users: {{{USER}: {{password: {CANARY}}}}}\n"
        "  artifacts: [{file_id: 1, duration: 1}, {file_id: 3, duration: 1}]\n",
    )
    password_file = folder / "password"
    password_file.write_text(CANARY + "\n")
    netrc = folder / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {CANARY}\n")
    netrc.chmod(0o600)
    # A token the netrc parser rejects, and would quote in its own message.
    broken_netrc = folder / "broken_netrc"
    broken_netrc.write_text(f"machine 127.0.0.1 login {USER} password {CANARY}\n{CANARY} x\n")
    scenario_file = folder / "scenario.yaml"
    scenario_file.write_text(f"users: {{{USER}: {{password: {CANARY}}}}}\nartifacts: []\n")
    written = {Path(p) for p in (ok, failing, background, long_one, literal, in_url)}
    written |= {Path(wrong_type), Path(offline), password_file, netrc, broken_netrc, scenario_file}
    reports = tmp_path / "reports"
    closed = closed_port_url()

    def report(name: str) -> list[str]:
        return ["--report-dir", str(reports / name)]

    runner = Runner(monkeypatch, capsys, caplog)
    # Real processes, all at once: the slow failures (backoff), a run, the interrupt, the
    # emulator.
    runner.in_background(Case("run-unreachable", ["run", ok, *report("unreachable")], 3, closed))
    runner.in_background(Case("run-5xx", ["run", ok, *report("5xx")], 3, broken.url))
    runner.in_background(Case("run-process", ["run", background, *report("process")], 0, good.url))
    interrupt = runner.in_background(
        Case("run-interrupted", ["run", long_one, *report("interrupted")], 130, good.url)
    )
    emulator = runner.in_background(
        Case("emulator", ["emulator", "--port", "0", "--scenario", str(scenario_file)], 0)
    )
    no_password = {"DATAMEER_PASSWORD": ""}
    cases = [
        # dmpipe run: success, a failed job, refused, the URL in the file, offline, flags.
        Case("run-ok", ["run", ok, *report("ok")], 0, good.url),
        Case("run-failing", ["run", failing, *report("failing")], 1, good.url),
        Case("run-resume", ["run", "--resume", str(reports / "failing")], 1, good.url),
        Case("run-refused", ["run", ok, *report("refused")], 3, other.url),
        Case("run-url-in-file", ["run", in_url, *report("in-url")], 0, env=no_password),
        Case("run-offline", ["run", offline, "--emulator", *report("offline")], 0),
        Case("run-password-flag", ["run", ok, "--password", CANARY], 2, good.url),
        Case("run-password-flag=", ["run", ok, f"--password={CANARY}"], 2, good.url),
        Case("run-password-in---server", ["run", ok, "--server", url_with_password], 2),
        # dmpipe job: every endpoint, and its failures.
        Case("job-status", ["job", "status", "1"], 0, good.url),
        Case("job-status-v1", ["job", "status", "--v1", "1001", "--json"], 0, good.url),
        Case("job-history", ["job", "history", "1001"], 0, good.url),
        Case("job-details-missing", ["job", "details", "999999"], 2, good.url),
        Case("job-running", ["job", "running", "--json"], 0, good.url),
        Case("job-trigger", ["job", "trigger", "4"], 0, good.url),
        Case("job-sequence", ["job", "trigger-sequence", "4", "--var", "a=b"], 0, good.url),
        Case("job-stop", ["job", "stop", "4"], 0, good.url),
        Case("job-delete", ["job", "delete", "5"], 0, good.url),
        Case("job-refused", ["job", "status", "1"], 3, other.url),
        Case("job-unreachable", ["job", "running", "--retries", "0"], 3, closed),
        Case("job-5xx", ["job", "trigger", "1"], 3, broken.url),
        Case("job-password-flag", ["job", "--password", CANARY, "status", "1"], 2, good.url),
        Case("job-password-in---server", ["job", "status", "1", "--server", url_with_password], 2),
        # Every place a password may come from.
        Case("url-variable", ["job", "running"], 0, url_with_password, no_password),
        Case(
            "password-file",
            ["job", "running"],
            0,
            good.url,
            {**no_password, "DATAMEER_PASSWORD_FILE": str(password_file)},
        ),
        Case(
            "netrc",
            ["job", "running"],
            0,
            good.url,
            {**no_password, "DATAMEER_USER": "", "NETRC": str(netrc)},
        ),
        Case(
            "broken-netrc",
            ["job", "running"],
            2,
            good.url,
            {**no_password, "NETRC": str(broken_netrc)},
        ),
        # The commands that read a pipeline file, with a password in it in every wrong way.
        Case("validate", ["validate", literal, in_url, wrong_type], 2),
        Case("validate-json", ["validate", "--format", "json", literal, in_url, wrong_type], 2),
        Case("validate-github", ["validate", "--format", "github", literal, wrong_type], 2),
        Case("plan", ["plan", in_url], 0, env={"DATAMEER_URL": ""}),
        Case("plan-json", ["plan", "--json", in_url], 0, env={"DATAMEER_URL": ""}),
        Case("plan-curl", ["plan", "--curl", in_url], 0, env={"DATAMEER_URL": ""}),
        Case("plan-url-variable", ["plan", "--json", ok], 0, url_with_password),
        Case("plan-offline-json", ["plan", "--json", offline], 0),
        Case("plan-check-server", ["plan", ok, "--check-server"], 0, good.url),
        Case("plan-check-refused", ["plan", ok, "--check-server"], 3, other.url),
        Case("plan-password-flag", ["plan", ok, "--password", CANARY], 2),
        Case("graph", ["graph", in_url], 0),
    ]
    for case in cases:
        runner.in_process(case)
    # The background run of the long job is interrupted once it started it; the emulator
    # is asked once with the canary (and once without), then stopped.
    while not any(e.file_id == 11 for e in good.ledger.triggers()):
        time.sleep(0.005)
    interrupt.send_signal(signal.SIGINT)
    assert emulator.stdout is not None
    banner = emulator.stdout.readline()
    url = banner.split(" emulator at ")[1].split()[0]
    assert call(url, "GET", "/rest/jobs/list-running", auth=(USER, CANARY)).status_code == 200
    assert call(url, "GET", "/rest/jobs/list-running", auth=(USER, "x")).status_code == 401
    emulator.send_signal(signal.SIGINT)
    outcomes = runner.collect()

    wrong_codes = [(o.name, o.code, o.output[-300:]) for o in outcomes if o.code != o.expected]
    assert wrong_codes == [], "a case did not take the path it was written for"
    assert banner.startswith("Datameer ")
    assert sum(b"GET http" in o.output for o in outcomes) >= 20, "-v logs each HTTP call"
    scanned = {f"output of {o.name}": o.output for o in outcomes}
    scanned["the emulator's banner"] = banner.encode()
    scanned |= {str(p): p.read_bytes() for p in files_under(tmp_path, written)}
    assert sum(name.endswith("journal.jsonl") for name in scanned) >= 8
    assert sum(name.endswith("report.json") for name in scanned) >= 8
    leaked = {
        name: [leak.decode() for leak in LEAKS if leak in content]
        for name, content in scanned.items()
        if any(leak in content for leak in LEAKS)
    }
    assert leaked == {}
