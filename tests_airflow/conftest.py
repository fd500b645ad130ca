"""A real Airflow for the provider's tests: one AIRFLOW_HOME (sqlite) per session, migrated
once; each test runs ``airflow dags test`` in a child process against an emulator served
on loopback by the test, then reads the task states and XComs from Airflow's database
and the triggers and stops from the emulator's ledger."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.emulator import EmulatorServer

# Tests that import Airflow in this process (hooks, operators, provider info) must not make
# ~/airflow: point Airflow at a scratch home before anything imports it.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="dmpipe-airflow-home-"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "examples" / "airflow"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@dataclass(frozen=True)
class DagRun:
    """What one ``airflow dags test`` did: its exit, output, and each task's state and try."""

    returncode: int
    output: str
    states: Mapping[str, str]
    tries: Mapping[str, int]
    run_id: str


@dataclass(frozen=True)
class Airflow:
    """An Airflow installation of the test session."""

    home: Path
    dags: Path
    env: Mapping[str, str]

    def dags_test(
        self,
        dag_id: str,
        server: EmulatorServer,
        user: str,
        password: str,
        *,
        dags_folder: Path | None = None,
    ) -> DagRun:
        """``airflow dags test DAG_ID`` with ``datameer_default`` pointing at ``server``."""
        connection = {
            "conn_type": "datameer",
            "host": server.host,
            "port": server.port,
            "schema": "http",
            "login": user,
            "password": password,
        }
        env = {**self.env, "AIRFLOW_CONN_DATAMEER_DEFAULT": json.dumps(connection)}
        if dags_folder is not None:
            env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
        done = subprocess.run(
            [AIRFLOW, "dags", "test", dag_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        output = done.stdout + done.stderr
        run_id, states, tries = self._last_run(dag_id)
        return DagRun(done.returncode, output, states, tries, run_id)

    def _last_run(self, dag_id: str) -> tuple[str, dict[str, str], dict[str, int]]:
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            if row is None:
                return "", {}, {}
            rows = db.execute(
                "SELECT task_id, state, try_number FROM task_instance "
                "WHERE dag_id = ? AND run_id = ?",
                (dag_id, row[0]),
            ).fetchall()
        return row[0], {t: s for t, s, _ in rows}, {t: n for t, _, n in rows}

    def xcom(self, run: DagRun, task_id: str, key: str = "return_value") -> Any:
        """The XCom a task of ``run`` pushed (None when it pushed none)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT value FROM xcom WHERE run_id = ? AND task_id = ? AND key = ?",
                (run.run_id, task_id, key),
            ).fetchone()
        if row is None:
            return None
        # A JSON column has numeric affinity in sqlite: a number comes back as a number.
        return json.loads(row[0]) if isinstance(row[0], str | bytes) else row[0]


def _environment(home: Path, dags: Path) -> dict[str, str]:
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "DATAMEER_", "DMPIPE_"))
    }
    return {
        **keep,
        "HOME": str(home),  # nothing may write to the real home
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    home = tmp_path_factory.mktemp("airflow-home")
    dags = home / "dags"
    dags.mkdir()
    # Links, so that the DAG files find the pipeline files beside them in the repository.
    for source in [*EXAMPLE_DAGS.glob("*.py"), *TEST_DAGS.glob("*.py")]:
        (dags / source.name).symlink_to(source)
    env = _environment(home, dags)
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    yield Airflow(home, dags, env)
    shutil.rmtree(home / "dmpipe-runs", ignore_errors=True)
