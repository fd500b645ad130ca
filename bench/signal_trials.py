"""Randomized signal trials: does dmpipe keep the run contract when interrupted at any moment?

Each trial starts ``dmpipe emulator`` (a child process, faults on: 5xx, dropped
connections, lost trigger answers, latency) and ``dmpipe run`` against it with a fresh
report directory, sends a signal at a seeded random moment, and then judges the run by
the emulator's ledger (``testing.contract.judge``):

- duplicates: executions beyond one per attempt of the report (C1);
- orphans: executions the run triggered, still active with no stop sent, a moment after
  dmpipe exited (C2);
- mismatches: executions the report misses or misstates (C4), missing reports;
- exit latency: signal → process exit, and the exit code (C5: 130).

``KILL`` trials send SIGKILL, then ``dmpipe run --resume DIR``: the resume must adopt
what was in flight (0 duplicates, 0 orphans once it finished). ``--kind same-dir`` starts
two runs at once into one report directory (duplicates, jobs never run);
``--kind reused-dir`` runs into a directory holding an old run's journal, kills it and
resumes. Prints a table per suite; exits 1 when a count that must be 0 is not.

    python bench/signal_trials.py --signals INT,TERM,HUP,KILL --trials 20 --seed 1
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emulator_process import EmulatorProcess
from figures import print_table, spread, write_json
from workload import USER, Workload, layered, pipeline_yaml, scenario

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.contract import (  # noqa: E402 - after the repository root is importable
    ServerRecord,
    Verdict,
    dmpipe_env,
    finish,
    judge,
    read_report,
    start_run,
)

PASSWORD = USER  # the emulator's well-known login (admin/admin), never a real secret
SIGNALS = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP, "KILL": None}
FAULTS = {
    "error_rate": 0.05,
    "drop_rate": 0.03,
    "lost_trigger_rate": 0.15,
    "latency": {"min": 0, "max": 0.05},
}
EXIT_GUARD = 60.0  # real seconds a signalled run may take before it counts as hung
RUN_GUARD = 180.0  # real seconds a whole (resumed) run may take
SETTLE = 0.5  # real seconds between dmpipe's exit and reading the ledger
JOURNAL = "journal.jsonl"
# Counts that must be 0 in every suite.
MUST_BE_ZERO = (
    "duplicates",
    "orphans",
    "others_stopped",
    "mismatches",
    "false_successes",
    "missing_reports",
    "hung",
    "wrong_exit",
    "never_run",
)


@dataclass
class Trial:
    """One trial's figures."""

    kind: str
    signal: str
    seed: int
    delay: float  # real seconds from start to the signal
    exit_code: int | None = None
    exit_seconds: float | None = None
    finished_first: bool = False  # dmpipe had exited before the signal was due
    killed_before_journal: bool = False  # SIGKILL before the run wrote its journal
    duplicates: int = 0
    orphans: int = 0
    orphans_at_kill: int = 0  # SIGKILL: left behind before the resume (informational)
    others_stopped: int = 0
    mismatches: int = 0
    false_successes: int = 0
    missing_reports: int = 0
    hung: int = 0
    wrong_exit: int = 0
    never_run: int = 0
    notes: list[str] = field(default_factory=list)


def workload(seed: int) -> Workload:
    """Nine jobs on three levels, 20–60 emulated seconds each."""
    return layered(3, 3, durations=(20.0, 60.0), fan_in=(1, 2), seed=seed)


