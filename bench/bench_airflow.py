"""Benchmark: a layered pipeline (50 jobs by default) on Apache Airflow, three ways.

    .venv-airflow/bin/python bench/bench_airflow.py [--levels 5] [--width 10]
        [--time-scale 10] [--poll-interval 10] [--max-poll-interval 30]
        [--parallelism 4] [--json-out FILE]

Needs the ``airflow`` extra (``bash tests_airflow/run`` builds ``.venv-airflow``).  One
emulator (a child process) serves the workload; the same pipeline file runs

1. with ``dmpipe run`` (the library, as the other benchmarks do);
2. rendered as Airflow tasks (``runner.airflow.pipeline_dag``: one deferrable
   ``DatameerJobOperator`` per job);
3. in one ``DatameerPipelineOperator`` task,

the last two on ``airflow standalone`` (scheduler with the LocalExecutor and
``--parallelism`` worker slots, triggerer, DAG processor, API server on loopback, sqlite) in
a temporary ``AIRFLOW_HOME``.  Figures: makespan (real seconds) over the critical path, the
requests the emulator received per job, and — sampled every 0.2 s from Airflow's database —
the most task instances running at once (each holds a worker slot) and deferred at once
(waiting in the triggerer, holding none): more deferred jobs than worker slots shows that
waiting jobs do not hold slots.  Airflow's settings are recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emulator_process import EmulatorProcess
from figures import print_table, write_json
from runs import run_dmpipe
from workload import PASSWORD, USER, critical_path, layered, scenario, write_pipeline

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
RENDERED, ONE_TASK = "bench_rendered", "bench_one_task"
READY_TIMEOUT = 240.0
RUN_TIMEOUT = 1800.0

DAG_FILES = {
    "rendered.py": f"""
from datetime import datetime
from runner.airflow import pipeline_dag
dag = pipeline_dag({{pipeline!r}}, dag_id={RENDERED!r}, schedule=None,
                   start_date=datetime(2026, 1, 1), catchup=False, max_active_tasks=512)
""",
    "one_task.py": f"""
