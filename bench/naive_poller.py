"""The script users write today with the reference's curl commands, in Python.

It triggers every job (``POST /api/job-execution/<file-id>/trigger``), then, every
``interval``, asks each unfinished job's v2 status
(``GET /api/job-execution/<file-id>/status``) until every one reports a final
status for the execution its trigger started.  One request per job per round:
the load dmpipe's batched polling is compared with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import requests

FINAL = frozenset({"COMPLETED", "COMPLETED_WITH_WARNINGS", "ERROR", "CANCELED", "CANCELLED"})


@dataclass(frozen=True)
class NaiveRun:
    """What the naive script did: its rounds of status calls and its real duration."""

    rounds: int
    seconds: float
    finished: int


def run_naive(
    url: str, file_ids: Iterable[int], user: str, password: str, interval: float
) -> NaiveRun:
    """Trigger each job, then poll each one's v2 status every ``interval`` real seconds."""
    clock = time.perf_counter()
    with requests.Session() as session:
        session.auth = (user, password)
        pending: dict[int, int] = {}
        for file_id in file_ids:
            answer = session.post(f"{url}/api/job-execution/{file_id}/trigger", timeout=30)
            pending[file_id] = int(answer.json()["job-execution-id"])
        total, rounds = len(pending), 0
        while pending:
            time.sleep(interval)
            rounds += 1
            for file_id, execution_id in list(pending.items()):
                status = session.get(f"{url}/api/job-execution/{file_id}/status", timeout=30)
                body = status.json()
                if body.get("job-execution-id") == execution_id and body["job-status"] in FINAL:
                    del pending[file_id]
    return NaiveRun(rounds, time.perf_counter() - clock, total - len(pending))


def run_threads(
    url: str,
    jobs: Mapping[int, Iterable[int]],
    user: str,
    password: str,
    interval: float,
) -> NaiveRun:
    """The hand-written peer for pipelines with needs: one thread per job (``jobs`` maps
    each file id to the file ids it needs) waits for its needs, triggers its artifact,
    then asks its v2 status every ``interval`` real seconds until it is final.  A job
    whose need did not complete is not triggered.  ``rounds`` counts status calls."""
    done = {file_id: threading.Event() for file_id in jobs}
    ok: dict[int, bool] = {}
    calls = [0]
    lock = threading.Lock()

    def one(file_id: int, needs: tuple[int, ...], session: requests.Session) -> None:
        try:
            for need in needs:
                done[need].wait()
            if not all(ok.get(need) for need in needs):
                ok[file_id] = False
                return
            answer = session.post(f"{url}/api/job-execution/{file_id}/trigger", timeout=30)
            execution_id = int(answer.json()["job-execution-id"])
            while True:
                time.sleep(interval)
                status = session.get(f"{url}/api/job-execution/{file_id}/status", timeout=30)
                with lock:
                    calls[0] += 1
                body = status.json()
                if body.get("job-execution-id") == execution_id and body["job-status"] in FINAL:
                    ok[file_id] = body["job-status"].startswith("COMPLETED")
                    return
        finally:
            done[file_id].set()

    clock = time.perf_counter()
    sessions = []
    threads = []
    for file_id, needs in jobs.items():
        session = requests.Session()  # one per thread: requests.Session is not thread-safe
        session.auth = (user, password)
        sessions.append(session)
        thread = threading.Thread(target=one, args=(file_id, tuple(needs), session), daemon=True)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.close()
    return NaiveRun(calls[0], time.perf_counter() - clock, sum(ok.values()))


if __name__ == "__main__":  # the peer's start: python naive_poller.py URL FILE_ID...
    import os
    import sys

    run_naive(
        sys.argv[1],
        [int(a) for a in sys.argv[2:]],
        os.environ["DATAMEER_USER"],
        os.environ["DATAMEER_PASSWORD"],
        0.5,
    )