def trial_scenario(work: Workload, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    served = scenario(work, time_scale=args.time_scale, downstream=args.mode == "sequential")
    served["faults"] = {**FAULTS, "seed": seed}
    return served


def write_files(work: Workload, folder: Path, args: argparse.Namespace) -> Path:
    pipeline = folder / "pipeline.yaml"
    interval = 1.0 / args.time_scale
    text = pipeline_yaml(
        work, poll_interval=interval, max_poll_interval=4 * interval, mode=args.mode
    )
    pipeline.write_text(text, encoding="utf-8")
    return pipeline


def record_of(emulator: EmulatorProcess, after_seq: int = 0) -> ServerRecord:
    """The emulator's ledger (entries after ``after_seq``) and executions."""
    ledger = [e for e in emulator.ledger() if e["seq"] > after_seq]
    return ServerRecord(ledger, emulator.executions())


def score(trial: Trial, verdict: Verdict, *, orphans_field: str = "orphans") -> None:
    trial.duplicates += verdict.duplicate_count
    setattr(trial, orphans_field, getattr(trial, orphans_field) + len(verdict.orphans))
    trial.others_stopped += len(verdict.others_stopped)
    trial.mismatches += len(verdict.mismatches)
    trial.false_successes += len(verdict.false_successes)
    trial.missing_reports += int(verdict.missing_report)
    trial.notes += verdict.violations()


# -- one trial of each kind --------------------------------------------------------


def signal_trial(name: str, seed: int, args: argparse.Namespace, folder: Path) -> Trial:
    """Run, signal at a random moment, judge; KILL: resume, then judge the resumed run."""
    rng = random.Random(seed)
    trial = Trial("signals", name, seed, round(rng.uniform(0.3, args.max_delay), 3))
    work = workload(seed)
    with EmulatorProcess(trial_scenario(work, seed, args), folder) as emulator:
        env = dmpipe_env(emulator.url, USER, PASSWORD)
        pipeline, report_dir = write_files(work, folder, args), folder / "report"
        process = start_run(pipeline, report_dir, env)
        time.sleep(trial.delay)
        trial.finished_first = process.poll() is not None
        signum = SIGNALS[name] or signal.SIGKILL
        ended = finish(process, timeout=EXIT_GUARD, send=None if trial.finished_first else signum)
        trial.exit_code, trial.exit_seconds = ended.code, ended.exit_seconds
        trial.hung = int(ended.hung)
        time.sleep(SETTLE)
        if name == "KILL" and not (report_dir / JOURNAL).exists():
            # Killed before its journal existed: nothing to resume, and nothing must have
            # started (judged below: any execution is an orphan with no report).
            trial.killed_before_journal = True
        elif name == "KILL":
            if not trial.finished_first:
                killed = judge(record_of(emulator), read_report(report_dir), USER, None)
                trial.orphans_at_kill = len(killed.orphans)
                resumed = finish(start_run(None, report_dir, env, "--resume", str(report_dir)),
                                 timeout=RUN_GUARD)  # fmt: skip
                trial.hung += int(resumed.hung)
                trial.exit_code = resumed.code
                if resumed.code not in (0, 1):
                    trial.notes.append(f"--resume exit {resumed.code}: {resumed.stderr[-300:]}")
                time.sleep(SETTLE)
        elif not trial.finished_first and ended.code != 130:
            trial.wrong_exit = 1
            trial.notes.append(f"exit {ended.code} after SIG{name}: {ended.stderr[-300:]}")
        report = read_report(report_dir)
        verdict = judge(record_of(emulator), report, USER, trial.exit_code)
        if trial.killed_before_journal and not verdict.run_executions:
            return trial  # nothing started, nothing to report
        score(trial, verdict)
    return trial


def same_dir_trial(name: str, seed: int, args: argparse.Namespace, folder: Path) -> Trial:
    """Two runs of one pipeline started at once into the same report directory."""
    trial = Trial("same-dir", "-", seed, 0.0)
    work = workload(seed)
    with EmulatorProcess(trial_scenario(work, seed, args), folder) as emulator:
        env = dmpipe_env(emulator.url, USER, PASSWORD)
        pipeline, report_dir = write_files(work, folder, args), folder / "report"
        processes = [start_run(pipeline, report_dir, env) for _ in range(2)]
        endings = [finish(p, timeout=RUN_GUARD) for p in processes]
        trial.exit_code = max((e.code if e.code is not None else 99) for e in endings)
        trial.hung = sum(int(e.hung) for e in endings)
        time.sleep(SETTLE)
        record = record_of(emulator)
        verdict = judge(record, read_report(report_dir), USER, trial.exit_code)
        ran = set(verdict.run_executions.values())
        trial.never_run = sum(1 for job in work.jobs if job.file_id not in ran)
        per_file = [list(verdict.run_executions.values()).count(j.file_id) for j in work.jobs]
        trial.duplicates = sum(max(0, n - 1) for n in per_file)
        trial.orphans = len(verdict.orphans)
        trial.missing_reports = int(verdict.missing_report)
        if trial.never_run:
            trial.notes.append(f"{trial.never_run} job(s) run by neither run: {endings}")
    return trial


def reused_dir_trial(name: str, seed: int, args: argparse.Namespace, folder: Path) -> Trial:
    """An old run's journal in the directory.  A fresh run into it must be refused without
    triggering anything; one with --force archives the old run, is killed at a random
    moment, and its resume is judged on its own executions."""
    rng = random.Random(seed)
    trial = Trial("reused-dir", "KILL", seed, round(rng.uniform(0.3, args.max_delay), 3))
    work = workload(seed)
    with EmulatorProcess(trial_scenario(work, seed, args), folder) as emulator:
        env = dmpipe_env(emulator.url, USER, PASSWORD)
        pipeline, report_dir = write_files(work, folder, args), folder / "report"
        old = finish(start_run(pipeline, report_dir, env), timeout=RUN_GUARD)
        trial.hung += int(old.hung)
        before = len(emulator.ledger())
        refused = finish(start_run(pipeline, report_dir, env), timeout=RUN_GUARD)
        if refused.code != 2 or len(emulator.ledger()) != before:
            trial.wrong_exit = 1
            trial.notes.append(f"a fresh run into a used directory was not refused: {refused}")
        first_seq = len(emulator.ledger())
        old_journal = (report_dir / JOURNAL).read_bytes()
        process = start_run(pipeline, report_dir, env, "--force")
        time.sleep(trial.delay)
        trial.finished_first = process.poll() is not None
        finish(process, timeout=EXIT_GUARD, send=None if trial.finished_first else signal.SIGKILL)
        journal = report_dir / JOURNAL
        if not journal.exists() or journal.read_bytes() == old_journal:
            # Killed before the --force run archived the old run or wrote its own journal:
            # it started nothing (judged: no execution since), and there is nothing to resume.
            trial.killed_before_journal = True
            time.sleep(SETTLE)
            verdict = judge(record_of(emulator, first_seq), None, USER, None)
            trial.orphans = len(verdict.run_executions)
            return trial
        resumed = finish(start_run(None, report_dir, env, "--resume", str(report_dir)),
                         timeout=RUN_GUARD)  # fmt: skip
        trial.exit_code, trial.hung = resumed.code, trial.hung + int(resumed.hung)
        time.sleep(SETTLE)
        verdict = judge(record_of(emulator, first_seq), read_report(report_dir), USER,
                        resumed.code)  # fmt: skip
        score(trial, verdict)
        ran = set(verdict.run_executions.values())
        trial.never_run = sum(1 for job in work.jobs if job.file_id not in ran)
    return trial


KINDS: Mapping[str, Callable[[str, int, argparse.Namespace, Path], Trial]] = {
    "signals": signal_trial,
    "same-dir": same_dir_trial,
    "reused-dir": reused_dir_trial,
}


# -- suites and figures ------------------------------------------------------------


def suites(args: argparse.Namespace) -> list[str]:
    """The signal names of the suites to run (one pseudo-suite for the directory kinds)."""
    if args.kind != "signals":
        return [args.kind]
    names = [part.strip().upper().removeprefix("SIG") for part in args.signals.split(",")]
    unknown = [n for n in names if n not in SIGNALS]
    if unknown:
        raise SystemExit(f"--signals: unknown {', '.join(unknown)} (known: INT,TERM,HUP,KILL)")
    return names


def run_suite(name: str, args: argparse.Namespace) -> list[Trial]:
    trials = []
    for index in range(args.trials):
        seed = args.seed * 1000 + index
        with tempfile.TemporaryDirectory(prefix="dmpipe-signal-") as temporary:
            trial = KINDS[args.kind](name, seed, args, Path(temporary))
        trials.append(trial)
        bad = [key for key in MUST_BE_ZERO if getattr(trial, key)]
        print(f"  {args.kind} {name} #{index + 1}: exit {trial.exit_code}"
              f"{' ' + ','.join(bad) if bad else ''}", flush=True)  # fmt: skip
    return trials


def summary(name: str, trials: Sequence[Trial]) -> dict[str, Any]:
    latencies = [t.exit_seconds for t in trials if t.exit_seconds is not None]
    figures: dict[str, Any] = {
        "suite": name,
        "trials": len(trials),
        "finished_before_signal": sum(t.finished_first for t in trials),
        "exit_130": sum(t.exit_code == 130 for t in trials),
        "exit_latency": spread(latencies),
        "orphans_at_kill": sum(t.orphans_at_kill for t in trials),
        "killed_before_journal": sum(t.killed_before_journal for t in trials),
    }
    for key in MUST_BE_ZERO:
        figures[key] = sum(getattr(t, key) for t in trials)
    return figures


def print_figures(rows: Sequence[Mapping[str, Any]]) -> None:
    header = ["suite", "trials", "early", "exit130", "lat p50", "lat max", "dup", "orphans",
              "orph@kill", "others", "mismatch", "false ok", "no report", "hung", "bad exit",
              "never run"]  # fmt: skip
    print_table(
        "signal trials (counts after 'orph@kill' must be 0)",
        header,
        [
            [
                r["suite"], r["trials"], r["finished_before_signal"], r["exit_130"],
                r["exit_latency"]["p50"], r["exit_latency"]["max"], r["duplicates"],
                r["orphans"], r["orphans_at_kill"], r["others_stopped"], r["mismatches"],
                r["false_successes"], r["missing_reports"], r["hung"], r["wrong_exit"],
                r["never_run"],
            ]
            for r in rows
        ],
    )  # fmt: skip


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", default="INT,TERM,HUP,KILL")
    parser.add_argument("--trials", type=int, default=20, help="per suite (default 20)")
    parser.add_argument("--mode", choices=("client", "sequential"), default="client")
    parser.add_argument("--kind", choices=tuple(KINDS), default="signals")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=20.0,
                        help="emulated seconds per real second (1-3 s jobs at 20)")  # fmt: skip
    parser.add_argument("--max-delay", type=float, default=3.0,
                        help="latest signal, real seconds after the start")  # fmt: skip
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--verbose", action="store_true", help="print each violation")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results: dict[str, list[Trial]] = {}
    for name in suites(args):
        results[name] = run_suite(name, args)
    rows = [summary(name, trials) for name, trials in results.items()]
    print_figures(rows)
    if args.verbose:
        for trials in results.values():
            for trial in trials:
                for note in trial.notes:
                    print(f"  seed {trial.seed} {trial.signal}: {note}")
    if args.json_out:
        write_json(
            args.json_out,
            {
                "mode": args.mode,
                "kind": args.kind,
                "seed": args.seed,
                "suites": rows,
                "trials": [asdict(t) for trials in results.values() for t in trials],
            },
        )
    failing = [r["suite"] for r in rows if any(r[key] for key in MUST_BE_ZERO)]
    if failing:
        print(f"\ncontract broken in: {', '.join(failing)}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