from datetime import datetime
from airflow.sdk import DAG
from runner.airflow import DatameerPipelineOperator
with DAG({ONE_TASK!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    DatameerPipelineOperator(task_id="pipeline", pipeline={{pipeline!r}})
""",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Standalone:
    """``airflow standalone`` in ``home``, pointed at the emulator by the connection."""

    def __init__(self, home: Path, pipeline: Path, emulator_url: str, parallelism: int) -> None:
        self.home = home
        self.db = home / "airflow.db"
        dags = home / "dags"
        dags.mkdir(parents=True)
        for name, text in DAG_FILES.items():
            (dags / name).write_text(text.format(pipeline=str(pipeline)), encoding="utf-8")
        target = urlsplit(emulator_url)
        api_port = free_port()
        self.settings = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
        }
        connection = {
            "conn_type": "datameer",
            "host": target.hostname,
            "port": target.port,
            "schema": target.scheme,
            "login": USER,
            "password": PASSWORD,
        }
        keep = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env = {
            **keep,
            **self.settings,
            "HOME": str(home),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_CONN_DATAMEER_DEFAULT": json.dumps(connection),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Standalone:
        log = (self.home / "standalone.log").open("wb")
        self.process = subprocess.Popen(
            [AIRFLOW, "standalone"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole below
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while not self._parsed({RENDERED, ONE_TASK}):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"airflow standalone did not come up: see {log.name}")
            time.sleep(1)
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        try:
            with sqlite3.connect(self.db, timeout=10) as db:
                return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # tables not migrated yet, or a busy moment
            return []

    def _parsed(self, dag_ids: set[str]) -> bool:
        rows = self._query("SELECT dag_id FROM serialized_dag")
        return dag_ids <= {row[0] for row in rows}

    def cli(self, *arguments: str) -> str:
        done = subprocess.run(
            [AIRFLOW, *arguments], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def run(self, dag_id: str) -> dict[str, Any]:
        """Trigger ``dag_id`` and watch it to the end, sampling its task states."""
        self.cli("dags", "unpause", dag_id)
        self.cli("dags", "trigger", dag_id)
        run_id = None
        peaks: Counter[str] = Counter()
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            rows = self._query(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                dag_id,
            )
            if rows:
                run_id, state = rows[0]
                states = Counter(
                    row[0]
                    for row in self._query(
                        "SELECT state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                        dag_id,
                        run_id,
                    )
                )
                for name in ("running", "deferred", "queued"):
                    peaks[name] = max(peaks[name], states[name])
                if state in ("success", "failed"):
                    break
            time.sleep(0.2)
        return self._figures(dag_id, run_id, peaks)

    def _figures(self, dag_id: str, run_id: str | None, peaks: Counter[str]) -> dict[str, Any]:
        [(state, start, end)] = self._query(
            "SELECT state, start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        tasks = self._query(
            "SELECT state, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        first = min(_when(t[1]) for t in tasks if t[1])
        last = max(_when(t[2]) for t in tasks if t[2])
        return {
            "state": state,
            "makespan_real": (last - first).total_seconds(),
            "dag_run_real": (_when(end) - _when(start)).total_seconds(),
            "tasks": len(tasks),
            "task_states": dict(Counter(t[0] for t in tasks)),
            "most_running_at_once": peaks["running"],
            "most_deferred_at_once": peaks["deferred"],
            "most_queued_at_once": peaks["queued"],
        }


def _when(text: str) -> datetime:
    return datetime.fromisoformat(str(text))


def requests_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, default=5)
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--poll-interval", type=float, default=10.0, help="emulated seconds")
    parser.add_argument("--max-poll-interval", type=float, default=30.0, help="emulated s")
    parser.add_argument("--parallelism", type=int, default=4, help="Airflow worker slots")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--workdir", type=Path, help="keep the files (Airflow home, logs) here")
    args = parser.parse_args()

    # Jobs of 30-90 emulated seconds: 3-9 real seconds at the default scale.
    workload = layered(args.levels, args.width, durations=(30.0, 90.0), seed=args.seed)
    bound = critical_path(workload)[0] / args.time_scale
    jobs = len(workload.jobs)
    with tempfile.TemporaryDirectory(prefix="bench-airflow-") as temporary:
        folder = args.workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        pipeline = write_pipeline(workload, folder, args)
        with EmulatorProcess(scenario(workload, time_scale=args.time_scale), folder) as emulator:
            results: dict[str, dict[str, Any]] = {}
            before = emulator.stats()
            run = run_dmpipe(pipeline, emulator.url, folder / "report")
            after = emulator.stats()
            results["dmpipe run"] = {
                "state": "success" if run.exit_code == 0 else f"exit {run.exit_code}",
                "makespan_real": run.seconds,
                "requests": requests_between(before, after),
            }
            with Standalone(folder / "airflow", pipeline, emulator.url, args.parallelism) as af:
                for label, dag_id in (("rendered DAG", RENDERED), ("one task", ONE_TASK)):
                    before = emulator.stats()
                    figures = af.run(dag_id)
                    figures["requests"] = requests_between(before, emulator.stats())
                    results[label] = figures
                version = af.cli("version").strip()
                settings = dict(af.settings)
            triggers = Counter(e["file_id"] for e in emulator.ledger() if e["effective"])

    rows = []
    for label, figures in results.items():
        total = figures["requests"].get("total", 0)
        rows.append(
            (
                label,
                figures["state"],
                round(figures["makespan_real"], 1),
                round(figures["makespan_real"] / bound, 2),
                round(total / jobs, 1),
                figures.get("most_running_at_once", "-"),
                figures.get("most_deferred_at_once", "-"),
            )
        )
    print_table(
        f"{workload.name}: {jobs} jobs, critical path {bound:.1f} s real "
        f"(time scale {args.time_scale:g}); Airflow {version}, {args.parallelism} worker slots",
        (
            "way",
            "state",
            "makespan s",
            "÷ critical path",
            "requests/job",
            "max running",
            "max deferred",
        ),
        rows,
    )
    print(f"\nexecutions started per artifact: {sorted(set(triggers.values()))} (3 runs)")
    if args.json_out:
        write_json(
            args.json_out,
            {
                "benchmark": "airflow",
                "workload": workload.name,
                "jobs": jobs,
                "critical_path_real": bound,
                "time_scale": args.time_scale,
                "airflow_version": version,
                "airflow_settings": {
                    k: v for k, v in settings.items() if "PORT" not in k and "CONN" not in k
                },
                "results": results,
                "executions_per_artifact": sorted(set(triggers.values())),
            },
        )


if __name__ == "__main__":
    main()
