"""A canary password never shows: not on stdout or stderr (``-v`` logs and tracebacks
included), not in report files or journals, not in exception text — across every command
and its failure paths.  Every command runs as a real ``dmpipe`` process.
"""

from __future__ import annotations

import base64
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from runner.emulator import EmulatorServer
from testing.raw_http import call
from testing.scenarios import USER, artifact, scenario
from tests.reliability.support import (
    dmpipe_command,
    start_dmpipe,
    subprocess_env,
    triggered_executions,
)

MakeEmulator = Callable[..., EmulatorServer]

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
    """One ``dmpipe`` invocation and the exit code that shows its path was taken."""

    name: str
    args: list[str]
    code: int
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    password: str = CANARY


@dataclass
class Outcome:
    case: Case
    code: int
    output: bytes


def pipeline(folder: Path, name: str, first: int, second: int, extra: str = "") -> str:
    path = folder / f"{name}.yaml"
    text = PIPELINE.format(name=name, first=first, second=second, extra=extra)
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_case(case: Case) -> Outcome:
    env = subprocess_env(case.url, password=case.password, **case.env)
    done = subprocess.run(
        dmpipe_command("-v", *case.args), env=env, capture_output=True, timeout=90, check=False
    )
    return Outcome(case, done.returncode, done.stdout + done.stderr)


def interrupted_run(server: EmulatorServer, args: list[str]) -> Outcome:
    """``dmpipe -v run`` stopped by SIGINT once its first job is running."""
    process = start_dmpipe("-v", *args, env=subprocess_env(server.url, password=CANARY))
    deadline = time.monotonic() + 30
    while not triggered_executions(server) and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return Outcome(Case("run-interrupted", args, 130), process.returncode, (out + err).encode())


