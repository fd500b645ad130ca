"""Hostile-server trials: does dmpipe keep the run contract when the server lies?

Each trial runs a seeded 24-job layered DAG (client mode, retries on, some first runs
ending in ERROR) in this process against the emulator with one set of hostile faults
on, both on one virtual clock (a trial takes a second or two), and then judges the run
by the emulator's ledger (``testing.contract.judge``): duplicates (C1), executions left
running (C2), false successes (C3), executions the report misses or misstates (C4).
A run that does not end within its pipeline timeout (an endless loop) counts as hung. A run
whose first call (the preflight's list-running) still fails when it has been asked again,
retries included, ends before any trigger with dmpipe's error (exit 3 from the command
line): it counts as ended at the preflight, and the ledger still judges it (nothing may
have started).

Fault sets (``--sets``, default all):

- ``lost``: 40 % of trigger answers lost after the server acted;
- ``flaky``: 15 % of connections dropped, 10 % answered 500;
- ``no-id``: 30 % of triggers answered without an execution id, 20 % with the previous
  trigger's id (another job's execution);
- ``hidden``: new executions invisible for 3 s everywhere, 20 % of answers lost;
- ``mixed``: lost answers, drops, 500s and reused ids together;
- ``phantom``: 20 % of triggers answered with an id that names no execution;
- ``down``: every connection dropped: the run ends at its preflight, having started nothing.

Prints a table per fault set; exits 1 when a count that must be 0 is not.

    python bench/hostile_trials.py --trials 5 --seed 1
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from figures import print_table, write_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner.emulator import EmulatorServer  # noqa: E402 - after the repository root is importable
from runner.emulator.loading import scenario_from_dict  # noqa: E402
from runner.engine.options import EngineOptions  # noqa: E402
from runner.engine.outcome import JobOutcome  # noqa: E402
from runner.errors import DmpipeError  # noqa: E402
from runner.model import Job, Pipeline  # noqa: E402
from testing.contract import judge, read_report, server_record  # noqa: E402
from testing.engine_runs import USER, Run, artifact, job, pipeline, run, scenario  # noqa: E402

SETS: dict[str, dict[str, Any]] = {
    "lost": {"lost_trigger_rate": 0.4},
    "flaky": {"drop_rate": 0.15, "error_rate": 0.1},
    "no-id": {"trigger_without_id": 0.3, "reuse_execution_id": 0.2},
    "hidden": {"not_visible_for": 3, "lost_trigger_rate": 0.2},
    "mixed": {
        "lost_trigger_rate": 0.3,
        "drop_rate": 0.1,
        "error_rate": 0.1,
        "reuse_execution_id": 0.1,
    },
    "phantom": {"phantom_execution_id": 0.2},
    "down": {"drop_rate": 1.0},
}
MUST_BE_ZERO = ("duplicates", "orphans", "false_successes", "mismatches", "hung")
LEVELS, WIDTH = 4, 6
RUN_TIMEOUT = 120.0  # virtual seconds: far beyond a trial's normal length (~10 s)


@dataclass
class Tally:
    """One fault set's trials, added up."""

    trials: int = 0
    jobs_succeeded: int = 0
    duplicates: int = 0
    orphans: int = 0
    false_successes: int = 0
    mismatches: int = 0
    hung: int = 0
    ended_at_preflight: int = 0
    examples: list[str] = field(default_factory=list)


def workload(seed: int) -> tuple[list[dict[str, Any]], list[Job]]:
    """A seeded layered DAG: artifacts and jobs (one need each past the first level)."""
    rng = random.Random(seed)
    artifacts, jobs = [], []
    for level in range(LEVELS):
        for index in range(WIDTH):
            file_id = 10 + level * WIDTH + index
            needs = [f"j{10 + (level - 1) * WIDTH + rng.randrange(WIDTH)}"] if level else []
            outcomes = rng.choice([["COMPLETED"], ["ERROR", "COMPLETED"]])
            duration = rng.choice([1, 3, 8])
            artifacts.append(artifact(file_id, duration=duration, outcomes=outcomes))
            jobs.append(job(f"j{file_id}", file_id, *needs, retries=1))
    return artifacts, jobs


def trial(seed: int, faults: Mapping[str, Any], tally: Tally) -> None:
    """One run under ``faults``, judged by the ledger; counts go into ``tally``."""
    artifacts, jobs = workload(seed)
    lag = random.Random(seed).choice([0, 1])
    served = scenario(*artifacts, status_lag=lag, faults={"seed": seed, **faults})
    options = EngineOptions(trigger_resolve_timeout=3.0, stop_confirm_timeout=5.0, unseen_grace=20)
    pipe: Pipeline = pipeline(*jobs, timeout=RUN_TIMEOUT)
    with (
        EmulatorServer(scenario_from_dict(served)) as server,
        tempfile.TemporaryDirectory(prefix="dmpipe-hostile-") as folder,
    ):
        try:
            result: Run | None = run(server, pipe, Path(folder), options=options)
        except DmpipeError as error:
            if server.ledger.triggers():  # it raised after starting jobs: not the preflight
                raise
            result = None
            tally.examples.append(f"seed {seed}: ended at the preflight: {error}")
        verdict = judge(server_record(server), read_report(Path(folder)), USER, None)
    tally.trials += 1
    if result is None:
        tally.ended_at_preflight += 1
    else:
        states = result.outcome.states.values()
        tally.jobs_succeeded += sum(1 for s in states if s.outcome is JobOutcome.SUCCEEDED)
    tally.duplicates += len(verdict.duplicates)
    tally.orphans += len(verdict.orphans)
    tally.false_successes += len(verdict.false_successes)
    tally.mismatches += len(verdict.mismatches)
    tally.hung += int(result is not None and result.outcome.summary.timed_out)
    tally.examples += [f"seed {seed}: {line}" for line in verdict.violations()[:2]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trials, print a table, write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="fault sets, comma-separated")
    parser.add_argument("--trials", type=int, default=5, help="per fault set")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--verbose", action="store_true", help="print each violation")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = [name for name in names if name not in SETS]
    if unknown:
        parser.error(f"unknown fault set {', '.join(unknown)}; known: {', '.join(SETS)}")
    logging.disable(logging.WARNING)  # the runs warn about every lie; the table is the news
    tallies = {name: Tally() for name in names}
    for name in names:
        for seed in range(args.seed, args.seed + args.trials):
            trial(seed, SETS[name], tallies[name])
    print_table(
        f"hostile trials: {LEVELS * WIDTH}-job DAG, client mode, seeds {args.seed}.."
        f"{args.seed + args.trials - 1}",
        ["fault set", "trials", "succeeded", "ended at preflight", *MUST_BE_ZERO],
        [
            (
                name,
                t.trials,
                t.jobs_succeeded,
                t.ended_at_preflight,
                *(getattr(t, key) for key in MUST_BE_ZERO),
            )
            for name, t in tallies.items()
        ],
    )
    if args.verbose:
        for name, tally in tallies.items():
            for line in tally.examples:
                print(f"{name}: {line}")
    if args.json_out is not None:
        sets = {name: asdict(tally) for name, tally in tallies.items()}
        write_json(args.json_out, {"benchmark": "hostile_trials", "sets": sets})
    broken = any(getattr(t, key) for t in tallies.values() for key in MUST_BE_ZERO)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
