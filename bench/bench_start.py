"""Benchmark 6, instant start: from process launch to the first trigger the server receives.

    python bench/bench_start.py [--jobs 50] [--trials 5] [--bytecode cached|environment]
                                [--checkout DIR] [--json-out FILE]

A file of ``jobs`` independent jobs (1 s each on an emulator at time scale 1, a child
process).  Each trial launches ``python -m runner run FILE --server URL`` (what the
``dmpipe`` script runs) and reads the emulator's ledger: the first trigger's emulated
time, converted to wall time through a clock sync taken just before the launch, minus
the wall time of the launch.  The hand-written peer (``naive_poller.py``'s command
line: import requests, trigger every job) is launched the same way, in the same run.
Target: <= 0.3 s for dmpipe.  ``--checkout DIR`` launches the dmpipe of another checkout
(bench/issue14.py measures the one before issue 14 so).

Bytecode: an installed dmpipe has its ``.pyc`` files (pip compiles them at install), but a
source checkout under ``PYTHONDONTWRITEBYTECODE=1`` (set on the machine these figures were
first taken on) compiles every ``runner`` module again at each launch, about 0.1 s.
``--bytecode cached`` (the default) gives both tools a bytecode cache of their own
(``PYTHONPYCACHEPREFIX``, a temporary folder) and one untimed launch each to fill it;
``--bytecode environment`` launches them with the environment as it is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bytecode import add_bytecode_option, use_cache
from emulator_process import ROOT, EmulatorProcess
from figures import percentile, print_table, write_json
from workload import PASSWORD, USER, independent, scenario, write_pipeline

TARGET_SECONDS = 0.3
BENCH = Path(__file__).resolve().parent


def first_trigger_after(
    command: list[str], folder: Path, jobs: int, env: dict[str, str], root: Path = ROOT
) -> dict[str, Any]:
    """Launch ``command`` from the checkout ``root`` against a fresh emulator (always this
    checkout's); seconds from launch to first trigger."""
    workload = independent(jobs, 1.0)
    with EmulatorProcess(scenario(workload, time_scale=1.0), folder) as emulator:
        full = [arg.replace("{url}", emulator.url) for arg in command]
        wall, emulated = emulator.clock_sync()
        launched = time.time()
        child = subprocess.run(full, cwd=root, env=env, capture_output=True, check=False)
        triggers = [e for e in emulator.ledger() if e["action"] == "trigger" and e["effective"]]
    if child.returncode != 0:
        print(child.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    first = min(float(e["at"]) for e in triggers) if triggers else float("nan")
    return {
        "exit_code": child.returncode,
        "triggers": len(triggers),
        "seconds": (wall + (first - emulated)) - launched,
    }


def launch(tool: str, jobs: int, env: dict[str, str], root: Path = ROOT) -> dict[str, Any]:
    """One trial of ``tool`` (``dmpipe`` or the threads script) on a fresh emulator; dmpipe
    is the one of the checkout ``root`` (``python -m runner`` from there)."""
    with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as name:
        folder = Path(name)
        if tool == "dmpipe":
            ns = argparse.Namespace(poll_interval=2.0, max_poll_interval=30.0, time_scale=1)
            pipeline = write_pipeline(independent(jobs, 1.0), folder, ns)
            command = [sys.executable, "-m", "runner", "run", str(pipeline)]
            command += ["--server", "{url}", "--report-dir", str(folder / "report")]
        else:
            command = [sys.executable, str(BENCH / "naive_poller.py"), "{url}"]
            command += [str(i) for i in range(1, jobs + 1)]
        return first_trigger_after(command, folder, jobs, env, root)


def main(argv: list[str] | None = None) -> int:
    """Run the trials, print, write JSON with ``--json-out``; exit 1 if a run failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--trials", type=int, default=5)
    add_bytecode_option(parser, "a bytecode cache filled by an untimed launch")
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        metavar="DIR",
        help="the dmpipe checkout to launch (a folder with runner/; default this one)",
    )
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    root = args.checkout.resolve()
    if not (root / "runner" / "__init__.py").is_file():
        parser.error(f"--checkout {args.checkout}: not a dmpipe checkout (no runner/)")
    tools: dict[str, list[dict[str, Any]]] = {"dmpipe": [], "threads script": []}
    with tempfile.TemporaryDirectory(prefix="dmpipe-bench-pycache-") as pycache:
        env = {**os.environ, "DATAMEER_PASSWORD": PASSWORD, "DATAMEER_USER": USER}
        if args.bytecode == "cached":
            use_cache(env, Path(pycache))
            for tool in tools:  # untimed: fills the cache
                launch(tool, args.jobs, env, root)
        for _ in range(args.trials):
            for tool, trials in tools.items():
                trials.append(launch(tool, args.jobs, env, root))
    rows = []
    for tool, trials in tools.items():
        seconds = [t["seconds"] for t in trials]
        rows.append((tool, len(trials), min(seconds), percentile(seconds, 0.5), max(seconds)))
    print(
        f"start: launch -> first trigger, {args.jobs} jobs, {args.trials} trials each, "
        f"bytecode {args.bytecode}"
    )
    print_table("seconds", ["tool", "trials", "min", "p50", "max"], rows)
    mine, peer = (percentile([t["seconds"] for t in tools[k]], 0.5) for k in tools)
    flag = "" if mine <= TARGET_SECONDS else f"  MISSED by {mine - TARGET_SECONDS:.3f}"
    print(f"\ndmpipe / threads script (p50): {mine / peer:.2f}; target <= {TARGET_SECONDS}{flag}")
    if args.json_out:
        figures = {"benchmark": "start", "jobs": args.jobs, "bytecode": args.bytecode}
        figures["checkout"] = str(root)
        write_json(args.json_out, {**figures, "tools": tools})
    ok = all(t["exit_code"] == 0 and t["triggers"] == args.jobs for t in tools["dmpipe"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