def emulator_session(scenario_file: Path) -> Outcome:
    """``dmpipe -v emulator`` serving a scenario with the canary, asked once, then stopped."""
    process = start_dmpipe(
        "-v", "emulator", "--port", "0", "--scenario", str(scenario_file), env=subprocess_env("")
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    url = banner.split(" emulator at ")[1].split()[0]
    assert call(url, "GET", "/rest/jobs/list-running", auth=(USER, CANARY)).status_code == 200
    assert call(url, "GET", "/rest/jobs/list-running", auth=(USER, "wrong")).status_code == 401
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    return Outcome(
        Case("emulator", ["emulator"], 0), process.returncode, (banner + out + err).encode()
    )


def files_under(folder: Path, written: set[Path]) -> Iterator[Path]:
    """Every file dmpipe wrote below ``folder`` (not those the test wrote itself)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path not in written:
            yield path


def test_the_password_never_shows_anywhere(make_emulator: MakeEmulator, tmp_path: Path) -> None:
    # Each run its own artifacts, so that runs in parallel never wait for one another.
    artifacts = [artifact(i) for i in (1, 3, 4, 6, 7, 8)]
    artifacts += [artifact(2, outcomes=["ERROR"]), artifact(5, data_id=5)]
    canary_users = {"users": {USER: {"password": CANARY}}}
    good = make_emulator(scenario(*artifacts, clock="real", time_scale=100, **canary_users))
    other = make_emulator(scenario(*artifacts, users={USER: {"password": "not-the-canary"}}))
    broken = make_emulator(
        scenario(*artifacts, faults={"error_rate": 1.0}, clock="real", **canary_users)
    )
    slow = make_emulator(
        scenario(artifact(1, duration=10_000), artifact(3), clock="real", **canary_users)
    )
    folder = tmp_path / "work"
    folder.mkdir()
    ok = pipeline(folder, "ok", 1, 3)
    failing = pipeline(folder, "failing", 6, 2)
    literal = pipeline(folder, "literal", 1, 3, extra=f"server: {{password: {CANARY}}}\n")
    in_url = pipeline(
        folder, "in_url", 7, 8, extra=f"server: {{url: 'http://{USER}:{CANARY}@{good.url[7:]}'}}\n"
    )
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
    broken_netrc = folder / "broken_netrc"
    # A token the parser rejects, and would quote in its message.
    broken_netrc.write_text(f"machine 127.0.0.1 login {USER} password {CANARY}\n{CANARY} x\n")
    scenario_file = folder / "scenario.yaml"
    scenario_file.write_text(f"users: {{{USER}: {{password: {CANARY}}}}}\nartifacts: []\n")
    written = {Path(p) for p in (ok, failing, literal, in_url, wrong_type, offline)}
    written |= {password_file, netrc, broken_netrc, scenario_file}
    closed = f"http://127.0.0.1:{_closed_port()}"
    reports = tmp_path / "reports"

    def report(name: str) -> list[str]:
        return ["--report-dir", str(reports / name)]

    no_password = {"DATAMEER_PASSWORD": ""}
    cases = [
        # dmpipe run: success, a failed job, its resume, refused, unreachable, 5xx, offline.
        Case("run-ok", ["run", ok, *report("ok")], 0, url=good.url),
        Case("run-failing", ["run", failing, *report("failing")], 1, url=good.url),
        Case("run-refused", ["run", ok, *report("refused")], 3, url=other.url),
        Case("run-unreachable", ["run", ok, *report("unreachable")], 3, url=closed),
        Case("run-5xx", ["run", ok, *report("5xx")], 3, url=broken.url),
        Case("run-url-in-file", ["run", in_url, *report("in-url")], 0, env=no_password),
        Case("run-offline", ["run", offline, "--emulator", *report("offline")], 0),
        Case("run-password-flag", ["run", ok, "--password", CANARY], 2, url=good.url),
        Case("run-password-flag=", ["run", ok, f"--password={CANARY}"], 2, url=good.url),
        Case(
            "run-password-in-server-flag",
            ["run", ok, "--server", f"http://{USER}:{CANARY}@127.0.0.1:1"],
            2,
        ),
        # dmpipe job: every endpoint, and its failures.
        Case("job-status", ["job", "status", "1"], 0, url=good.url),
        Case("job-status-v1", ["job", "status", "--v1", "1001", "--json"], 0, url=good.url),
        Case("job-history", ["job", "history", "1001"], 0, url=good.url),
        Case("job-details-missing", ["job", "details", "999999"], 2, url=good.url),
        Case("job-running", ["job", "running", "--json"], 0, url=good.url),
        Case("job-trigger", ["job", "trigger", "4"], 0, url=good.url),
        Case("job-sequence", ["job", "trigger-sequence", "4", "--var", "a=b"], 0, url=good.url),
        Case("job-stop", ["job", "stop", "4"], 0, url=good.url),
        Case("job-delete", ["job", "delete", "5"], 0, url=good.url),
        Case("job-refused", ["job", "status", "1"], 3, url=other.url),
        Case("job-unreachable", ["job", "running", "--retries", "0"], 3, url=closed),
        Case("job-5xx", ["job", "trigger", "1"], 3, url=broken.url),
        Case("job-password-flag", ["job", "--password", CANARY, "status", "1"], 2, url=good.url),
        Case(
            "job-password-in-server-flag",
            ["job", "status", "1", "--server", f"http://{USER}:{CANARY}@127.0.0.1:1"],
            2,
        ),
        # Every place a password may come from.
        Case(
            "job-password-in-url-variable",
            ["job", "running"],
            0,
            url=good.url.replace("://", f"://{USER}:{CANARY}@"),
            env=no_password,
        ),
        Case(
            "job-password-file",
            ["job", "running"],
            0,
            url=good.url,
            env={**no_password, "DATAMEER_PASSWORD_FILE": str(password_file)},
        ),
        Case(
            "job-netrc",
            ["job", "running"],
            0,
            url=good.url,
            env={**no_password, "DATAMEER_USER": "", "NETRC": str(netrc)},
        ),
        Case(
            "job-broken-netrc",
            ["job", "running"],
            2,
            url=good.url,
            env={**no_password, "NETRC": str(broken_netrc)},
        ),
        # The commands that read a pipeline file, with a password in it in every wrong way.
        Case("validate-literal", ["validate", literal, in_url, wrong_type], 2),
        Case("validate-json", ["validate", "--format", "json", literal, in_url, wrong_type], 2),
        Case("plan", ["plan", in_url], 0),
        Case("plan-json", ["plan", "--json", in_url], 0),
        Case("plan-curl", ["plan", "--curl", in_url], 0),
        Case("plan-offline-json", ["plan", "--json", offline], 0),
        Case("plan-check-server", ["plan", ok, "--check-server"], 0, url=good.url),
        Case("plan-check-refused", ["plan", ok, "--check-server"], 3, url=other.url),
        Case("plan-password-flag", ["plan", ok, "--password", CANARY], 2),
        Case("graph", ["graph", in_url], 0),
    ]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(run_case, cases))
    resumed = run_case(
        Case("run-resume", ["run", "--resume", str(reports / "failing")], 1, url=good.url)
    )
    outcomes += [
        resumed,
        interrupted_run(slow, ["run", ok, *report("interrupted")]),
        emulator_session(scenario_file),
    ]

    wrong_codes = [
        (o.case.name, o.code, o.output[-300:]) for o in outcomes if o.code != o.case.code
    ]
    assert wrong_codes == [], "a case did not take the path it was written for"
    scanned = {f"output of {o.case.name}": o.output for o in outcomes}
    scanned |= {str(p): p.read_bytes() for p in files_under(tmp_path, written)}
    assert any(name.endswith("journal.jsonl") for name in scanned)
    assert any(name.endswith("report.json") for name in scanned)
    leaked = {
        name: [leak.decode() for leak in LEAKS if leak in content]
        for name, content in scanned.items()
        if any(leak in content for leak in LEAKS)
    }
    assert leaked == {}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
