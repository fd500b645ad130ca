"""Benchmark: validate and plan a generated 10,000-job pipeline; time ``dmpipe --help``.

    python bench/bench_plan.py [--levels 100] [--width 100] [--repeat 3] [--json-out FILE]

The pipeline is layered: ``levels`` levels of ``width`` jobs, each job needing
2 or 3 jobs of the level before (seeded, so every run plans the same file).
Each figure is timed in-process (the library calls) and as a subprocess (what a
user waits for, interpreter start-up included); the best and the median of
``repeat`` runs are reported.  Targets: validate and plan under 2 s each,
``dmpipe --help`` under 0.3 s.  This is a measurement, not a test: it never fails
on time, it only prints the figures and flags the ones over target.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "validate": 2.0,
    "plan": 2.0,
    "help": 0.3,
}
# Modules `dmpipe --help` must not load (commands import them inside their run()).
HEAVY_MODULES = ("networkx", "yaml", "jsonschema", "requests", "urllib3", "rich")


def generate_pipeline(levels: int, width: int, seed: int = 7) -> str:
    """The YAML text of a layered pipeline of ``levels * width`` jobs."""
    rng = random.Random(seed)
    lines = [
        "version: 1",
        f"name: bench-{levels * width}",
        "server: {url: 'http://localhost:8088'}",
        "mode: client",
        "defaults:",
        "  retry: {retries: 2, delay: 30s}",
        "  timeout: 1h",
        "policies: {max_parallel: 16}",
        "jobs:",
    ]
    for level in range(levels):
        for index in range(width):
            needs = ""
            if level:
                picked = rng.sample(range(width), k=min(width, rng.choice((2, 3))))
                needs = ", needs: [" + ", ".join(_name(level - 1, i) for i in sorted(picked)) + "]"
            file_id = level * width + index + 1
            estimate = rng.randint(1, 30)
            lines.append(
                f"  {_name(level, index)}: {{file_id: {file_id}, estimate: {estimate}m{needs}}}"
            )
    return "\n".join(lines) + "\n"


def _name(level: int, index: int) -> str:
    return f"job_{level:03d}_{index:03d}"


def timed(action: Callable[[], object], repeat: int) -> dict[str, float]:
    """Best and median wall time of ``repeat`` calls of ``action``."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return {"best": min(samples), "median": statistics.median(samples), "runs": len(samples)}


def run_cli(*args: str) -> None:
    """``python -m runner ARGS`` with its output thrown away; exits with its error if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"dmpipe {args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")


def heavy_imports_at_help() -> list[str]:
    """The heavy modules ``python -X importtime -m runner --help`` loads (should be none)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", "--help"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return sorted(name for name in HEAVY_MODULES if name in loaded)


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """Every figure, in seconds, plus what the plan found (as a sanity check)."""
    from runner.plan import build_plan
    from runner.plan.text import render_text
    from runner.spec import load_pipeline

    pipeline = load_pipeline(path)
    plan = build_plan(pipeline)

    def plan_in_process() -> None:
        render_text(build_plan(load_pipeline(path)))

    return {
        "jobs": len(pipeline.jobs),
        "levels": plan.level_count,
        "critical_path_jobs": len(plan.critical_path.jobs),
        "timings": {
            "validate_in_process": timed(lambda: load_pipeline(path), repeat),
            "plan_in_process": timed(plan_in_process, repeat),
            "build_plan_only": timed(lambda: build_plan(pipeline), repeat),
            "validate_subprocess": timed(lambda: run_cli("validate", str(path)), repeat),
            "plan_subprocess": timed(lambda: run_cli("plan", str(path)), repeat),
            "help_subprocess": timed(lambda: run_cli("--help"), max(repeat, 5)),
        },
        "heavy_imports_at_help": heavy_imports_at_help(),
    }


def over_target(name: str, best: float) -> bool:
    """True when a figure misses its target (validate_* and plan_* 2 s, help 0.3 s)."""
    kind = name.split("_", 1)[0]
    return kind in TARGETS and best > TARGETS[kind]


def print_table(result: dict[str, Any]) -> None:
    """The figures as an aligned table on stdout."""
    print(f"{result['jobs']} jobs in {result['levels']} levels")
    print(f"{'figure':<22} {'best':>8} {'median':>8}  target")
    for name, figure in result["timings"].items():
        kind = name.split("_", 1)[0]
        target = f"< {TARGETS[kind]:g} s" if kind in TARGETS else ""
        flag = "  OVER" if over_target(name, figure["best"]) else ""
        print(f"{name:<22} {figure['best']:>7.3f}s {figure['median']:>7.3f}s  {target}{flag}")
    heavy = ", ".join(result["heavy_imports_at_help"]) or "none"
    print(f"heavy modules loaded by --help: {heavy}")


def main(argv: list[str] | None = None) -> int:
    """Generate, measure, print; write JSON with ``--json-out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=100)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dmpipe-bench-") as folder:
        path = Path(folder) / "pipeline.yaml"
        path.write_text(generate_pipeline(args.levels, args.width), encoding="utf-8")
        result = measure(path, args.repeat)
    result = {"version": 1, "python": sys.version.split()[0], "targets": TARGETS, **result}
    print_table(result)
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
